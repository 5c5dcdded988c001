package entrasim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestEndpointShapes(t *testing.T) {
	s := newSim(t, Options{Users: 50, Seed: 1})
	tests := []struct {
		name    string
		path    string
		context string
		keys    []string // top-level keys that must be present
	}{
		{"policy", "/v1.0/policies/authenticationMethodsPolicy", "#authenticationMethodsPolicy",
			[]string{"id", "displayName", "description", "lastModifiedDateTime", "policyVersion", "policyMigrationState", "reconfirmationInDays", "registrationEnforcement", "authenticationMethodConfigurations"}},
		{"configs", "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations", "#policies/authenticationMethodsPolicy/authenticationMethodConfigurations", []string{"value"}},
		{"config lower-case id", "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/email", "$entity", []string{"@odata.type", "id", "state", "includeTargets", "excludeTargets", "allowExternalIdToUseEmailOtp"}},
		{"users", "/v1.0/users?$top=10", "#users", []string{"value", "@odata.nextLink"}},
		{"user by upn", "/v1.0/users/alice@contoso.onmicrosoft.com", "#users/$entity", []string{"id", "displayName", "userPrincipalName", "mail"}},
		{"groups", "/v1.0/groups", "#groups", []string{"value"}},
		{"registration details", "/v1.0/reports/authenticationMethods/userRegistrationDetails", "#reports/authenticationMethods/userRegistrationDetails", []string{"value"}},
		{"registered by feature", "/v1.0/reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes='all',includedUserRoles='all')", "userRegistrationFeatureSummary", []string{"totalUserCount", "userRegistrationFeatureCounts", "userTypes", "userRoles"}},
		{"on-prem sync", "/v1.0/directory/onPremisesSynchronization", "#directory/onPremisesSynchronization", []string{"value"}},
		{"skus", "/v1.0/subscribedSkus", "#subscribedSkus", []string{"value"}},
		{"organization", "/v1.0/organization", "#organization", []string{"value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.mustStatus(s.get(tc.path), http.StatusOK)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("content type %q", ct)
			}
			m := r.json(t)
			if ctx, _ := m["@odata.context"].(string); !strings.HasPrefix(ctx, "https://graph.microsoft.com/v1.0/$metadata") || !strings.Contains(ctx, tc.context) {
				t.Errorf("@odata.context %q, want it to contain %q", ctx, tc.context)
			}
			for _, k := range tc.keys {
				if _, ok := m[k]; !ok {
					t.Errorf("missing %q in %s", k, r.body)
				}
			}
			if r.header.Get("request-id") == "" || r.header.Get("client-request-id") == "" {
				t.Errorf("missing request ids: %v", r.header)
			}
		})
	}

	t.Run("method configuration ids and types", func(t *testing.T) {
		m := s.get("/v1.0/policies/authenticationMethodsPolicy").json(t)
		var ids []string
		for _, c := range m["authenticationMethodConfigurations"].([]any) {
			cm := c.(map[string]any)
			id := cm["id"].(string)
			ids = append(ids, id)
			want := "#microsoft.graph." + strings.ToLower(id[:1]) + id[1:] + "AuthenticationMethodConfiguration"
			if cm["@odata.type"] != want {
				t.Errorf("%s: @odata.type %v, want %s", id, cm["@odata.type"], want)
			}
		}
		for _, want := range []string{"Email", "Sms", "Voice", "MicrosoftAuthenticator", "SoftwareOath", "Fido2", "TemporaryAccessPass", "X509Certificate"} {
			if !strings.Contains(strings.Join(ids, ","), want) {
				t.Errorf("missing configuration %s in %v", want, ids)
			}
		}
		if m["policyMigrationState"] != "preMigration" {
			t.Errorf("policyMigrationState %v", m["policyMigrationState"])
		}
	})

	t.Run("licence has AAD_PREMIUM", func(t *testing.T) {
		r := s.get("/v1.0/subscribedSkus")
		if !strings.Contains(string(r.body), `"servicePlanName":"AAD_PREMIUM"`) {
			t.Errorf("no AAD_PREMIUM plan: %s", r.body)
		}
		s2 := newSim(t, Options{Users: 1, NoPremium: true})
		r = s2.get("/v1.0/subscribedSkus")
		if strings.Contains(string(r.body), "AAD_PREMIUM") {
			t.Errorf("NoPremium still lists AAD_PREMIUM: %s", r.body)
		}
	})

	t.Run("organization carries tenant id and domain", func(t *testing.T) {
		org := s.get("/v1.0/organization").json(t)["value"].([]any)[0].(map[string]any)
		if org["id"] != s.srv.tenant(DefaultTenant).id {
			t.Errorf("id %v", org["id"])
		}
		if !strings.Contains(fmt.Sprint(org["verifiedDomains"]), DefaultTenant) {
			t.Errorf("verifiedDomains %v", org["verifiedDomains"])
		}
	})
}

func TestErrors(t *testing.T) {
	s := newSim(t, Options{Users: 20})
	tests := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		status int
		code   string
	}{
		{"no token", "GET", "/v1.0/users", "", nil, 401, codeInvalidToken},
		{"garbled token", "GET", "/v1.0/users", "not-a-jwt", nil, 401, codeInvalidToken},
		{"garbled jwt", "GET", "/v1.0/users", "a.b.c", nil, 401, codeInvalidToken},
		{"missing user", "GET", "/v1.0/users/nobody@contoso.onmicrosoft.com", "tok", nil, 404, codeNotFound},
		{"missing group", "GET", "/v1.0/groups/00000000-0000-4000-8000-000000000000", "tok", nil, 404, codeNotFound},
		{"unknown method config", "GET", "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Pigeon", "tok", nil, 404, codeNotFound},
		{"unsupported filter", "GET", "/v1.0/reports/authenticationMethods/userRegistrationDetails?$filter=lastUpdatedDateTime%20gt%202020", "tok", nil, 400, codeUnsupportedQuery},
		{"bad top", "GET", "/v1.0/users?$top=5000", "tok", nil, 400, codeBadRequest},
		{"bad skiptoken", "GET", "/v1.0/users?$skiptoken=zzz", "tok", nil, 400, codeBadRequest},
		{"bad select", "GET", "/v1.0/users?$select=nope", "tok", nil, 400, codeBadRequest},
		{"patch config without odata type", "PATCH", "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Email", "tok", map[string]any{"state": "disabled"}, 400, "BadRequest"},
		{"patch config wrong odata type", "PATCH", "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Email", "tok", map[string]any{"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "state": "disabled"}, 400, "BadRequest"},
		{"patch policy bad migration state", "PATCH", "/v1.0/policies/authenticationMethodsPolicy", "tok", map[string]any{"policyMigrationState": "done"}, 400, "BadRequest"},
		{"invalid json", "POST", "/v1.0/groups", "tok", "{", 400, "BadRequest"},
		{"group without nickname", "POST", "/v1.0/groups", "tok", map[string]any{"displayName": "x", "mailEnabled": false, "securityEnabled": true}, 400, codeBadRequest},
		{"write to on-prem sync", "PATCH", "/v1.0/directory/onPremisesSynchronization", "tok", map[string]any{}, 405, codeMethodNotAllowed},
		{"unknown segment", "GET", "/v1.0/nothing", "tok", nil, 400, "BadRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token
			if tok == "tok" {
				tok = s.tok
			}
			r := s.do(tc.method, tc.path, tok, tc.body, "client-request-id", "11111111-2222-3333-4444-555555555555")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if code := r.errCode(t); code != tc.code {
				t.Errorf("code %q, want %q", code, tc.code)
			}
			if !strings.Contains(string(r.body), "11111111-2222-3333-4444-555555555555") {
				t.Errorf("client-request-id not echoed in body: %s", r.body)
			}
		})
	}
	t.Run("404 message names the id", func(t *testing.T) {
		r := s.get("/v1.0/users/ghost@contoso.onmicrosoft.com")
		want := "Resource 'ghost@contoso.onmicrosoft.com' does not exist or one of its queried reference-property objects are not present."
		if got := r.json(t)["error"].(map[string]any)["message"]; got != want {
			t.Errorf("message %q", got)
		}
	})
}

func TestPermissions(t *testing.T) {
	s := newSim(t, Options{Users: 10})
	gid := s.createGroup("Perm Group")
	cfg := "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Email"
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		roles  []string // granted; the call must still be denied
		allow  []string // granted; the call must succeed
	}{
		{"read policy", "GET", "/v1.0/policies/authenticationMethodsPolicy", nil, []string{RoleUserReadAll}, []string{RolePolicyReadAuthMethod}},
		{"write policy", "PATCH", "/v1.0/policies/authenticationMethodsPolicy", map[string]any{"policyMigrationState": "migrationInProgress"}, []string{RolePolicyReadAuthMethod}, []string{RolePolicyReadWriteAuthMethod}},
		{"write config", "PATCH", cfg, map[string]any{"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "state": "enabled"}, []string{RolePolicyReadAuthMethod, RolePolicyReadAll}, []string{RolePolicyReadWriteAuthMethod}},
		{"reports", "GET", "/v1.0/reports/authenticationMethods/userRegistrationDetails", nil, []string{RoleUserReadAll, RoleDirectoryReadAll}, []string{RoleAuditLogReadAll}},
		{"feature summary", "GET", "/v1.0/reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes='all',includedUserRoles='all')", nil, nil, []string{RoleAuditLogReadAll}},
		{"on-prem sync", "GET", "/v1.0/directory/onPremisesSynchronization", nil, []string{RoleDirectoryReadAll}, []string{RoleOnPremSyncReadAll}},
		{"create group", "POST", "/v1.0/groups", map[string]any{"displayName": "G", "mailNickname": "g", "mailEnabled": false, "securityEnabled": true}, []string{RoleGroupReadAll, RoleGroupMemberReadWriteAll}, []string{RoleGroupCreate}},
		{"read users", "GET", "/v1.0/users", nil, []string{RoleGroupReadAll}, []string{RoleUserReadAll}},
		{"list groups", "GET", "/v1.0/groups", nil, []string{RoleUserReadAll}, []string{RoleGroupReadAll}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			denied := s.do(tc.method, tc.path, s.srv.IssueToken("", tc.roles, false), tc.body)
			if denied.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %s", denied.status, denied.body)
			}
			if code := denied.errCode(t); code != codeDenied {
				t.Errorf("code %q", code)
			}
			if msg := denied.json(t)["error"].(map[string]any)["message"]; msg != msgDenied {
				t.Errorf("message %q", msg)
			}
			ok := s.do(tc.method, tc.path, s.srv.IssueToken("", tc.allow, false), tc.body)
			if ok.status >= 300 {
				t.Errorf("with %v: status %d: %s", tc.allow, ok.status, ok.body)
			}
		})
	}
	t.Run("add member needs GroupMember.ReadWrite.All", func(t *testing.T) {
		uid := s.userID("bob@contoso.onmicrosoft.com")
		body := map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + uid}
		r := s.do("POST", "/v1.0/groups/"+gid+"/members/$ref", s.srv.IssueToken("", []string{RoleGroupReadAll}, false), body)
		if r.status != 403 {
			t.Fatalf("status %d", r.status)
		}
		r = s.do("POST", "/v1.0/groups/"+gid+"/members/$ref", s.srv.IssueToken("", []string{RoleGroupMemberReadWriteAll}, false), body)
		if r.status != 204 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("delegated token uses scp", func(t *testing.T) {
		r := s.do("GET", "/v1.0/users", s.srv.IssueToken("", []string{RoleUserReadAll}, true), nil)
		s.mustStatus(r, 200)
		r = s.do("GET", "/v1.0/users", s.srv.IssueToken("", []string{RoleGroupReadAll}, true), nil)
		s.mustStatus(r, 403)
	})
	t.Run("fixed token option", func(t *testing.T) {
		s2 := newSim(t, Options{Users: 1, Token: "fixed-secret", Roles: []string{RoleUserReadAll}})
		if s2.srv.Token() != "fixed-secret" {
			t.Fatal("Token() does not return the fixed token")
		}
		s2.mustStatus(s2.get("/v1.0/users"), 200)
		s2.mustStatus(s2.get("/v1.0/groups"), 403)
	})
}

func TestGroups(t *testing.T) {
	s := newSim(t, Options{Users: 100})
	gid := s.createGroup("SSPR Pilot")
	g := s.mustStatus(s.get("/v1.0/groups/"+gid), 200).json(t)
	if g["displayName"] != "SSPR Pilot" || g["securityEnabled"] != true || g["mailEnabled"] != false {
		t.Fatalf("group %v", g)
	}

	t.Run("find by displayName", func(t *testing.T) {
		s.createGroup("Other")
		m := s.mustStatus(s.get("/v1.0/groups?$filter=displayName%20eq%20'SSPR%20Pilot'"), 200).json(t)
		v := m["value"].([]any)
		if len(v) != 1 || v[0].(map[string]any)["id"] != gid {
			t.Fatalf("filter result %v", v)
		}
		m = s.mustStatus(s.get("/v1.0/groups?$filter=displayName%20eq%20'nope'"), 200).json(t)
		if len(m["value"].([]any)) != 0 {
			t.Fatalf("want empty, got %v", m["value"])
		}
	})

	alice := s.userID("alice@contoso.onmicrosoft.com")
	t.Run("add member and duplicate", func(t *testing.T) {
		s.mustStatus(s.addMember(gid, alice), 204)
		r := s.addMember(gid, alice)
		if r.status != 400 || r.errCode(t) != codeBadRequest {
			t.Fatalf("duplicate: %d %s", r.status, r.body)
		}
		if msg := r.json(t)["error"].(map[string]any)["message"]; msg != msgAlreadyMember {
			t.Errorf("message %q", msg)
		}
		r = s.addMember(gid, "00000000-0000-4000-8000-000000000000")
		if r.status != 404 {
			t.Errorf("unknown user: %d", r.status)
		}
	})

	t.Run("bulk bind", func(t *testing.T) {
		users := s.get("/v1.0/users?$top=30&$select=id").json(t)["value"].([]any)
		var binds []string
		for _, u := range users {
			id := u.(map[string]any)["id"].(string)
			if id != alice {
				binds = append(binds, "https://graph.microsoft.com/v1.0/directoryObjects/"+id)
			}
		}
		r := s.do("PATCH", "/v1.0/groups/"+gid, s.tok, map[string]any{"members@odata.bind": binds[:21]})
		if r.status != 400 || r.errCode(t) != codeBadRequest {
			t.Fatalf("21 binds: %d %s", r.status, r.body)
		}
		s.mustStatus(s.do("PATCH", "/v1.0/groups/"+gid, s.tok, map[string]any{"members@odata.bind": binds[:20]}), 204)
		r = s.do("PATCH", "/v1.0/groups/"+gid, s.tok, map[string]any{"members@odata.bind": binds[:1]})
		if r.status != 400 {
			t.Fatalf("rebind: %d", r.status)
		}
	})

	t.Run("members paged with select", func(t *testing.T) {
		var ids []string
		next := "/v1.0/groups/" + gid + "/members?$top=7&$select=id,userPrincipalName"
		for next != "" {
			m := s.mustStatus(s.get(next), 200).json(t)
			for _, v := range m["value"].([]any) {
				o := v.(map[string]any)
				if o["@odata.type"] != "#microsoft.graph.user" || o["displayName"] != nil {
					t.Fatalf("member shape %v", o)
				}
				ids = append(ids, o["id"].(string))
			}
			next, _ = m["@odata.nextLink"].(string)
		}
		if len(ids) != 21 {
			t.Fatalf("%d members, want 21", len(ids))
		}
	})

	t.Run("remove member", func(t *testing.T) {
		s.mustStatus(s.do("DELETE", "/v1.0/groups/"+gid+"/members/"+alice+"/$ref", s.tok, nil), 204)
		r := s.do("DELETE", "/v1.0/groups/"+gid+"/members/"+alice+"/$ref", s.tok, nil)
		if r.status != 404 {
			t.Fatalf("second remove: %d", r.status)
		}
	})

	t.Run("delete group", func(t *testing.T) {
		s.mustStatus(s.do("DELETE", "/v1.0/groups/"+gid, s.tok, nil), 204)
		s.mustStatus(s.get("/v1.0/groups/"+gid), 404)
	})
}

func TestUsers(t *testing.T) {
	s := newSim(t, Options{Users: 300, Seed: 7})
	tests := []struct {
		filter string
		want   int
	}{
		{"userPrincipalName eq 'bob@contoso.onmicrosoft.com'", 1},
		{"userPrincipalName eq 'BOB@contoso.onmicrosoft.com'", 1},
		{"userPrincipalName eq 'ghost@contoso.onmicrosoft.com'", 0},
		{"startsWith(userPrincipalName,'user00')", 99},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			var n int
			next := "/v1.0/users?$top=50&$filter=" + urlEncode(tc.filter)
			for next != "" {
				m := s.mustStatus(s.get(next), 200).json(t)
				n += len(m["value"].([]any))
				next, _ = m["@odata.nextLink"].(string)
			}
			if n != tc.want {
				t.Errorf("%d users, want %d", n, tc.want)
			}
		})
	}
	t.Run("population", func(t *testing.T) {
		var guests, disabled, named int
		next := "/v1.0/users?$top=999&$select=id,userPrincipalName,userType,accountEnabled"
		for next != "" {
			m := s.get(next).json(t)
			for _, v := range m["value"].([]any) {
				u := v.(map[string]any)
				upn := u["userPrincipalName"].(string)
				if u["userType"] == "Guest" {
					guests++
					if !strings.Contains(upn, "#EXT#") {
						t.Errorf("guest UPN %s", upn)
					}
				}
				if u["accountEnabled"] == false {
					disabled++
				}
				for _, n := range namedUsers {
					if upn == n+"@contoso.onmicrosoft.com" {
						named++
					}
				}
				if !isGUID(u["id"].(string)) {
					t.Errorf("id %v", u["id"])
				}
			}
			next, _ = m["@odata.nextLink"].(string)
		}
		if guests == 0 || disabled == 0 || named != 8 {
			t.Errorf("guests %d disabled %d named %d", guests, disabled, named)
		}
	})
	t.Run("deterministic from seed", func(t *testing.T) {
		a := newSim(t, Options{Users: 10, Seed: 42}).userID("user0003@contoso.onmicrosoft.com")
		b := newSim(t, Options{Users: 10, Seed: 42}).userID("user0003@contoso.onmicrosoft.com")
		c := newSim(t, Options{Users: 10, Seed: 43}).userID("user0003@contoso.onmicrosoft.com")
		if a != b || a == c {
			t.Errorf("ids %s %s %s", a, b, c)
		}
	})
}

func urlEncode(s string) string {
	return strings.NewReplacer(" ", "%20", "'", "%27", "#", "%23", "(", "%28", ")", "%29", ",", "%2C").Replace(s)
}

func TestMethodConfigurations(t *testing.T) {
	s := newSim(t, Options{Users: 5})
	path := "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/"
	gid := s.createGroup("SSPR Voice")
	s.mustStatus(s.do("PATCH", path+"voice", s.tok, map[string]any{
		"@odata.type":          "#microsoft.graph.voiceAuthenticationMethodConfiguration",
		"state":                "enabled",
		"isOfficePhoneAllowed": true,
		"includeTargets":       []any{map[string]any{"id": gid, "targetType": "group"}},
	}), 204)
	c := s.mustStatus(s.get(path+"VOICE"), 200).json(t)
	if c["id"] != "Voice" || c["state"] != "enabled" || c["isOfficePhoneAllowed"] != true {
		t.Fatalf("after patch %v", c)
	}
	tg := c["includeTargets"].([]any)[0].(map[string]any)
	if tg["id"] != gid || tg["isRegistrationRequired"] != false {
		t.Errorf("target %v", tg)
	}
	r := s.do("PATCH", path+"Voice", s.tok, map[string]any{
		"@odata.type": "#microsoft.graph.voiceAuthenticationMethodConfiguration", "includeTargets": []any{map[string]any{"id": "00000000-0000-4000-8000-000000000001"}},
	})
	if r.status != 400 {
		t.Errorf("unknown target group: %d", r.status)
	}
	s.mustStatus(s.do("DELETE", path+"Voice", s.tok, nil), 204)
	c = s.get(path + "Voice").json(t)
	if c["state"] != "disabled" || c["isOfficePhoneAllowed"] != false {
		t.Errorf("after delete %v", c)
	}
	t.Run("policy patch answers 200 with the object", func(t *testing.T) {
		r := s.mustStatus(s.do("PATCH", "/v1.0/policies/authenticationMethodsPolicy", s.tok, map[string]any{"policyMigrationState": "migrationComplete"}), 200)
		m := r.json(t)
		if m["policyMigrationState"] != "migrationComplete" || m["authenticationMethodConfigurations"] == nil {
			t.Errorf("patch response %v", m)
		}
	})
}

func TestPortalAPI(t *testing.T) {
	s := newSim(t, Options{Users: 10})
	const prp = "/api/PasswordReset/PasswordResetPolicies"
	t.Run("application token refused", func(t *testing.T) {
		r := s.do("GET", prp, s.tok, nil, "X-Requested-With", "XMLHttpRequest")
		if r.status != 401 && r.status != 403 {
			t.Fatalf("status %d", r.status)
		}
		r.errCode(t)
	})
	t.Run("header needed and request id echoed", func(t *testing.T) {
		r := s.do("GET", prp, s.srv.PortalToken(), nil)
		if r.status != 400 {
			t.Fatalf("without X-Requested-With: %d", r.status)
		}
		r = s.do("GET", prp, s.srv.PortalToken(), nil, "X-Requested-With", "XMLHttpRequest", "x-ms-client-request-id", "abc-123")
		s.mustStatus(r, 200)
		if r.header.Get("x-ms-client-request-id") != "abc-123" {
			t.Errorf("x-ms-client-request-id not echoed: %v", r.header)
		}
	})
	orig := s.mustStatus(s.portal("GET", prp, nil), 200).json(t)
	for _, k := range []string{"objectId", "enablementType", "passwordResetEnabledGroupIds", "numberOfAuthenticationMethodsRequired", "registrationReconfirmIntevalInDays", "notifyUsersOnPasswordReset", "customHelpdeskEmailOrUrl", "mobileAppNotificationEnabled"} {
		if _, ok := orig[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	gid := s.createGroup("SSPR Users")
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range orig {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"enablement 3", with("enablementType", 3), 400},
		{"selected without group", with("enablementType", 1, "passwordResetEnabledGroupIds", []string{}), 400},
		{"selected with missing group", with("enablementType", 1, "passwordResetEnabledGroupIds", []string{"00000000-0000-4000-8000-000000000009"}), 404},
		{"selected with two groups", with("enablementType", 1, "passwordResetEnabledGroupIds", []string{gid, gid}), 400},
		{"methods 3", with("numberOfAuthenticationMethodsRequired", 3), 400},
		{"notification with one method", with("mobileAppNotificationEnabled", true), 400},
		{"reconfirm 731", with("registrationReconfirmIntevalInDays", 731), 400},
		{"unknown field", with("bogus", true), 400},
		{"notification with two methods", with("numberOfAuthenticationMethodsRequired", 2, "mobileAppNotificationEnabled", true), 200},
		{"selected group", with("enablementType", 1, "passwordResetEnabledGroupIds", []string{gid}), 200},
		{"reconfirm 0", with("registrationReconfirmIntevalInDays", 0), 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.portal("PUT", prp, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.status >= 400 {
				r.errCode(t)
			}
		})
	}
	t.Run("group name filled in", func(t *testing.T) {
		s.mustStatus(s.portal("PUT", prp, with("enablementType", 1, "passwordResetEnabledGroupIds", []string{gid})), 200)
		m := s.portal("GET", prp, nil).json(t)
		if m["passwordResetEnabledGroupName"] != "SSPR Users" {
			t.Errorf("group name %v", m["passwordResetEnabledGroupName"])
		}
	})
	t.Run("on-premises policies", func(t *testing.T) {
		const op = "/api/PasswordReset/OnPremisesPasswordResetPolicies"
		m := s.mustStatus(s.portal("GET", op, nil), 200).json(t)
		if m["enablementForTenant"] != false || m["passwordWritebackSupported"] != true {
			t.Fatalf("%v", m)
		}
		m["accountUnlockEnabled"] = true
		if r := s.portal("PUT", op, m); r.status != 400 {
			t.Errorf("unlock without writeback: %d", r.status)
		}
		m["accountUnlockEnabled"] = false
		m["enablementForTenant"] = true
		s.mustStatus(s.portal("PUT", op, m), 200)
		m["accountUnlockEnabled"] = true
		s.mustStatus(s.portal("PUT", op, m), 200)
		if got := s.portal("GET", op, nil).json(t); got["accountUnlockEnabled"] != true || got["enablementForTenant"] != true {
			t.Errorf("after puts %v", got)
		}
	})
}
