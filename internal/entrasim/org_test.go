package entrasim

import (
	"net/url"
	"strings"
	"testing"
)

// pages follows nextLinks and returns every value of a listing.
func (s *sim) pages(t *testing.T, path string, hdr ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for next := path; next != ""; {
		m := s.mustStatus(s.do("GET", next, s.tok, nil, hdr...), 200).json(t)
		for _, v := range m["value"].([]any) {
			out = append(out, v.(map[string]any))
		}
		next, _ = m["@odata.nextLink"].(string)
	}
	return out
}

func (s *sim) groupID(t *testing.T, name string) string {
	t.Helper()
	gs := s.pages(t, "/v1.0/groups?$filter="+url.QueryEscape("displayName eq '"+strings.ReplaceAll(name, "'", "''")+"'"))
	if len(gs) != 1 {
		t.Fatalf("group %q: %d matches, want 1", name, len(gs))
	}
	return gs[0]["id"].(string)
}

func TestOrganisation(t *testing.T) {
	s := newSim(t, Options{Users: 3000, Seed: 5, Org: true})
	users := s.pages(t, "/v1.0/users?$top=999&$select=id,userPrincipalName,userType,department,country,usageLocation,jobTitle")
	sales := map[string]bool{}   // every Sales member
	salesEU := map[string]bool{} // Sales members in EU countries
	euCodes := map[string]bool{"DE": true, "FR": true, "NL": true, "IE": true, "GB": true}
	for _, u := range users {
		if u["userType"] == "Guest" || strings.HasPrefix(u["userPrincipalName"].(string), "breakglass") {
			continue
		}
		if u["department"] == nil || u["country"] == nil || u["jobTitle"] == nil {
			t.Fatalf("user without organisation properties: %v", u)
		}
		if u["department"] == "Sales" {
			sales[u["id"].(string)] = true
			if euCodes[u["usageLocation"].(string)] {
				salesEU[u["id"].(string)] = true
			}
		}
	}
	if len(sales) < 200 || len(salesEU) == 0 || len(salesEU) >= len(sales) {
		t.Fatalf("implausible population: %d in Sales, %d in Sales EU", len(sales), len(salesEU))
	}
	ids := func(vs []map[string]any, typ string) map[string]bool {
		out := map[string]bool{}
		for _, v := range vs {
			if typ == "" || v["@odata.type"] == typ {
				out[v["id"].(string)] = true
			}
		}
		return out
	}
	same := func(t *testing.T, got, want map[string]bool) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%d members, want %d", len(got), len(want))
		}
		for id := range want {
			if !got[id] {
				t.Fatalf("member %s missing", id)
			}
		}
	}
	all, eu := s.groupID(t, "All-Sales"), s.groupID(t, "Sales EU")

	t.Run("nested groups are direct members of All-Sales", func(t *testing.T) {
		direct := s.pages(t, "/v1.0/groups/"+all+"/members")
		if n := len(ids(direct, "#microsoft.graph.group")); n != 3 || len(direct) != 3 {
			t.Fatalf("All-Sales direct members: %d groups of %d, want 3 regional groups", n, len(direct))
		}
		if users := s.pages(t, "/v1.0/groups/"+all+"/members/microsoft.graph.user"); len(users) != 0 {
			t.Fatalf("All-Sales has %d direct users, want 0", len(users))
		}
	})
	t.Run("transitive members are the department", func(t *testing.T) {
		same(t, ids(s.pages(t, "/v1.0/groups/"+all+"/transitiveMembers/microsoft.graph.user?$top=999"), ""), sales)
		same(t, ids(s.pages(t, "/v1.0/groups/"+eu+"/members/microsoft.graph.user?$top=999"), ""), salesEU)
		withGroups := s.pages(t, "/v1.0/groups/"+all+"/transitiveMembers?$top=999")
		if len(withGroups) != len(sales)+3 {
			t.Fatalf("transitiveMembers: %d objects, want %d users + 3 groups", len(withGroups), len(sales))
		}
	})
	t.Run("filters on organisation properties", func(t *testing.T) {
		got := ids(s.pages(t, "/v1.0/users?$top=999&$filter="+url.QueryEscape("department eq 'Sales' and userType eq 'Member'")), "")
		// Break-glass accounts are IT; guests are excluded by the filter.
		same(t, got, sales)
		if n := len(s.pages(t, "/v1.0/users?$filter="+url.QueryEscape("country in ('Germany','France')"))); n == 0 {
			t.Fatal("no users in Germany or France")
		}
		if n := len(s.pages(t, "/v1.0/users?$filter="+url.QueryEscape("startsWith(jobTitle,'Sales')"))); n == 0 {
			t.Fatal("no job titles starting with Sales")
		}
		// department has no startsWith in v1.0.
		r := s.get("/v1.0/users?$filter=" + url.QueryEscape("startsWith(department,'Sal')"))
		if r.status != 400 {
			t.Fatalf("startsWith(department) answered %d, want 400", r.status)
		}
	})
	t.Run("apostrophes are quoted by doubling", func(t *testing.T) {
		got := s.pages(t, "/v1.0/users?$filter="+url.QueryEscape("userPrincipalName eq 'o''brien@contoso.onmicrosoft.com'"))
		if len(got) != 1 || got[0]["displayName"] != "Pat O'Brien" {
			t.Fatalf("o'brien: %v", got)
		}
		m := s.mustStatus(s.get("/v1.0/users/"+url.PathEscape("o'brien@contoso.onmicrosoft.com")), 200).json(t)
		if m["id"] != got[0]["id"] {
			t.Fatal("o'brien by UPN is another user")
		}
		legacy := ids(s.pages(t, "/v1.0/groups/"+s.groupID(t, "Sales 'EU'")+"/members/microsoft.graph.user"), "")
		if len(legacy) != 25 || !legacy[m["id"].(string)] {
			t.Fatalf("Sales 'EU' has %d members (o'brien in it: %v), want 25 with o'brien", len(legacy), legacy[m["id"].(string)])
		}
	})
	t.Run("break-glass accounts are admins", func(t *testing.T) {
		bg := ids(s.pages(t, "/v1.0/groups/"+s.groupID(t, BreakGlassGroup)+"/members"), "")
		admins := ids(s.pages(t, "/v1.0/directoryRoles/"+globalAdminRoleID+"/members"), "")
		if len(bg) != 2 {
			t.Fatalf("Break-Glass has %d members, want 2", len(bg))
		}
		for id := range bg {
			if !admins[id] {
				t.Fatalf("break-glass account %s is not a Global Administrator", id)
			}
		}
	})
	t.Run("state keeps the nesting", func(t *testing.T) {
		path := t.TempDir() + "/state.json"
		if err := s.srv.SaveState(path); err != nil {
			t.Fatal(err)
		}
		s2 := newSim(t, Options{Users: 3000, Seed: 5, Org: true})
		s2.mustStatus(s2.do("DELETE", "/v1.0/groups/"+eu, s2.tok, nil), 204) // state must bring it back
		if err := s2.srv.LoadState(path); err != nil {
			t.Fatal(err)
		}
		same(t, ids(s2.pages(t, "/v1.0/groups/"+all+"/transitiveMembers/microsoft.graph.user?$top=999"), ""), sales)
	})
	t.Run("deleting a regional group shrinks the department", func(t *testing.T) {
		s.mustStatus(s.do("DELETE", "/v1.0/groups/"+eu, s.tok, nil), 204)
		got := ids(s.pages(t, "/v1.0/groups/"+all+"/transitiveMembers/microsoft.graph.user?$top=999"), "")
		if len(got) != len(sales)-len(salesEU) {
			t.Fatalf("%d members after deleting Sales EU, want %d", len(got), len(sales)-len(salesEU))
		}
	})
}
