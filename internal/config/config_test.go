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
		{"unknown key", "temporal: {address: t:7233, adress: x}\n", "adress"},
		{"no temporal", "nats: {url: nats://x}\n", "temporal.address is required"},
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
