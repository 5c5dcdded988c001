package entrasim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

const metadata = "https://graph.microsoft.com/v1.0/$metadata#"

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// require answers 403 unless the token grants one of perms.
func require(w http.ResponseWriter, r *http.Request, c claims, perms ...string) bool {
	if c.has(perms...) {
		return true
	}
	writeError(w, r, http.StatusForbidden, codeDenied, msgDenied)
	return false
}

var (
	permPolicyRead  = []string{RolePolicyReadAuthMethod, RolePolicyReadWriteAuthMethod, RolePolicyReadAll}
	permPolicyWrite = []string{RolePolicyReadWriteAuthMethod}
	permReports     = []string{RoleAuditLogReadAll}
	permOnPrem      = []string{RoleOnPremSyncReadAll, RoleOnPremSyncReadWriteAll}
	permGroupRead   = []string{RoleGroupReadAll, RoleGroupReadWriteAll, RoleGroupMemberReadAll, RoleGroupMemberReadWriteAll, RoleDirectoryReadAll, RoleDirectoryReadWriteAll}
	permGroupCreate = []string{RoleGroupCreate, RoleGroupReadWriteAll, RoleDirectoryReadWriteAll}
	permGroupWrite  = []string{RoleGroupReadWriteAll, RoleDirectoryReadWriteAll}
	permMemberWrite = []string{RoleGroupMemberReadWriteAll, RoleGroupReadWriteAll, RoleDirectoryReadWriteAll}
	permUserRead    = []string{RoleUserReadAll, RoleUserReadWriteAll, RoleDirectoryReadAll, RoleDirectoryReadWriteAll}
	permOrgRead     = []string{RoleOrganizationReadAll, RoleDirectoryReadAll, RoleDirectoryReadWriteAll}
)

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, t *tenant, c claims) {
	seg := segments(r.URL.Path, "/v1.0")
	if len(seg) == 0 {
		notFoundSegment(w, r)
		return
	}
	switch strings.ToLower(seg[0]) {
	case "policies":
		if len(seg) >= 2 && strings.EqualFold(seg[1], "authenticationMethodsPolicy") {
			s.serveMethodsPolicy(w, r, t, c, seg[2:])
			return
		}
	case "groups":
		s.serveGroups(w, r, t, c, seg[1:])
		return
	case "users":
		s.serveUsers(w, r, t, c, seg[1:])
		return
	case "reports":
		if len(seg) >= 3 && strings.EqualFold(seg[1], "authenticationMethods") {
			s.serveReports(w, r, t, c, seg[2:])
			return
		}
	case "directory":
		if (len(seg) == 2 || len(seg) == 3) && strings.EqualFold(seg[1], "onPremisesSynchronization") {
			s.serveOnPremSync(w, r, t, c, seg[2:])
			return
		}
	case "subscribedskus":
		if len(seg) == 1 {
			s.serveSkus(w, r, t, c)
			return
		}
	case "organization":
		if len(seg) == 1 {
			s.serveOrganization(w, r, t, c)
			return
		}
	}
	notFoundSegment(w, r)
}

// ---- authentication methods policy ----

func (s *Server) serveMethodsPolicy(w http.ResponseWriter, r *http.Request, t *tenant, c claims, rest []string) {
	if len(rest) == 0 {
		switch r.Method {
		case http.MethodGet:
			if !require(w, r, c, permPolicyRead...) {
				return
			}
			t.mu.Lock()
			o := t.methodsPolicy.object(true)
			b, err := json.Marshal(withContext(o, metadata+"authenticationMethodsPolicy"))
			t.mu.Unlock()
			writeRaw(w, http.StatusOK, b, err)
		case http.MethodPatch:
			if !require(w, r, c, permPolicyWrite...) {
				return
			}
			body, err := readJSONObject(r)
			if err != nil {
				writeError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
				return
			}
			t.mu.Lock()
			err = t.methodsPolicy.patch(body, s.Now())
			o := t.methodsPolicy.object(true)
			b, merr := json.Marshal(withContext(o, metadata+"authenticationMethodsPolicy"))
			t.mu.Unlock()
			if err != nil {
				writeError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
				return
			}
			writeRaw(w, http.StatusOK, b, merr)
		default:
			methodNotAllowed(w, r)
		}
		return
	}
	if !strings.EqualFold(rest[0], "authenticationMethodConfigurations") || len(rest) > 2 {
		notFoundSegment(w, r)
		return
	}
	if len(rest) == 1 {
		if r.Method != http.MethodGet {
			methodNotAllowed(w, r)
			return
		}
		if !require(w, r, c, permPolicyRead...) {
			return
		}
		t.mu.Lock()
		cfgs := t.methodsPolicy.object(false)["authenticationMethodConfigurations"]
		b, err := json.Marshal(map[string]any{
			"@odata.context": metadata + "policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
			"value":          cfgs,
		})
		t.mu.Unlock()
		writeRaw(w, http.StatusOK, b, err)
		return
	}
	id, ok := canonicalMethodID(rest[1])
	if !ok {
		writeError(w, r, http.StatusNotFound, codeNotFound, msgNotFound(rest[1]))
		return
	}
	switch r.Method {
	case http.MethodGet:
		if !require(w, r, c, permPolicyRead...) {
			return
		}
		t.mu.Lock()
		b, err := json.Marshal(withContext(t.methodsPolicy.configs[id], metadata+"policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity"))
		t.mu.Unlock()
		writeRaw(w, http.StatusOK, b, err)
	case http.MethodPatch:
		if !require(w, r, c, permPolicyWrite...) {
			return
		}
		body, err := readJSONObject(r)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		t.mu.Lock()
		err = t.methodsPolicy.patchConfig(id, body, func(g string) bool { _, ok := t.groups[strings.ToLower(g)]; return ok }, s.Now())
		t.mu.Unlock()
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		if !require(w, r, c, permPolicyWrite...) {
			return
		}
		t.mu.Lock()
		t.methodsPolicy.configs[id] = defaultMethodConfig(id)
		t.methodsPolicy.lastModified = s.Now()
		t.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, r)
	}
}

// withContext returns a shallow copy of o with @odata.context set.
func withContext(o map[string]any, ctx string) map[string]any {
	m := make(map[string]any, len(o)+1)
	for k, v := range o {
		m[k] = v
	}
	m["@odata.context"] = ctx
	return m
}

func writeRaw(w http.ResponseWriter, status int, b []byte, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", graphContentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ---- paging ----

// pageParams are the OData query options of a collection request.
type pageParams struct {
	top    int
	start  int
	filter string
	sel    []string
	count  bool // $count=true: add @odata.count
}

func queryOption(q url.Values, name string) string {
	if v := q.Get("$" + name); v != "" {
		return v
	}
	return q.Get(name)
}

func parsePaging(r *http.Request, defTop, maxTop int) (pageParams, error) {
	q := r.URL.Query()
	p := pageParams{top: defTop, filter: queryOption(q, "filter")}
	if v := queryOption(q, "top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, fmt.Errorf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, maxTop)
		}
		if n > maxTop {
			return p, fmt.Errorf("Invalid page size specified: '%d'. Must be between 1 and %d inclusive.", n, maxTop)
		}
		p.top = n
	}
	if v := queryOption(q, "skiptoken"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "entrasim:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(raw), "entrasim:") || n < 0 {
			return p, fmt.Errorf("Invalid $skiptoken value '%s'.", v)
		}
		p.start = n
	}
	for _, unsupported := range []string{"search", "orderby", "skip", "expand"} {
		if queryOption(q, unsupported) != "" {
			return p, fmt.Errorf("The query option '$%s' is not supported by the simulator.", unsupported)
		}
	}
	switch v := strings.ToLower(queryOption(q, "count")); v {
	case "", "false":
	case "true":
		// Directory objects count only as advanced queries, as in Graph.
		if !strings.Contains(r.URL.Path, "/reports/") && !strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") {
			return p, fmt.Errorf("$count is not currently supported without the header 'ConsistencyLevel: eventual'.")
		}
		p.count = true
	default:
		return p, fmt.Errorf("Invalid $count value '%s'.", v)
	}
	if v := queryOption(q, "select"); v != "" {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				p.sel = append(p.sel, f)
			}
		}
	}
	return p, nil
}

// nextLink is the absolute URL of the page starting at index next.
func nextLink(r *http.Request, next int) string {
	q := r.URL.Query()
	q.Del("$skiptoken")
	q.Del("skiptoken")
	q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("entrasim:"+strconv.Itoa(next))))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path + "?" + q.Encode()
}

// jsonAppender is implemented by hot-path items that encode themselves
// without reflection (userRegistrationDetails rows).
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// pageBuffers recycles page buffers: a 999-row page is about 400 KB.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writePage writes one page of a collection of n items. item(i) returns the
// i-th item when it matches the filter. Only the page is held in memory.
func writePage(w http.ResponseWriter, r *http.Request, ctx string, n int, p pageParams, item func(i int) (any, bool)) {
	buf := pageBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 8<<20 {
			pageBuffers.Put(buf)
		}
	}()
	buf.WriteString(`{"@odata.context":`)
	cb, _ := json.Marshal(ctx)
	buf.Write(cb)
	if p.count {
		total := 0
		for j := 0; j < n; j++ {
			if _, ok := item(j); ok {
				total++
			}
		}
		buf.WriteString(`,"@odata.count":`)
		buf.WriteString(strconv.Itoa(total))
	}
	buf.WriteString(`,"value":[`)
	count, i := 0, p.start
	var scratch []byte
	for ; i < n && count < p.top; i++ {
		v, ok := item(i)
		if !ok {
			continue
		}
		if count > 0 {
			buf.WriteByte(',')
		}
		if a, ok := v.(jsonAppender); ok {
			scratch = a.appendJSON(scratch[:0])
			buf.Write(scratch)
		} else {
			b, err := json.Marshal(v)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			buf.Write(b)
		}
		count++
	}
	buf.WriteByte(']')
	if i < n {
		buf.WriteString(`,"@odata.nextLink":`)
		lb, _ := json.Marshal(nextLink(r, i))
		buf.Write(lb)
	}
	buf.WriteByte('}')
	w.Header().Set("Content-Type", graphContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// selectFields keeps only the $select-ed properties of o (case-insensitive).
func selectFields(o map[string]any, sel []string) (map[string]any, error) {
	if len(sel) == 0 {
		return o, nil
	}
	out := make(map[string]any, len(sel))
	for _, f := range sel {
		found := false
		for k, v := range o {
			if strings.EqualFold(k, f) {
				out[k], found = v, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("Could not find a property named '%s' on the requested type.", f)
		}
	}
	if ot, ok := o["@odata.type"]; ok {
		out["@odata.type"] = ot
	}
	return out, nil
}

// ---- users ----

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
	if full {
		o["accountEnabled"] = !u.disabled
		o["userType"] = map[bool]string{true: "Guest", false: "Member"}[u.guest]
		o["mailNickname"], _, _ = strings.Cut(u.upn, "@")
		o["onPremisesSyncEnabled"] = nil
		o["createdDateTime"] = "2024-01-01T00:00:00Z"
	}
	return o
}

var userFields = map[string]field[*user]{
	"userprincipalname": {kind: kindString, s: func(u *user) string { return u.upn }, ops: []string{"eq", "ne", "startsWith", "in"}},
	"displayname":       {kind: kindString, s: func(u *user) string { return u.displayName }, ops: []string{"eq", "ne", "startsWith", "in"}},
	"id":                {kind: kindString, s: func(u *user) string { return u.id }, ops: []string{"eq", "ne", "in"}},
	"mail":              {kind: kindString, s: func(u *user) string { return u.upn }, ops: []string{"eq", "startsWith"}},
	"accountenabled":    {kind: kindBool, b: func(u *user) bool { return !u.disabled }, ops: []string{"eq", "ne"}},
	"usertype": {kind: kindString, s: func(u *user) string {
		if u.guest {
			return "Guest"
		}
		return "Member"
	}, ops: []string{"eq", "ne", "in"}},
}

func (s *Server) serveUsers(w http.ResponseWriter, r *http.Request, t *tenant, c claims, rest []string) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r)
		return
	}
	if !require(w, r, c, permUserRead...) {
		return
	}
	if len(rest) > 1 {
		notFoundSegment(w, r)
		return
	}
	if len(rest) == 1 {
		p, err := parsePaging(r, 100, 999)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		i, ok := t.findUser(rest[0])
		if !ok {
			writeError(w, r, http.StatusNotFound, codeNotFound, msgNotFound(rest[0]))
			return
		}
		o, err := selectFields(userObject(&t.users[i], t.domain, len(p.sel) > 0), p.sel)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, withContext(o, metadata+"users/$entity"))
		return
	}
	p, err := parsePaging(r, 100, 999)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	match, err := compileFilter(p.filter, userFields)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeUnsupportedQuery, "Unsupported or invalid query filter clause specified for resource 'users': "+err.Error())
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var selErr error
	writePageChecked(w, r, metadata+"users", len(t.users), p, func(i int) (any, bool) {
		u := &t.users[i]
		if !match(u) {
			return nil, false
		}
		o, err := selectFields(userObject(u, t.domain, len(p.sel) > 0), p.sel)
		if err != nil {
			selErr = err
			return nil, false
		}
		return o, true
	}, &selErr)
}

// writePageChecked is writePage that validates $select on the first item
// before writing anything.
func writePageChecked(w http.ResponseWriter, r *http.Request, ctx string, n int, p pageParams, item func(int) (any, bool), selErr *error) {
	if n > 0 && len(p.sel) > 0 {
		item(0)
		if *selErr != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, (*selErr).Error())
			return
		}
	}
	writePage(w, r, ctx, n, p, item)
}

// ---- organization, licences, sync ----

func (s *Server) serveOrganization(w http.ResponseWriter, r *http.Request, t *tenant, c claims) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r)
		return
	}
	if !c.delegated() && !require(w, r, c, permOrgRead...) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": metadata + "organization",
		"value": []any{map[string]any{
			"id":                    t.id,
			"deletedDateTime":       nil,
			"displayName":           t.name,
			"tenantType":            "AAD",
			"countryLetterCode":     "US",
			"preferredLanguage":     "en",
			"onPremisesSyncEnabled": true,
			"createdDateTime":       "2020-01-01T00:00:00Z",
			"verifiedDomains": []any{map[string]any{
				"capabilities": "Email, OfficeCommunicationsOnline",
				"isDefault":    true,
				"isInitial":    true,
				"name":         t.domain,
				"type":         "Managed",
			}},
		}},
	})
}

// Well-known licence ids (public: Microsoft's product names and service plan
// identifiers list).
const (
	skuAADPremium      = "078d2b04-f1bd-4111-bbd4-b4b1b354cef4"
	planAADPremium     = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"
	skuEnterprisePack  = "6fd2c87f-b296-42f0-b197-1e91e994b900"
	planExchangeStd    = "efb87545-963c-4e0d-99df-69c6916d9eb0"
	planSharePointStd  = "5dbe027f-2339-4123-9542-606e4d348a72"
	licenceUnitsPrepay = 1000
)

func (s *Server) serveSkus(w http.ResponseWriter, r *http.Request, t *tenant, c claims) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r)
		return
	}
	if !c.delegated() && !require(w, r, c, permOrgRead...) {
		return
	}
	sku := func(skuID, part string, plans ...[2]string) map[string]any {
		sp := make([]any, 0, len(plans))
		for _, p := range plans {
			sp = append(sp, map[string]any{"servicePlanId": p[0], "servicePlanName": p[1], "provisioningStatus": "Success", "appliesTo": "User"})
		}
		return map[string]any{
			"accountName":      t.name,
			"accountId":        t.id,
			"appliesTo":        "User",
			"capabilityStatus": "Enabled",
			"consumedUnits":    min(len(t.users), licenceUnitsPrepay),
			"id":               t.id + "_" + skuID,
			"skuId":            skuID,
			"skuPartNumber":    part,
			"subscriptionIds":  []string{guidFrom(hashString(t.id), hashString(skuID))},
			"prepaidUnits":     map[string]any{"enabled": licenceUnitsPrepay, "suspended": 0, "warning": 0, "lockedOut": 0},
			"servicePlans":     sp,
		}
	}
	value := []any{sku(skuEnterprisePack, "ENTERPRISEPACK", [2]string{planExchangeStd, "EXCHANGE_S_ENTERPRISE"}, [2]string{planSharePointStd, "SHAREPOINTENTERPRISE"})}
	if !t.noPremium {
		value = append(value, sku(skuAADPremium, "AAD_PREMIUM", [2]string{planAADPremium, "AAD_PREMIUM"}))
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": metadata + "subscribedSkus", "value": value})
}

func (s *Server) serveOnPremSync(w http.ResponseWriter, r *http.Request, t *tenant, c claims, rest []string) {
	if r.Method != http.MethodGet {
		// Writeback can't be enabled through Graph: the resource is read-only here.
		methodNotAllowed(w, r)
		return
	}
	if !require(w, r, c, permOnPrem...) {
		return
	}
	if len(rest) == 1 && !strings.EqualFold(rest[0], t.id) {
		writeError(w, r, http.StatusNotFound, codeNotFound, msgNotFound(rest[0]))
		return
	}
	o := onPremSyncObject(t)
	if len(rest) == 1 {
		writeJSON(w, http.StatusOK, withContext(o, metadata+"directory/onPremisesSynchronization/$entity"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": metadata + "directory/onPremisesSynchronization",
		"value":          []any{o},
	})
}

func onPremSyncObject(t *tenant) map[string]any {
	return map[string]any{
		"id": t.id,
		"configuration": map[string]any{
			"synchronizationInterval":                  "PT30M",
			"customerRequestedSynchronizationInterval": nil,
			"accidentalDeletionPrevention":             map[string]any{"synchronizationPreventionType": "enabledForCount", "alertThreshold": 500},
		},
		"features": map[string]any{
			"blockCloudObjectTakeoverThroughHardMatchEnabled":  false,
			"blockSoftMatchEnabled":                            false,
			"bypassDirSyncOverridesEnabled":                    false,
			"cloudPasswordPolicyForPasswordSyncedUsersEnabled": false,
			"concurrentCredentialUpdateEnabled":                false,
			"concurrentOrgIdProvisioningEnabled":               true,
			"deviceWritebackEnabled":                           false,
			"directoryExtensionsEnabled":                       false,
			"fopeConflictResolutionEnabled":                    false,
			"groupWriteBackEnabled":                            false,
			"passwordSyncEnabled":                              true,
			"passwordWritebackEnabled":                         false,
			"quarantineUponProxyAddressesConflictEnabled":      true,
			"quarantineUponUpnConflictEnabled":                 true,
			"softMatchOnUpnEnabled":                            true,
			"synchronizeUpnForManagedUsersEnabled":             true,
			"unifiedGroupWritebackEnabled":                     false,
			"userForcePasswordChangeOnLogonEnabled":            false,
			"userWritebackEnabled":                             false,
		},
	}
}

// nowString formats a time the way Graph does.
func nowString(t time.Time) string { return t.UTC().Format(graphTimeLayout) }

// graphTimeLayout is Graph's seven-digit fractional UTC timestamp.
const graphTimeLayout = "2006-01-02T15:04:05.0000000Z"
