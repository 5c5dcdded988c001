package entrasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDocumentedShapes: what Microsoft documents for v1.0 and the strict
// simulator answers (or refuses) accordingly.
func TestDocumentedShapes(t *testing.T) {
	sim := newSim(t, Options{Users: 300, Org: true, Strict: true})
	base, tok := sim.base, sim.tok
	get := func(path string, eventual bool) (int, map[string]any, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if eventual {
			req.Header.Set("ConsistencyLevel", "eventual")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var raw json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&raw)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return resp.StatusCode, m, string(raw)
	}
	q := url.QueryEscape
	cases := []struct {
		name     string
		path     string
		eventual bool
		status   int
		check    func(m map[string]any, raw string) bool
	}{
		{"report id-in refused", "/v1.0/reports/authenticationMethods/userRegistrationDetails?$filter=" + q("id in ('a')"), false, 400, nil},
		{"report $top refused", "/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=999", false, 400, nil},
		{"report documented filter", "/v1.0/reports/authenticationMethods/userRegistrationDetails?$filter=" + q("isAdmin eq true"), false, 200, nil},
		{"policyMigrationState null", "/v1.0/policies/authenticationMethodsPolicy", false, 200, func(m map[string]any, raw string) bool {
			v, ok := m["policyMigrationState"]
			return ok && v == nil && !strings.Contains(raw, "reportSuspiciousActivitySettings") && !strings.Contains(raw, "systemCredentialPreferences")
		}},
		{"x509 crlValidationConfiguration", "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/X509Certificate", false, 200,
			func(m map[string]any, _ string) bool { _, ok := m["crlValidationConfiguration"]; return ok }},
		{"sync without beta intervals", "/v1.0/directory/onPremisesSynchronization", false, 200,
			func(_ map[string]any, raw string) bool { return !strings.Contains(raw, "ynchronizationInterval") }},
		{"$select in @odata.context", "/v1.0/users?$select=id,displayName&$top=2", false, 200,
			func(m map[string]any, _ string) bool {
				return strings.HasSuffix(m["@odata.context"].(string), "users(id,displayName)")
			}},
		{"@odata.count on page 1", "/v1.0/users?$count=true&$top=5", true, 200, func(m map[string]any, _ string) bool { return m["@odata.count"] != nil }},
		{"/groups/$count", "/v1.0/groups/$count", true, 200, nil},
		{"/groups/$count needs eventual", "/v1.0/groups/$count", false, 400, nil},
		{"$orderby displayName", "/v1.0/users?$orderby=displayName&$top=50&$select=displayName", false, 200, func(m map[string]any, _ string) bool {
			v := m["value"].([]any)
			for i := 1; i < len(v); i++ {
				if strings.ToLower(v[i-1].(map[string]any)["displayName"].(string)) > strings.ToLower(v[i].(map[string]any)["displayName"].(string)) {
					return false
				}
			}
			return len(v) == 50
		}},
		{"$orderby unknown", "/v1.0/users?$orderby=jobTitle", false, 400, nil},
		{"$search needs eventual", "/v1.0/groups?$search=" + q(`"displayName:sales"`), false, 400, nil},
		{"$search groups", "/v1.0/groups?$search=" + q(`"displayName:sales"`), true, 200, func(m map[string]any, _ string) bool {
			v := m["value"].([]any)
			for _, g := range v {
				if !strings.Contains(strings.ToLower(g.(map[string]any)["displayName"].(string)), "sales") {
					return false
				}
			}
			return len(v) >= 4 // All-Sales, Sales EU/Americas/APAC, Sales 'EU'
		}},
		{"Unified group", "/v1.0/groups?$filter=" + q("groupTypes/any(c:c eq 'Unified')"), false, 200, func(m map[string]any, _ string) bool {
			v := m["value"].([]any)
			return len(v) == 1 && v[0].(map[string]any)["displayName"] == M365Group && v[0].(map[string]any)["securityEnabled"] == false
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, m, raw := get(tc.path, tc.eventual)
			if status != tc.status {
				t.Fatalf("%s: %d, want %d: %s", tc.path, status, tc.status, raw)
			}
			if tc.check != nil && !tc.check(m, raw) {
				t.Fatalf("%s: %s", tc.path, raw[:min(len(raw), 600)])
			}
		})
	}
	// Page 2 has no @odata.count.
	_, m, _ := get("/v1.0/users?$count=true&$top=5", true)
	next, _ := m["@odata.nextLink"].(string)
	req, _ := http.NewRequest(http.MethodGet, next, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("ConsistencyLevel", "eventual")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page2 map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&page2)
	resp.Body.Close()
	if _, ok := page2["@odata.count"]; ok || len(page2["value"].([]any)) != 5 {
		t.Errorf("page 2: %v", page2)
	}
}
