package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{"minimal", "temporal: {address: t:7233}\ntenants: [{tenant: '*', graph: {method: token, token: {env: X}}}]\n", ""},
		{"unknown key", "temporal: {address: t:7233, adress: x}\n", `w.yaml:1: unknown field "adress" in temporal; did you mean "address"?`},
		{"tenant key in the wrong case", "temporal: {address: t:7233}\ntenants:\n  - tenant: '*'\n    graphUrl: http://127.0.0.1:8080\n    graph: {method: token, token: {env: X}}\n",
			`w.yaml:4: unknown field "graphUrl" in tenants[0]; did you mean "graphURL"?`},
		{"every unknown key at once", "temporal: {address: t:7233}\nmetrcs: :9090\nsigning:\n  curent: k1\n  keys: [{id: k1, secret: {env: K}}]\n",
			"w.yaml:2: unknown field \"metrcs\" at the top level; did you mean \"metrics\"?\nw.yaml:4: unknown field \"curent\" in signing; did you mean \"current\"?"},
		{"unknown key without a near one", "temporal: {address: t:7233}\nnats: {url: nats://x, colour: red}\n",
			`w.yaml:2: unknown field "colour" in nats (fix: remove it; fields allowed here: credsFile, password, streams, tls, url, user)`},
		{"tab", "temporal:\n\taddress: t:7233\n", "w.yaml:2: a tab indents this line; YAML indents with spaces only (fix: replace the tab with spaces)"},
		{"indented too little", "temporal:\n  address: t:7233\n namespace: x\n", "w.yaml:3: this line is indented by 1 space, which lines up with no block above it (fix: indent it by 2 spaces to continue the block above, or by 0 spaces to end that block)"},
		{"indented too far", "temporal:\n  address: t:7233\n    namespace: x\n", "w.yaml:3: this line is indented further than the line above"},
		{"no temporal", "nats: {url: nats://x}\n", "temporal.address is required"},
		{"empty", "", "temporal.address is required"},
		{"bad method", "temporal: {address: t}\ntenants: [{tenant: a, graph: {method: password}}]\n", "tenants[0].graph.method"},
		{"device-code portal", "temporal: {address: t}\ntenants: [{tenant: a, graph: {method: token, token: {env: X}}, portal: {method: device-code, tenantID: tid, cacheFile: /var/c, cacheKey: {env: K}}}]\n", ""},
		{"device-code portal without a cache key", "temporal: {address: t}\ntenants: [{tenant: a, graph: {method: token, token: {env: X}}, portal: {method: device-code, tenantID: tid, cacheFile: /var/c}}]\n",
			"tenants[0].portal: method device-code needs tenantID, cacheFile and cacheKey"},
		{"bad portal method", "temporal: {address: t}\ntenants: [{tenant: a, graph: {method: token, token: {env: X}}, portal: {method: password}}]\n", "tenants[0].portal.method \"password\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("w.yaml", []byte(tc.yaml))
			if tc.wantErr == "" {
				if err != nil || c.Temporal.Namespace != "default" {
					t.Fatalf("err %v, namespace %q", err, c.Temporal.Namespace)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "w.yaml") {
				t.Fatalf("error %v, want it to name w.yaml and %q", err, tc.wantErr)
			}
		})
	}
}

func TestTenantForAndSecrets(t *testing.T) {
	c := &Config{Tenants: []Tenant{{Tenant: "a.onmicrosoft.com"}, {Tenant: "*"}}}
	if got, _ := c.TenantFor("A.onmicrosoft.com"); got.Tenant != "a.onmicrosoft.com" {
		t.Errorf("case-insensitive match: %+v", got)
	}
	if got, _ := c.TenantFor("b"); got.Tenant != "*" {
		t.Errorf("wildcard: %+v", got)
	}
	if _, err := (&Config{}).TenantFor("b"); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("missing tenant: %v", err)
	}
}

// TestSecret: the one secret resolver's rules, for optional (Resolve) and
// required (Require) secrets.
func TestSecret(t *testing.T) {
	t.Setenv("SSPRFLOW_TEST_SECRET", "s3cret")
	t.Setenv("SSPRFLOW_TEST_EMPTY", "")
	t.Setenv("SSPRFLOW_TEST_NEWLINE", "s3cret\n")
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	crlf, empty := file("crlf", "from-file\r\n"), file("empty", "\n")
	for _, tc := range []struct {
		name       string
		s          Secret
		want       string
		resolveErr string
		requireErr string
	}{
		{name: "env", s: Secret{Env: "SSPRFLOW_TEST_SECRET"}, want: "s3cret"},
		{name: "env without its line break", s: Secret{Env: "SSPRFLOW_TEST_NEWLINE"}, want: "s3cret"},
		{name: "file without its line break", s: Secret{File: crlf}, want: "from-file"},
		{name: "unset env", s: Secret{Env: "SSPRFLOW_UNSET_VAR"}, resolveErr: "SSPRFLOW_UNSET_VAR is not set", requireErr: "SSPRFLOW_UNSET_VAR is not set"},
		{name: "missing file", s: Secret{File: filepath.Join(dir, "nope")}, resolveErr: "read secret file", requireErr: "read secret file"},
		{name: "both", s: Secret{Env: "SSPRFLOW_TEST_SECRET", File: crlf}, resolveErr: "not both", requireErr: "not both"},
		{name: "empty reference", s: Secret{}, requireErr: "no env or file given"},
		{name: "empty env", s: Secret{Env: "SSPRFLOW_TEST_EMPTY"}, requireErr: "SSPRFLOW_TEST_EMPTY is empty"},
		{name: "empty file", s: Secret{File: empty}, requireErr: "the secret file is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, v string, err error, wantErr string) {
				t.Helper()
				if wantErr == "" {
					if err != nil || v != tc.want {
						t.Errorf("%s = %q, %v; want %q", what, v, err, tc.want)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), wantErr) {
					t.Errorf("%s error %v, want %q", what, err, wantErr)
				}
			}
			v, err := tc.s.Resolve()
			check("Resolve", v, err, tc.resolveErr)
			v, err = tc.s.Require()
			check("Require", v, err, tc.requireErr)
		})
	}
}
