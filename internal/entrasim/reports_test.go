package entrasim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestRegistrationDetailsPaging(t *testing.T) {
	s := newSim(t, Options{Users: 10000, Seed: 3})
	for _, top := range []string{"", "?$top=999", "?$top=37"} {
		t.Run("top"+top, func(t *testing.T) {
			rows := s.scanRegistrations(top)
			seen := map[string]bool{}
			for _, r := range rows {
				id := r["id"].(string)
				if seen[id] {
					t.Fatalf("duplicate %s", id)
				}
				seen[id] = true
			}
			if len(rows) != 10008 {
				t.Fatalf("%d rows, want 10008", len(rows))
			}
		})
	}
	t.Run("default page size 100", func(t *testing.T) {
		m := s.get("/v1.0/reports/authenticationMethods/userRegistrationDetails").json(t)
		if n := len(m["value"].([]any)); n != 100 {
			t.Errorf("page of %d", n)
		}
	})
	t.Run("top above 999 refused", func(t *testing.T) {
		s.mustStatus(s.get("/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=1000"), 400)
	})
}

func TestRegistrationFilters(t *testing.T) {
	s := newSim(t, Options{Users: 2000, Seed: 11})
	s.enableAll()
	s.srv.AdvanceClock(2 * time.Hour)
	all := s.scanRegistrations("?$top=999")
	count := func(pred func(map[string]any) bool) int {
		n := 0
		for _, r := range all {
			if pred(r) {
				n++
			}
		}
		return n
	}
	hasMethod := func(r map[string]any, m string) bool {
		for _, x := range r["methodsRegistered"].([]any) {
			if x == m {
				return true
			}
		}
		return false
	}
	ids := []string{all[3]["id"].(string), all[500]["id"].(string)}
	tests := []struct {
		filter string
		pred   func(map[string]any) bool
	}{
		{"isSsprRegistered eq true", func(r map[string]any) bool { return r["isSsprRegistered"] == true }},
		{"isSsprRegistered eq false", func(r map[string]any) bool { return r["isSsprRegistered"] == false }},
		{"isSsprEnabled eq true", func(r map[string]any) bool { return r["isSsprEnabled"] == true }},
		{"isSsprCapable eq true", func(r map[string]any) bool { return r["isSsprCapable"] == true }},
		{"isMfaRegistered eq true", func(r map[string]any) bool { return r["isMfaRegistered"] == true }},
		{"isAdmin eq true", func(r map[string]any) bool { return r["isAdmin"] == true }},
		{"userType eq 'guest'", func(r map[string]any) bool { return r["userType"] == "guest" }},
		{"methodsRegistered/any(m: m eq 'email')", func(r map[string]any) bool { return hasMethod(r, "email") }},
		{"methodsRegistered/any(x:x eq 'mobilePhone') and isSsprEnabled eq false", func(r map[string]any) bool {
			return hasMethod(r, "mobilePhone") && r["isSsprEnabled"] == false
		}},
		{"startsWith(userPrincipalName,'user01')", func(r map[string]any) bool { return strings.HasPrefix(r["userPrincipalName"].(string), "user01") }},
		{"startsWith(userPrincipalName,'user01') and isSsprRegistered eq true and userType eq 'member'", func(r map[string]any) bool {
			return strings.HasPrefix(r["userPrincipalName"].(string), "user01") && r["isSsprRegistered"] == true && r["userType"] == "member"
		}},
		{fmt.Sprintf("id in ('%s','%s')", ids[0], ids[1]), func(r map[string]any) bool { return r["id"] == ids[0] || r["id"] == ids[1] }},
		{"(isAdmin eq true) and (isSsprCapable eq false)", func(r map[string]any) bool { return r["isAdmin"] == true && r["isSsprCapable"] == false }},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			want := count(tc.pred)
			got := s.scanRegistrations("?$top=250&$filter=" + urlEncode(tc.filter))
			if len(got) != want {
				t.Fatalf("%d rows, want %d", len(got), want)
			}
			for _, r := range got {
				if !tc.pred(r) {
					t.Fatalf("row does not match: %v", r)
				}
			}
			if want == 0 && !strings.Contains(tc.filter, "in (") {
				t.Logf("filter matched nothing; population too small?")
			}
		})
	}
	for _, bad := range []string{
		"isSsprRegistered eq 'yes'",
		"lastUpdatedDateTime gt 2020-01-01",
		"isAdmin eq true or",
		"methodsRegistered/any(m: n eq 'email')",
		"not isAdmin",
		"userDisplayName eq",
		"isAdmin eq true)",
	} {
		t.Run("bad "+bad, func(t *testing.T) {
			r := s.get("/v1.0/reports/authenticationMethods/userRegistrationDetails?$filter=" + urlEncode(bad))
			if r.status != 400 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			r.errCode(t)
		})
	}
	t.Run("single user", func(t *testing.T) {
		m := s.mustStatus(s.get("/v1.0/reports/authenticationMethods/userRegistrationDetails/"+ids[0]), 200).json(t)
		if m["id"] != ids[0] || m["@odata.context"] == nil {
			t.Errorf("%v", m)
		}
		s.mustStatus(s.get("/v1.0/reports/authenticationMethods/userRegistrationDetails/00000000-0000-4000-8000-000000000000"), 404)
	})
	t.Run("feature summary agrees with the list", func(t *testing.T) {
		m := s.get("/v1.0/reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes='all',includedUserRoles='all')").json(t)
		if int(m["totalUserCount"].(float64)) != len(all) {
			t.Errorf("total %v, want %d", m["totalUserCount"], len(all))
		}
		want := map[string]int{
			"ssprRegistered": count(func(r map[string]any) bool { return r["isSsprRegistered"] == true }),
			"ssprEnabled":    count(func(r map[string]any) bool { return r["isSsprEnabled"] == true }),
			"ssprCapable":    count(func(r map[string]any) bool { return r["isSsprCapable"] == true }),
		}
		for _, c := range m["userRegistrationFeatureCounts"].([]any) {
			cm := c.(map[string]any)
			if w, ok := want[cm["feature"].(string)]; ok && int(cm["userCount"].(float64)) != w {
				t.Errorf("%v = %v, want %d", cm["feature"], cm["userCount"], w)
			}
		}
	})
}

// enableAll sets SSPR scope to All through the portal API.
func (s *sim) enableAll() {
	s.t.Helper()
	p := s.mustStatus(s.portal("GET", "/api/PasswordReset/PasswordResetPolicies", nil), 200).json(s.t)
	p["enablementType"] = 2
	s.mustStatus(s.portal("PUT", "/api/PasswordReset/PasswordResetPolicies", p), 200)
}

func TestRegistrationProgress(t *testing.T) {
	s := newSim(t, Options{Users: 500, Seed: 5})
	alice := s.userID("alice@contoso.onmicrosoft.com")
	bob := s.userID("bob@contoso.onmicrosoft.com")
	details := func(id string) map[string]any {
		return s.mustStatus(s.get("/v1.0/reports/authenticationMethods/userRegistrationDetails/"+id), 200).json(t)
	}
	// Time passing before SSPR is enabled registers nobody.
	s.srv.AdvanceClock(1000 * time.Hour)
	if d := details(alice); d["isSsprEnabled"] != false || d["isSsprRegistered"] != false {
		t.Fatalf("before enablement: %v", d)
	}
	gid := s.createGroup("SSPR Pilot")
	s.mustStatus(s.addMember(gid, alice), 204)
	p := s.portal("GET", "/api/PasswordReset/PasswordResetPolicies", nil).json(t)
	p["enablementType"] = 1
	p["passwordResetEnabledGroupIds"] = []string{gid}
	s.mustStatus(s.portal("PUT", "/api/PasswordReset/PasswordResetPolicies", p), 200)

	d := details(alice)
	if d["isSsprEnabled"] != true || d["isSsprRegistered"] != false || d["isSsprCapable"] != false {
		t.Fatalf("just enabled: %v", d)
	}
	if d := details(bob); d["isSsprEnabled"] != false {
		t.Fatalf("bob is not in the group: %v", d)
	}
	s.srv.AdvanceClock(1000 * time.Hour) // far beyond any named user's delay
	d = details(alice)
	if d["isSsprRegistered"] != true || d["isSsprCapable"] != true {
		t.Fatalf("after advance: %v", d)
	}
	if d := details(bob); d["isSsprRegistered"] != false {
		t.Fatalf("bob registered without being enabled: %v", d)
	}
	// Bob joins later: his delay counts from then.
	s.mustStatus(s.addMember(gid, bob), 204)
	if d := details(bob); d["isSsprEnabled"] != true || d["isSsprRegistered"] != false {
		t.Fatalf("bob just added: %v", d)
	}
	// Registration survives removal from scope.
	s.mustStatus(s.do("DELETE", "/v1.0/groups/"+gid+"/members/"+alice+"/$ref", s.tok, nil), 204)
	if d := details(alice); d["isSsprEnabled"] != false || d["isSsprRegistered"] != true {
		t.Fatalf("alice removed: %v", d)
	}

	t.Run("coverage grows over simulated time", func(t *testing.T) {
		s := newSim(t, Options{Users: 3000, Seed: 9})
		capable := func() int {
			m := s.get("/v1.0/reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes='all',includedUserRoles='all')").json(t)
			for _, c := range m["userRegistrationFeatureCounts"].([]any) {
				if cm := c.(map[string]any); cm["feature"] == "ssprCapable" {
					return int(cm["userCount"].(float64))
				}
			}
			t.Fatal("no ssprCapable count")
			return 0
		}
		if c := capable(); c != 0 {
			t.Fatalf("capable before enablement: %d", c)
		}
		s.enableAll()
		c0 := capable()
		s.srv.AdvanceClock(time.Hour)
		c1 := capable()
		s.srv.AdvanceClock(24 * time.Hour)
		c2 := capable()
		if !(c0 < c1 && c1 < c2) || c2 >= 3008 {
			t.Fatalf("capable %d -> %d -> %d", c0, c1, c2)
		}
		t.Logf("capable: %d at enablement (pre-registered), %d after 1h, %d after 25h", c0, c1, c2)
	})
	t.Run("clock endpoint", func(t *testing.T) {
		before := s.srv.Now()
		s.mustStatus(s.do("POST", "/_sim/clock/advance?d=90m", "", nil), 200)
		if got := s.srv.Now().Sub(before); got != 90*time.Minute {
			t.Errorf("advanced %v", got)
		}
	})
}

func TestRowEncodingMatchesEncodingJSON(t *testing.T) {
	tn := newTenant("contoso.onmicrosoft.com", 300, 4, false, false, time.Unix(1700000000, 0))
	tn.users[5].displayName = "Zoë \"Q\" <O'Brien> & 日本\u2028"
	for i := range tn.users {
		u := &tn.users[i]
		if i%3 == 0 {
			u.enabledAt = 1
		}
		row := regRow{u: u, st: tn.regState(u, time.Now().UnixNano())}
		want, err := json.Marshal(row.details())
		if err != nil {
			t.Fatal(err)
		}
		if got := row.appendJSON(nil); string(got) != string(want) {
			t.Fatalf("user %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
