package entrasim

import (
	"bytes"
	"compress/gzip"
	"net/url"
	"strings"
	"testing"
)

// TestSDKPaths covers URL forms msgraph-sdk-go v1 generates.
func TestSDKPaths(t *testing.T) {
	s := newSim(t, Options{Users: 20})
	for _, p := range []string{
		"/v1.0/reports/authenticationMethods/usersRegisteredByFeature()",
		"/v1.0/reports/authenticationMethods/microsoft.graph.usersRegisteredByFeature(includedUserTypes='member',includedUserRoles='all')",
		"/v1.0/reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes=%27all%27,includedUserRoles=%27all%27)",
	} {
		t.Run(p, func(t *testing.T) {
			m := s.mustStatus(s.get(p), 200).json(t)
			if m["totalUserCount"] == nil {
				t.Errorf("%v", m)
			}
		})
	}
	t.Run("member refs and DELETE $ref?@id=", func(t *testing.T) {
		gid := s.createGroup("Refs")
		bob := s.userID("bob@contoso.onmicrosoft.com")
		s.mustStatus(s.addMember(gid, bob), 204)
		refs := s.mustStatus(s.get("/v1.0/groups/"+gid+"/members/$ref"), 200).json(t)["value"].([]any)
		if len(refs) != 1 {
			t.Fatalf("refs %v", refs)
		}
		at := url.QueryEscape("https://graph.microsoft.com/v1.0/directoryObjects/" + bob)
		s.mustStatus(s.do("DELETE", "/v1.0/groups/"+gid+"/members/$ref?@id="+at, s.tok, nil), 204)
		if n := len(s.get("/v1.0/groups/" + gid + "/members").json(t)["value"].([]any)); n != 0 {
			t.Errorf("%d members left", n)
		}
	})
	t.Run("select on registration details", func(t *testing.T) {
		m := s.mustStatus(s.get("/v1.0/reports/authenticationMethods/userRegistrationDetails?$select=id,isSsprRegistered&$top=2"), 200).json(t)
		row := m["value"].([]any)[0].(map[string]any)
		if len(row) != 2 || row["id"] == nil {
			t.Errorf("row %v", row)
		}
		s.mustStatus(s.get("/v1.0/reports/authenticationMethods/userRegistrationDetails?$select=nope"), 400)
	})
	t.Run("policy GET object can be PATCHed back", func(t *testing.T) {
		p := s.get("/v1.0/policies/authenticationMethodsPolicy").json(t)
		delete(p, "authenticationMethodConfigurations")
		p["policyMigrationState"] = "migrationInProgress"
		m := s.mustStatus(s.do("PATCH", "/v1.0/policies/authenticationMethodsPolicy", s.tok, p), 200).json(t)
		if m["policyMigrationState"] != "migrationInProgress" {
			t.Errorf("%v", m["policyMigrationState"])
		}
	})
}

func TestQueryOptions(t *testing.T) {
	s := newSim(t, Options{Users: 30})
	r := s.do("GET", "/v1.0/users?$count=true&$filter=startsWith(userPrincipalName,'user')", s.tok, nil, "ConsistencyLevel", "eventual")
	if got := s.mustStatus(r, 200).json(t)["@odata.count"]; got != 30.0 {
		t.Errorf("@odata.count %v", got)
	}
	for _, q := range []string{"$count=true", "$search=%22displayName:a%22", "$orderby=jobTitle", "$skip=3", "$count=maybe"} {
		if r := s.get("/v1.0/users?" + q); r.status != 400 {
			t.Errorf("%s: %d", q, r.status)
		} else {
			r.errCode(t)
		}
	}
	m := s.mustStatus(s.get("/v1.0/reports/authenticationMethods/userRegistrationDetails?$count=true&$top=5"), 200).json(t)
	if m["@odata.count"] != 38.0 {
		t.Errorf("report count %v", m["@odata.count"])
	}
}

// The SDK's compression handler gzips request bodies.
func TestGzipRequestBody(t *testing.T) {
	s := newSim(t, Options{Users: 5})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"displayName":"Zipped","mailNickname":"zipped","mailEnabled":false,"securityEnabled":true}`))
	_ = zw.Close()
	r := s.do("POST", "/v1.0/groups", s.tok, buf.String(), "Content-Encoding", "gzip")
	s.mustStatus(r, 201)
	a := s.srv.Audit()
	if got := a[len(a)-1].Body; !strings.Contains(got, `"Zipped"`) {
		t.Errorf("audit body %q", got)
	}
	if r := s.do("POST", "/v1.0/groups", s.tok, "not gzip", "Content-Encoding", "gzip"); r.status != 400 {
		t.Errorf("bad gzip: %d", r.status)
	}
}

func TestRefID(t *testing.T) {
	tests := []struct {
		ref, id string
		ok      bool
	}{
		{"https://graph.microsoft.com/v1.0/directoryObjects/abc", "abc", true},
		{"https://graph.microsoft.com/v1.0/users/abc", "abc", true},
		{"https://graph.microsoft.com/v1.0/directoryObjects('abc')", "abc", true},
		{"http://127.0.0.1:1/v1.0/directoryObjects/abc/", "abc", true},
		{"https://graph.microsoft.com/v1.0/groups/abc", "", false},
		{"abc", "", false},
	}
	for _, tc := range tests {
		id, ok := refID(tc.ref)
		if id != tc.id || ok != tc.ok {
			t.Errorf("refID(%q) = %q, %v", tc.ref, id, ok)
		}
	}
}
