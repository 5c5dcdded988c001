package config

import (
	"strings"
	"testing"
)

func TestIdentityValidation(t *testing.T) {
	base := "temporal: {address: 127.0.0.1:7233}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"ok", "people: [{id: carol, nats: [carol-ops, carol]}]\nsigning: {current: s1, keys: [{id: s1, secret: {env: K}}]}\n", ""},
		{"one user, two people", "people: [{id: a, nats: [x]}, {id: b, nats: [x]}]\n", `NATS user "x" already belongs to "a"`},
		{"person twice", "people: [{id: a}, {id: a}]\n", `people[1].id "a" is listed twice`},
		{"bad id", "people: [{id: 'a.b'}]\n", `people[0].id "a.b"`},
		{"current key missing", "signing: {current: s2, keys: [{id: s1, secret: {env: K}}]}\n", `signing.current "s2"`},
		{"key without secret", "signing: {current: s1, keys: [{id: s1}]}\n", "signing.keys[0].secret"},
		{"plan switch is not a policy key", "policy: {allowSelfApprovals: true}\n", "allowSelfApprovals"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("worker.yaml", []byte(base+tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPersonByNATS(t *testing.T) {
	c, err := Parse("w.yaml", []byte("temporal: {address: x:1}\npeople: [{id: carol, nats: [carol-ops, carol-ap]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"carol-ops", "carol-ap"} {
		if p, ok := c.PersonByNATS(u); !ok || p.ID != "carol" {
			t.Errorf("%s -> %+v %t, want carol", u, p, ok)
		}
	}
	if _, ok := c.PersonByNATS("Carol-ops"); ok {
		t.Error("user names match case-insensitively")
	}
}

func TestSigningKeysResolve(t *testing.T) {
	t.Setenv("SSPRFLOW_TEST_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	t.Setenv("SSPRFLOW_TEST_BAD", "not base64!")
	keys, err := Signing{KeySet: KeySet{Current: "s1", Keys: []Key{{ID: "s1", Secret: Secret{Env: "SSPRFLOW_TEST_KEY"}}}}}.ResolveKeys()
	if err != nil || len(keys["s1"]) != 32 {
		t.Fatalf("keys %v, err %v", keys, err)
	}
	_, err = Signing{KeySet: KeySet{Current: "s1", Keys: []Key{{ID: "s1", Secret: Secret{Env: "SSPRFLOW_TEST_BAD"}}}}}.ResolveKeys()
	if err == nil || strings.Contains(err.Error(), "not base64!") {
		t.Fatalf("bad key: %v (must not echo the value)", err)
	}
}

// The shipped example configuration must stay valid as the types change.
func TestDeployExampleParses(t *testing.T) {
	c, err := Load("../../deploy/worker.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := c.PersonByNATS("carol-ops"); !ok || p.ID != "carol" || c.Signing == nil {
		t.Fatalf("example: person %+v ok=%t signing %+v", p, ok, c.Signing)
	}
}
