package writeback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Runner runs one of this package's fixed scripts (by id, see ScriptIDs) with
// arguments passed as data. Implementations: PowerShell (the real host) and
// writebacksim.SyncServer (a simulated sync server).
type Runner interface {
	Run(ctx context.Context, script string, args map[string]string) (Output, error)
}

// Output is a parsed script result.
type Output struct {
	Script string
	// Data is the script's output as a JSON array (a single object is wrapped).
	Data json.RawMessage
	// Warnings holds the non-JSON lines around the result (WARNING: ..., verbose text).
	Warnings []string
	Stderr   string
	ExitCode int
}

// PowerShell runs scripts with a local PowerShell non-interactively:
// `-NoProfile -NonInteractive -ExecutionPolicy Bypass -Command -`, the script
// text on stdin and the arguments as JSON in the ArgsEnv environment variable.
type PowerShell struct {
	// Path of the executable; empty means DefaultPowerShellPath().
	Path string
}

// DefaultPowerShellPath is "powershell.exe" on Windows (Windows PowerShell 5.1
// hosts the ADSync module) and "pwsh" elsewhere.
func DefaultPowerShellPath() string {
	if runtime.GOOS == "windows" {
		return "powershell.exe"
	}
	return "pwsh"
}

// PowerShellArgs are the command-line arguments every run uses.
var PowerShellArgs = []string{"-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", "-"}

// Run implements Runner. It returns a *ScriptError for a non-zero exit or an
// error record, ErrPowerShellMissing when the executable is absent, and
// ErrBadOutput when the output holds no JSON result.
func (p PowerShell) Run(ctx context.Context, script string, args map[string]string) (Output, error) {
	text, err := ScriptText(script)
	if err != nil {
		return Output{Script: script}, err
	}
	if args == nil {
		args = map[string]string{}
	}
	argJSON, err := json.Marshal(args)
	if err != nil {
		return Output{Script: script}, fmt.Errorf("run %s: encode args: %w", script, err)
	}
	path := p.Path
	if path == "" {
		path = DefaultPowerShellPath()
	}
	cmd := exec.CommandContext(ctx, path, PowerShellArgs...)
	cmd.Stdin = strings.NewReader(text)
	cmd.Env = append(environWithout(ArgsEnv), ArgsEnv+"="+string(argJSON))
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	exitCode := 0
	if runErr != nil {
		var exitErr *exec.ExitError
		switch {
		case errors.Is(runErr, exec.ErrNotFound), errors.Is(runErr, os.ErrNotExist):
			return Output{Script: script}, fmt.Errorf("run %s: %w: %s: %v", script, ErrPowerShellMissing, path, runErr)
		case ctx.Err() != nil:
			return Output{Script: script}, fmt.Errorf("run %s: %w", script, ctx.Err())
		case errors.As(runErr, &exitErr):
			exitCode = exitErr.ExitCode()
		default:
			return Output{Script: script}, fmt.Errorf("run %s: %w", script, runErr)
		}
	}
	return ParseOutput(script, stdout.Bytes(), stderr.Bytes(), exitCode)
}

func environWithout(name string) []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); strings.EqualFold(k, name) {
			continue
		}
		out = append(out, kv)
	}
	return out
}
