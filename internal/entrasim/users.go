package entrasim

import (
	"net/http"
	"strconv"
	"strings"
)

// Users: GET /users and /users/{id or UPN}, read-only.

func userObject(u *user, domain string, full bool) map[string]any {
	given, sur, _ := strings.Cut(u.displayName, " ")
	o := map[string]any{
		"businessPhones":    []string{},
		"displayName":       u.displayName,
		"givenName":         given,
		"jobTitle":          nil,
		"mail":              nil,
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
		"surname":           sur,
		"userPrincipalName": u.upn,
		"id":                u.id,
	}
	if !u.guest {
		o["mail"] = u.upn
	}
	if j := u.jobTitle(); j != "" {
		o["jobTitle"] = j
	}
	if full {
		o["accountEnabled"] = !u.disabled
		o["userType"] = map[bool]string{true: "Guest", false: "Member"}[u.guest]
		o["mailNickname"], _, _ = strings.Cut(u.upn, "@")
		o["onPremisesSyncEnabled"] = nil
		o["createdDateTime"] = "2024-01-01T00:00:00Z"
		o["department"], o["country"], o["usageLocation"] = nil, nil, nil
		if d := u.department(); d != "" {
			o["department"] = d
		}
		if c := u.countryOf(); c != nil {
			o["country"], o["usageLocation"] = c.name, c.code
		}
	}
	return o
}

var userFields = map[string]field[*user]{
	"userprincipalname": {kind: kindString, s: func(u *user) string { return u.upn }, ops: []string{"eq", "ne", "startsWith", "in"}},
	"displayname":       {kind: kindString, s: func(u *user) string { return u.displayName }, ops: []string{"eq", "ne", "startsWith", "in"}},
	"id":                {kind: kindString, s: func(u *user) string { return u.id }, ops: []string{"eq", "ne", "in"}},
	"mail":              {kind: kindString, s: func(u *user) string { return u.upn }, ops: []string{"eq", "startsWith"}},
	// Organisation properties, with the operators v1.0 documents for them
	// without advanced query parameters.
	"department":     {kind: kindString, s: (*user).department, ops: []string{"eq", "in"}},
	"jobtitle":       {kind: kindString, s: (*user).jobTitle, ops: []string{"eq", "in", "startsWith"}},
	"country":        {kind: kindString, s: func(u *user) string { return countryField(u, false) }, ops: []string{"eq", "in", "startsWith"}},
	"usagelocation":  {kind: kindString, s: func(u *user) string { return countryField(u, true) }, ops: []string{"eq"}},
	"accountenabled": {kind: kindBool, b: func(u *user) bool { return !u.disabled }, ops: []string{"eq", "ne"}},
	"usertype": {kind: kindString, s: func(u *user) string {
		if u.guest {
			return "Guest"
		}
		return "Member"
	}, ops: []string{"eq", "ne", "in"}},
}

func (s *Server) serveUsers(w http.ResponseWriter, r *http.Request, t *tenant, c claims, rest []string) {
	if !readable(w, r, c, false, permUserRead...) {
		return
	}
	if len(rest) > 1 {
		notFoundSegment(w, r)
		return
	}
	if len(rest) == 1 && rest[0] == "$count" {
		t.mu.Lock()
		n := len(t.users)
		t.mu.Unlock()
		serveCount(w, r, n)
		return
	}
	if len(rest) == 1 {
		s.getUser(w, r, t, rest[0])
		return
	}
	p, match, ok := listQuery(w, r, userFields, "users")
	if !ok || !orderAndSearch(w, r, p, []string{"displayname", "userprincipalname"}, []string{"displayname", "userprincipalname", "mail", "givenname", "surname"}) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	order := ordering(p, len(t.users), func(i int) string {
		if p.orderBy == "userprincipalname" {
			return t.users[i].upn
		}
		return t.users[i].displayName
	})
	writeSelected(w, r, metadata+"users", len(t.users), p, func(i int) (map[string]any, bool) {
		if order != nil {
			i = order[i]
		}
		u := &t.users[i]
		if !match(u) {
			return nil, false
		}
		if len(p.search) > 0 {
			first, last, _ := strings.Cut(u.displayName, " ")
			props := map[string]string{"displayname": u.displayName, "userprincipalname": u.upn, "mail": u.upn, "givenname": first, "surname": last}
			if hit, _ := searchMatch(p.search, func(n string) (string, bool) { v, ok := props[n]; return v, ok }); !hit {
				return nil, false
			}
		}
		return userObject(u, t.domain, len(p.sel) > 0), true
	})
}

// getUser answers GET /users/{id or UPN}.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request, t *tenant, idOrUPN string) {
	p, ok := paging(w, r)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.findUser(idOrUPN)
	if !ok {
		writeError(w, r, http.StatusNotFound, codeNotFound, msgNotFound(idOrUPN))
		return
	}
	writeEntity(w, r, userObject(&t.users[i], t.domain, len(p.sel) > 0), p.sel, metadata+"users/$entity")
}

func countryField(u *user, code bool) string {
	c := u.countryOf()
	switch {
	case c == nil:
		return ""
	case code:
		return c.code
	}
	return c.name
}

// serveCount answers /users/$count and /groups/$count: advanced queries,
// which Graph refuses without ConsistencyLevel: eventual.
func serveCount(w http.ResponseWriter, r *http.Request, n int) {
	if !strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") {
		writeError(w, r, http.StatusBadRequest, codeUnsupportedQuery, "Count is not currently supported. Add the ConsistencyLevel: eventual header.")
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(strconv.Itoa(n)))
}
