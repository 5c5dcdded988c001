package entrasim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// registrationDetails is one userRegistrationDetails row, in Graph's field
// order (see testdata/userregistrationdetails-list.json).
type registrationDetails struct {
	ID                                            string   `json:"id"`
	UserPrincipalName                             string   `json:"userPrincipalName"`
	UserDisplayName                               string   `json:"userDisplayName"`
	IsAdmin                                       bool     `json:"isAdmin"`
	IsSsprRegistered                              bool     `json:"isSsprRegistered"`
	IsSsprEnabled                                 bool     `json:"isSsprEnabled"`
	IsSsprCapable                                 bool     `json:"isSsprCapable"`
	IsMfaRegistered                               bool     `json:"isMfaRegistered"`
	IsMfaCapable                                  bool     `json:"isMfaCapable"`
	IsPasswordlessCapable                         bool     `json:"isPasswordlessCapable"`
	LastUpdatedDateTime                           string   `json:"lastUpdatedDateTime"`
	MethodsRegistered                             []string `json:"methodsRegistered"`
	IsSystemPreferredAuthenticationMethodEnabled  bool     `json:"isSystemPreferredAuthenticationMethodEnabled"`
	SystemPreferredAuthenticationMethods          []string `json:"systemPreferredAuthenticationMethods"`
	UserPreferredMethodForSecondaryAuthentication string   `json:"userPreferredMethodForSecondaryAuthentication"`
	UserType                                      string   `json:"userType"`
}

var pushOnly = []string{"push"}

// regRow is a user with its state at the request's moment, for filtering.
type regRow struct {
	u  *user
	st regState
}

func (x regRow) mfaRegistered() bool {
	for _, m := range x.st.methods {
		switch m {
		case "microsoftAuthenticatorPush", "softwareOneTimePasscode", "mobilePhone", "officePhone":
			return true
		}
	}
	return false
}

func (x regRow) userType() string {
	if x.u.guest {
		return "guest"
	}
	return "member"
}

// details is the row as Graph returns it.
func (x regRow) details() registrationDetails {
	d := x.untimed()
	d.LastUpdatedDateTime = nowString(time.Unix(0, x.st.updated))
	return d
}

// untimed is details without lastUpdatedDateTime, which appendJSON formats
// in place.
func (x regRow) untimed() registrationDetails {
	mfa := x.mfaRegistered()
	d := registrationDetails{
		ID:                x.u.id,
		UserPrincipalName: x.u.upn,
		UserDisplayName:   x.u.displayName,
		IsAdmin:           x.u.admin,
		IsSsprRegistered:  x.st.registered,
		IsSsprEnabled:     x.st.enabled,
		IsSsprCapable:     x.st.enabled && x.st.registered,
		IsMfaRegistered:   mfa,
		IsMfaCapable:      mfa && !x.u.disabled,
		MethodsRegistered: x.st.methods,
		IsSystemPreferredAuthenticationMethodEnabled: true,
		SystemPreferredAuthenticationMethods:         noMethods,
		UserType:                                     x.userType(),
	}
	if mfa {
		d.SystemPreferredAuthenticationMethods = pushOnly
		d.UserPreferredMethodForSecondaryAuthentication = "push"
	}
	return d
}

func boolField(f func(regRow) bool) field[regRow] {
	return field[regRow]{kind: kindBool, b: f, ops: []string{"eq", "ne"}}
}

// registrationFields are the filterable properties of userRegistrationDetails.
var registrationFields = map[string]field[regRow]{
	"isadmin":               boolField(func(x regRow) bool { return x.u.admin }),
	"isssprregistered":      boolField(func(x regRow) bool { return x.st.registered }),
	"isssprenabled":         boolField(func(x regRow) bool { return x.st.enabled }),
	"isssprcapable":         boolField(func(x regRow) bool { return x.st.enabled && x.st.registered }),
	"ismfaregistered":       boolField(func(x regRow) bool { return x.mfaRegistered() }),
	"ismfacapable":          boolField(func(x regRow) bool { return x.mfaRegistered() && !x.u.disabled }),
	"ispasswordlesscapable": boolField(func(regRow) bool { return false }),
	"usertype":              {kind: kindString, s: func(x regRow) string { return x.userType() }, ops: []string{"eq", "ne"}},
	"userprincipalname":     {kind: kindString, s: func(x regRow) string { return x.u.upn }, ops: []string{"eq", "startsWith"}},
	"userdisplayname":       {kind: kindString, s: func(x regRow) string { return x.u.displayName }, ops: []string{"eq", "startsWith"}},
	"id":                    {kind: kindString, s: func(x regRow) string { return x.u.id }, ops: []string{"eq", "in"}},
	"methodsregistered":     {kind: kindStrings, ss: func(x regRow) []string { return x.st.methods }, ops: []string{"any"}},
}

func (s *Server) serveReports(w http.ResponseWriter, r *http.Request, t *tenant, c claims, rest []string) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r)
		return
	}
	name := strings.TrimPrefix(strings.ToLower(rest[0]), "microsoft.graph.")
	switch {
	case name == "userregistrationdetails" && len(rest) <= 2:
	case strings.HasPrefix(name, "usersregisteredbyfeature") && len(rest) == 1:
	default:
		notFoundSegment(w, r)
		return
	}
	if !require(w, r, c, permReports...) {
		return
	}
	if t.noPremium {
		writeError(w, r, http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license")
		return
	}
	now := s.Now().UnixNano()
	if strings.HasPrefix(name, "usersregisteredbyfeature") {
		s.featureSummary(w, r, t, rest[0], now)
		return
	}
	if len(rest) == 2 {
		t.mu.Lock()
		defer t.mu.Unlock()
		i, ok := t.userOr404(w, r, rest[1])
		if !ok {
			return
		}
		u := &t.users[i]
		d := regRow{u: u, st: t.regState(u, now)}.details()
		writeJSON(w, http.StatusOK, struct {
			Context string `json:"@odata.context"`
			registrationDetails
		}{metadata + "reports/authenticationMethods/userRegistrationDetails/$entity", d})
		return
	}
	fields := registrationFields
	if s.opts.Strict {
		// Documented: $filter on the is* flags, userType, methodsRegistered,
		// startsWith on the UPN and display name; not on id, and no $top.
		if queryOption(r.URL.Query(), "top") != "" {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Query option '$top' is not allowed for resource 'userRegistrationDetails'.")
			return
		}
		fields = strictRegistrationFields
	}
	p, match, ok := listQuery(w, r, fields, "userRegistrationDetails")
	if !ok {
		return
	}
	if err := checkSelect(p.sel, registrationDetails{}); err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	writePage(w, r, metadata+"reports/authenticationMethods/userRegistrationDetails", len(t.users), p, func(i int) (any, bool) {
		u := &t.users[i]
		row := regRow{u: u, st: t.regState(u, now)}
		if !match(row) {
			return nil, false
		}
		if len(p.sel) > 0 {
			return selectStruct(row.details(), p.sel), true
		}
		return row, true
	})
}

// featureSummary answers usersRegisteredByFeature(includedUserTypes=...,includedUserRoles=...).
func (s *Server) featureSummary(w http.ResponseWriter, r *http.Request, t *tenant, seg string, now int64) {
	types, roles := "all", "all"
	if open := strings.IndexByte(seg, '('); open >= 0 {
		args := strings.TrimSuffix(seg[open+1:], ")")
		for _, a := range strings.Split(args, ",") {
			if strings.TrimSpace(a) == "" {
				continue // usersRegisteredByFeature(): defaults
			}
			k, v, ok := strings.Cut(strings.TrimSpace(a), "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, "'")
			switch strings.ToLower(k) {
			case "includedusertypes":
				types = v
			case "includeduserroles":
				roles = v
			default:
				writeError(w, r, http.StatusBadRequest, codeBadRequest, "Unknown parameter '"+k+"'.")
				return
			}
		}
	}
	switch types {
	case "all", "member", "guest":
	default:
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid value for includedUserTypes: '"+types+"'.")
		return
	}
	switch roles {
	case "all", "privilegedAdmin", "admin", "user":
	default:
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid value for includedUserRoles: '"+roles+"'.")
		return
	}
	var total, reg, en, capable, mfaCap int
	t.mu.Lock()
	for i := range t.users {
		u := &t.users[i]
		if (types == "member" && u.guest) || (types == "guest" && !u.guest) {
			continue
		}
		if ((roles == "admin" || roles == "privilegedAdmin") && !u.admin) || (roles == "user" && u.admin) {
			continue
		}
		x := regRow{u: u, st: t.regState(u, now)}
		total++
		if x.st.registered {
			reg++
		}
		if x.st.enabled {
			en++
			if x.st.registered {
				capable++
			}
		}
		if x.mfaRegistered() {
			if !u.disabled {
				mfaCap++
			}
		}
	}
	t.mu.Unlock()
	counts := []map[string]any{
		{"feature": "ssprRegistered", "userCount": reg},
		{"feature": "ssprEnabled", "userCount": en},
		{"feature": "ssprCapable", "userCount": capable},
		{"feature": "passwordlessCapable", "userCount": 0},
		{"feature": "mfaCapable", "userCount": mfaCap},
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context":                metadata + "microsoft.graph.userRegistrationFeatureSummary",
		"@odata.type":                   "#microsoft.graph.userRegistrationFeatureSummary",
		"totalUserCount":                total,
		"userRegistrationFeatureCounts": counts,
		"userRoles":                     roles,
		"userTypes":                     types,
	})
}

// checkSelect validates $select against the JSON fields of v.
func checkSelect(sel []string, v any) error {
	if len(sel) == 0 {
		return nil
	}
	m, err := jsonObject(v)
	if err != nil {
		return err
	}
	for _, f := range sel {
		found := false
		for k := range m {
			if strings.EqualFold(k, f) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("Could not find a property named '%s' on the requested type.", f)
		}
	}
	return nil
}

// selectStruct renders v with only the $select-ed fields (already checked).
func selectStruct(v any, sel []string) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	out, _ := selectFields(m, sel)
	return out
}

// appendJSON encodes the row exactly as json.Marshal(x.details()) would,
// without reflection: full scans of large tenants spend most of their time
// here.
func (x regRow) appendJSON(b []byte) []byte {
	d := x.untimed()
	str := func(k, v string) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		b = appendJSONString(b, v)
		b = append(b, ',')
	}
	boolean := func(k string, v bool) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		b = strconv.AppendBool(b, v)
		b = append(b, ',')
	}
	list := func(k string, vs []string) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":[`...)
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, v)
		}
		b = append(b, "],"...)
	}
	b = append(b, '{')
	str("id", d.ID)
	str("userPrincipalName", d.UserPrincipalName)
	str("userDisplayName", d.UserDisplayName)
	boolean("isAdmin", d.IsAdmin)
	boolean("isSsprRegistered", d.IsSsprRegistered)
	boolean("isSsprEnabled", d.IsSsprEnabled)
	boolean("isSsprCapable", d.IsSsprCapable)
	boolean("isMfaRegistered", d.IsMfaRegistered)
	boolean("isMfaCapable", d.IsMfaCapable)
	boolean("isPasswordlessCapable", d.IsPasswordlessCapable)
	b = append(b, `"lastUpdatedDateTime":"`...)
	b = time.Unix(0, x.st.updated).UTC().AppendFormat(b, graphTimeLayout)
	b = append(b, `",`...)
	list("methodsRegistered", d.MethodsRegistered)
	boolean("isSystemPreferredAuthenticationMethodEnabled", d.IsSystemPreferredAuthenticationMethodEnabled)
	list("systemPreferredAuthenticationMethods", d.SystemPreferredAuthenticationMethods)
	str("userPreferredMethodForSecondaryAuthentication", d.UserPreferredMethodForSecondaryAuthentication)
	str("userType", d.UserType)
	b[len(b)-1] = '}'
	return b
}

// appendJSONString appends s as a JSON string; plain ASCII takes the fast
// path, anything else goes through encoding/json for identical escaping.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// strictRegistrationFields are the documented filter properties: no id.
var strictRegistrationFields = func() map[string]field[regRow] {
	m := maps.Clone(registrationFields)
	delete(m, "id")
	return m
}()
