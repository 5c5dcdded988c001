package cli

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssprflow/ssprflow/internal/cmdline"

	"github.com/ssprflow/ssprflow/internal/config"
)

// TestADFlagsFromProfile: `ssprflow ad` takes the connection, identity,
// secret reference and connector account from the worker configuration's
// directory profile, the rollout's choices from the plan, and explicit
// flags over both.
func TestADFlagsFromProfile(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "worker.yaml")
	if err := os.WriteFile(cfgFile, []byte(`temporal: {address: 127.0.0.1:7233}
directories:
  - profile: corp
    url: ldaps://dc1.corp.example:636
    caFile: /etc/ssprflow/corp-ca.pem
    bindUser: CORP\svc-ssprflow
    bindPassword: {file: /run/secrets/corp-ad}
    connectorAccount: CORP\MSOL_1234abcd
`), 0o600); err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(dir, "plan.yaml")
	pilot, err := os.ReadFile("../../examples/pilot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pilot = bytes.Replace(pilot, []byte("    profile: lab\n"), []byte("    profile: corp\n    changePassword: true\n"), 1)
	if err := os.WriteFile(planFile, pilot, 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(args ...string) (*config.Directory, error) {
		fs := flag.NewFlagSet("ad", flag.ContinueOnError)
		f := addADFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		conn, d, err := f.directory()
		if err == nil && args[0] == "--plan" && !d.ChangePassword {
			t.Errorf("the plan's rollout choices were dropped: %+v", d)
		}
		return conn, err
	}
	want := config.Directory{Profile: "corp", URL: "ldaps://dc1.corp.example:636", CAFile: "/etc/ssprflow/corp-ca.pem",
		BindUser: `CORP\svc-ssprflow`, BindPassword: config.Secret{File: "/run/secrets/corp-ad"}, ConnectorAccount: `CORP\MSOL_1234abcd`}
	for _, args := range [][]string{{"--config", cfgFile, "--profile", "corp"}, {"--plan", planFile, "--config", cfgFile}} {
		conn, err := parse(args...)
		if err != nil || *conn != want {
			t.Errorf("%v: %+v %v, want %+v", args, conn, err, want)
		}
	}
	conn, err := parse("--config", cfgFile, "--profile", "corp", "--url", "ldaps://dc2.corp.example", "--bind-password-env", "X")
	if err != nil || conn.URL != "ldaps://dc2.corp.example" || conn.BindPassword != (config.Secret{Env: "X"}) || conn.BindUser != want.BindUser {
		t.Errorf("flags do not override the profile: %+v %v", conn, err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--config", cfgFile, "--profile", "lab"}, 1, `no directory profile "lab"`},
		{[]string{"--profile", "corp"}, 2, "--profile needs --config"},
		{[]string{"--url", "ldaps://dc1"}, 2, "missing --bind-user"},
	} {
		_, err := parse(tc.args...)
		var ee *cmdline.ExitError
		if !errors.As(err, &ee) || ee.Code != tc.code || !strings.Contains(ee.Msg, tc.msg) {
			t.Errorf("%v: %v, want exit %d with %q", tc.args, err, tc.code, tc.msg)
		}
	}
}
