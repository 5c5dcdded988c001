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
			`w.yaml:2: unknown field "colour" in nats (fix: remove it; fields allowed here: credsFile, password, tls, url, user)`},
		{"tab", "temporal:\n\taddress: t:7233\n", "w.yaml:2: a tab indents this line; YAML indents with spaces only (fix: replace the tab with spaces)"},
		{"indented too little", "temporal:\n  address: t:7233\n namespace: x\n", "w.yaml:3: this line is indented by 1 space, which lines up with no block above it (fix: indent it by 2 spaces to continue the block above, or by 0 spaces to end that block)"},
		{"indented too far", "temporal:\n  address: t:7233\n    namespace: x\n", "w.yaml:3: this line is indented further than the line above"},
		{"no temporal", "nats: {url: nats://x}\n", "temporal.address is required"},
		{"empty", "", "temporal.address is required"},
		{"bad method", "temporal: {address: t}\ntenants: [{tenant: a, graph: {method: password}}]\n", "tenants[0].graph.method"},
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
	t.Setenv("SSPRFLOW_TEST_SECRET", "s3cret")
	if v, err := (Secret{Env: "SSPRFLOW_TEST_SECRET"}).Resolve(); v != "s3cret" || err != nil {
		t.Errorf("env secret %q %v", v, err)
	}
	f := filepath.Join(t.TempDir(), "s")
	_ = os.WriteFile(f, []byte("from-file\n"), 0o600)
	if v, err := (Secret{File: f}).Resolve(); v != "from-file" || err != nil {
		t.Errorf("file secret %q %v", v, err)
	}
	if _, err := (Secret{Env: "SSPRFLOW_UNSET_VAR"}).Resolve(); err == nil {
		t.Error("unset env var resolved")
	}
}
