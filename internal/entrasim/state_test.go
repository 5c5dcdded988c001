package entrasim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStateJSON(t *testing.T) {
	s := newSim(t, Options{Users: 50, Seed: 2})
	gid := s.createGroup("SSPR Pilot")
	s.mustStatus(s.addMember(gid, s.userID("carol@contoso.onmicrosoft.com")), 204)
	s.mustStatus(s.addMember(gid, s.userID("alice@contoso.onmicrosoft.com")), 204)

	a, err := s.srv.StateJSON("")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.srv.StateJSON(DefaultTenant)
	c := s.mustStatus(s.do("GET", "/_sim/state", "", nil), 200).body
	if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Fatal("StateJSON not byte-stable across reads")
	}
	for _, want := range []string{`"authenticationMethodsPolicy"`, `"passwordResetPolicies"`, `"onPremisesPasswordResetPolicies"`, `"registrationReconfirmIntevalInDays"`, gid} {
		if !bytes.Contains(a, []byte(want)) {
			t.Errorf("state lacks %s", want)
		}
	}
	if _, err := s.srv.StateJSON("nowhere.example"); err == nil {
		t.Error("unknown tenant: no error")
	}

	t.Run("restore is byte-equal", func(t *testing.T) {
		const prp = "/api/PasswordReset/PasswordResetPolicies"
		const op = "/api/PasswordReset/OnPremisesPasswordResetPolicies"
		const email = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Email"
		origPortal := s.portal("GET", prp, nil).body
		origOnPrem := s.portal("GET", op, nil).json(t)
		origEmail := s.get(email).json(t)

		changed := s.portal("GET", prp, nil).json(t)
		changed["enablementType"] = 1
		changed["passwordResetEnabledGroupIds"] = []string{gid}
		changed["numberOfAuthenticationMethodsRequired"] = 2
		changed["registrationReconfirmIntevalInDays"] = 90
		s.mustStatus(s.portal("PUT", prp, changed), 200)
		onp := s.portal("GET", op, nil).json(t)
		onp["enablementForTenant"] = true
		s.mustStatus(s.portal("PUT", op, onp), 200)
		s.mustStatus(s.do("PATCH", email, s.tok, map[string]any{"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "state": "disabled"}), 204)
		s.mustStatus(s.do("PATCH", "/v1.0/policies/authenticationMethodsPolicy", s.tok, map[string]any{"policyMigrationState": "migrationInProgress"}), 200)

		mid, _ := s.srv.StateJSON("")
		if bytes.Equal(a, mid) {
			t.Fatal("changes not reflected in state")
		}
		// Put back what was read before.
		s.mustStatus(s.portal("PUT", prp, string(origPortal)), 200)
		s.mustStatus(s.portal("PUT", op, origOnPrem), 200)
		delete(origEmail, "@odata.context")
		delete(origEmail, "id")
		s.mustStatus(s.do("PATCH", email, s.tok, origEmail), 204)
		s.mustStatus(s.do("PATCH", "/v1.0/policies/authenticationMethodsPolicy", s.tok, map[string]any{"policyMigrationState": "preMigration"}), 200)
		after, _ := s.srv.StateJSON("")
		if !bytes.Equal(a, after) {
			t.Fatalf("restore not byte-equal:\nbefore %s\nafter  %s", a, after)
		}
	})

	t.Run("save and load", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := s.srv.SaveState(path); err != nil {
			t.Fatal(err)
		}
		s2 := newSim(t, Options{Users: 50, Seed: 2})
		if err := s2.srv.LoadState(path); err != nil {
			t.Fatal(err)
		}
		got, _ := s2.srv.StateJSON("")
		if !bytes.Equal(a, got) {
			t.Fatalf("loaded state differs:\n%s\n%s", a, got)
		}
		if err := s2.srv.LoadState(filepath.Join(t.TempDir(), "missing.json")); err != nil {
			t.Errorf("missing file: %v", err)
		}
		s3 := newSim(t, Options{Users: 50, Seed: 99})
		if err := s3.srv.LoadState(path); err == nil || !strings.Contains(err.Error(), "same Users and Seed") {
			t.Errorf("load with other seed: %v", err)
		}
		_ = os.Remove(path)
	})
}

func TestMultiTenant(t *testing.T) {
	s := newSim(t, Options{Users: 5})
	other := s.srv.IssueToken("fabrikam.onmicrosoft.com", AllRoles(), false)
	r := s.mustStatus(s.do("GET", "/v1.0/users/alice@fabrikam.onmicrosoft.com", other, nil), 200)
	if !strings.Contains(string(r.body), "fabrikam") {
		t.Fatalf("%s", r.body)
	}
	s.mustStatus(s.do("GET", "/v1.0/users/alice@fabrikam.onmicrosoft.com", s.tok, nil), 404)
	s.mustStatus(s.do("POST", "/v1.0/groups", other, map[string]any{"displayName": "F", "mailNickname": "f", "mailEnabled": false, "securityEnabled": true}), 201)
	if n := len(s.get("/v1.0/groups").json(t)["value"].([]any)); n != 0 {
		t.Errorf("contoso sees %d fabrikam groups", n)
	}
	if _, err := s.srv.StateJSON("fabrikam.onmicrosoft.com"); err != nil {
		t.Error(err)
	}
}
