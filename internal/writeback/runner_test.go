//go:build !windows

package writeback

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakePwsh is a stand-in for pwsh: it saves its argv and stdin, and prints the
// arguments it received in SSPRFLOW_ARGS back as the script's data, with a BOM,
// CRLF and a warning line like Windows PowerShell.
const fakePwsh = `#!/bin/sh
out="$FAKE_PWSH_OUT"
for a in "$@"; do printf '%s\n' "$a"; done > "$out/argv"
cat > "$out/stdin"
case "$FAKE_PWSH_MODE" in
error)
  printf 'WARNING: about to fail\r\n{"ok":false,"error":{"message":"Connector '"'"'x'"'"' could not be found.","errorId":"ArgumentException","category":"InvalidArgument","exceptionType":"System.ArgumentException"}}\r\n'
  exit 1 ;;
stderr)
  echo "Import-Module : The specified module 'ADSync' was not loaded because no valid module file was found in any module directory." >&2
  echo "    + FullyQualifiedErrorId : Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand" >&2
  exit 1 ;;
hang)
  sleep 30 ;;
esac
printf '\357\273\277WARNING: fake pwsh\r\n{"ok":true,"data":{"args":%s,"parentEnv":"%s"}}\r\n' "$SSPRFLOW_ARGS" "$SSPRFLOW_PARENT_MARK"
`

// installFakePwsh puts the fake pwsh first in PATH and returns the directory
// where it writes what it received.
func installFakePwsh(t *testing.T, mode string) string {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "pwsh"), []byte(fakePwsh), 0o755); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_PWSH_OUT", out)
	t.Setenv("FAKE_PWSH_MODE", mode)
	return out
}

func TestPowerShellPassesArgumentsAsData(t *testing.T) {
	out := installFakePwsh(t, "ok")
	// A stale value in the parent's environment must not leak through.
	t.Setenv(ArgsEnv, `{"Connector":"stale"}`)
	const evil = `contoso - AAD'; Remove-Item -Recurse C:\ ; '`
	args := map[string]string{"Connector": evil, "Enable": "true", "Quote": `"$(whoami)" ` + "`n"}

	res, err := PowerShell{}.Run(context.Background(), ScriptSetPasswordResetConfig, args)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	// The arguments reach the child only as JSON data, byte for byte.
	var got []struct {
		Args map[string]string `json:"args"`
	}
	if err := json.Unmarshal(res.Data, &got); err != nil || len(got) != 1 {
		t.Fatalf("data %s: %v", res.Data, err)
	}
	for k, v := range args {
		if got[0].Args[k] != v {
			t.Errorf("arg %s = %q, want %q", k, got[0].Args[k], v)
		}
	}
	if len(res.Warnings) != 1 || res.Warnings[0] != "WARNING: fake pwsh" {
		t.Errorf("warnings = %q", res.Warnings)
	}

	// The code on stdin is exactly the fixed script text: no plan value in it.
	stdin, err := os.ReadFile(filepath.Join(out, "stdin"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ScriptText(ScriptSetPasswordResetConfig)
	if string(stdin) != want {
		t.Errorf("stdin is not the fixed script text")
	}
	for _, v := range []string{"Remove-Item -Recurse", evil, "whoami"} {
		if strings.Contains(string(stdin), v) {
			t.Errorf("stdin contains plan value %q", v)
		}
	}

	argv, _ := os.ReadFile(filepath.Join(out, "argv"))
	if got, want := strings.Fields(string(argv)), PowerShellArgs; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("argv = %q, want %q", got, want)
	}
	if strings.Contains(string(argv), "Remove-Item -Recurse") {
		t.Errorf("argv contains a plan value")
	}
	// The parent's own environment is untouched.
	if os.Getenv(ArgsEnv) != `{"Connector":"stale"}` {
		t.Errorf("parent environment changed")
	}
}

func TestPowerShellErrors(t *testing.T) {
	tests := []struct {
		mode     string
		sentinel error
		message  string
		errorID  string
	}{
		{"error", nil, "Connector 'x' could not be found.", "ArgumentException"},
		{"stderr", ErrModuleMissing, "The specified module 'ADSync' was not loaded", "Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			installFakePwsh(t, tt.mode)
			_, err := PowerShell{}.Run(context.Background(), ScriptGetPasswordResetConfig, map[string]string{"Connector": "x"})
			var se *ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *ScriptError", err)
			}
			if se.ExitCode != 1 || !strings.Contains(se.Message, tt.message) || se.ErrorID != tt.errorID {
				t.Errorf("ScriptError = %+v", se)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.sentinel)
			}
		})
	}
}

func TestPowerShellMissingExecutable(t *testing.T) {
	_, err := PowerShell{Path: filepath.Join(t.TempDir(), "no-such-pwsh")}.Run(context.Background(), ScriptListConnectors, nil)
	if !errors.Is(err, ErrPowerShellMissing) {
		t.Fatalf("err = %v, want ErrPowerShellMissing", err)
	}
	if permanentType(err) != ErrTypePowerShellMissing {
		t.Errorf("missing PowerShell should be permanent")
	}
}

func TestPowerShellRejectsUnknownScript(t *testing.T) {
	installFakePwsh(t, "ok")
	_, err := PowerShell{}.Run(context.Background(), "Remove-Item -Recurse C:\\", nil)
	if !errors.Is(err, ErrBadInput) {
		t.Fatalf("err = %v, want ErrBadInput", err)
	}
}

func TestPowerShellContextCancel(t *testing.T) {
	installFakePwsh(t, "hang")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := PowerShell{}.Run(ctx, ScriptListConnectors, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
