package worker

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ssprflow/ssprflow/internal/cmdline"
)

// TestADCommandChoosesAProfileNotAServer: `ssprflow-worker ad` binds only
// where a directory profile of the worker configuration says; the plan and
// the flags choose the profile, the scope and the rights, never a DC, an
// identity or a secret.
func TestADCommandChoosesAProfileNotAServer(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	profile := func(name string) string {
		return `  - profile: ` + name + `
    url: ldaps://dc1.` + name + `.example:636
    bindUser: CORP\svc-ssprflow
    bindPassword: {file: /run/secrets/` + name + `-ad}
    connectorAccount: CORP\MSOL_1234abcd
`
	}
	one := write("one.yaml", "temporal: {address: 127.0.0.1:7233}\ndirectories:\n"+profile("corp"))
	two := write("two.yaml", "temporal: {address: 127.0.0.1:7233}\ndirectories:\n"+profile("corp")+profile("lab"))
	pilot, err := os.ReadFile("../../examples/pilot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	planFile := write("plan.yaml", strings.Replace(string(pilot), "    profile: lab\n", "    profile: corp\n    changePassword: true\n", 1))

	for _, tc := range []struct {
		name        string
		args        []string
		env         string
		wantProfile string
		wantCode    int // 0: resolves
		wantChange  bool
		wantScope   []string
	}{
		{name: "the only profile", args: []string{"--config", one}, wantProfile: "corp"},
		{name: "config from $SSPRFLOW_CONFIG", env: one, wantProfile: "corp"},
		{name: "named profile", args: []string{"--config", two, "--directory", "lab"}, wantProfile: "lab"},
		{name: "the plan's profile and rights", args: []string{"--config", two, "--plan", planFile}, wantProfile: "corp", wantChange: true},
		{name: "flags over the plan", args: []string{"--config", two, "--plan", planFile, "--directory", "lab", "--scope", "OU=Staff,DC=corp,DC=example"},
			wantProfile: "lab", wantChange: true, wantScope: []string{"OU=Staff,DC=corp,DC=example"}},
		{name: "two profiles, none chosen", args: []string{"--config", two}, wantCode: 2},
		{name: "unknown profile", args: []string{"--config", one, "--directory", "evil"}, wantCode: 2},
		{name: "no configuration", args: nil, wantCode: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("ad", flag.ContinueOnError)
			f := addADFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, d, err := f.resolve(tc.env)
			var ee *cmdline.ExitError
			if tc.wantCode != 0 {
				if !errors.As(err, &ee) || ee.Code != tc.wantCode {
					t.Fatalf("err %v, want exit %d", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			prof, err := cfg.DirectoryProfile(d.Profile)
			if err != nil || prof.Profile != tc.wantProfile {
				t.Fatalf("profile %q (%v), want %q", d.Profile, err, tc.wantProfile)
			}
			if !strings.Contains(prof.URL, tc.wantProfile) {
				t.Errorf("bind URL %s is not the %s profile's", prof.URL, tc.wantProfile)
			}
			if d.ChangePassword != tc.wantChange || !slices.Equal(d.Scope, tc.wantScope) {
				t.Errorf("choices %+v, want changePassword %v scope %v", d, tc.wantChange, tc.wantScope)
			}
		})
	}

	// There is no flag that names a server, an identity or a secret.
	fs := flag.NewFlagSet("ad", flag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	addADFlags(fs)
	for _, bad := range []string{"url", "bind-user", "bind-password-env", "bind-password-file", "ca-file", "insecure", "connector"} {
		if fs.Lookup(bad) != nil {
			t.Errorf("ad has a --%s flag: the connection must come from the worker configuration", bad)
		}
	}
}
