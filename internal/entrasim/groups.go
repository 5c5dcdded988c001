package entrasim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxBindPerRequest is Graph's limit on members@odata.bind per request.
const maxBindPerRequest = 20

func groupObject(g *group) map[string]any {
	o := map[string]any{
		"id":                            g.id,
		"deletedDateTime":               nil,
		"classification":                nil,
		"createdDateTime":               g.created.UTC().Format(time.RFC3339),
		"creationOptions":               []string{},
		"description":                   nilIfEmpty(g.description),
		"displayName":                   g.displayName,
		"expirationDateTime":            nil,
		"groupTypes":                    []string{},
		"isAssignableToRole":            nil,
		"mail":                          nil,
		"mailEnabled":                   false,
		"mailNickname":                  g.mailNickname,
		"membershipRule":                nil,
		"membershipRuleProcessingState": nil,
		"onPremisesSyncEnabled":         nil,
		"onPremisesLastSyncDateTime":    nil,
		"onPremisesSecurityIdentifier":  nil,
		"preferredDataLocation":         nil,
		"preferredLanguage":             nil,
		"proxyAddresses":                []string{},
		"renewedDateTime":               g.created.UTC().Format(time.RFC3339),
		"resourceBehaviorOptions":       []string{},
		"resourceProvisioningOptions":   []string{},
		"securityEnabled":               true,
		"securityIdentifier":            "S-1-12-1-" + fmt.Sprint(hashString(g.id)%4294967295),
		"theme":                         nil,
		"visibility":                    nil,
		"onPremisesProvisioningErrors":  []string{},
		"serviceProvisioningErrors":     []string{},
	}
	if g.unified {
		o["groupTypes"], o["mailEnabled"], o["securityEnabled"] = []string{"Unified"}, true, false
		o["mail"] = g.mailNickname + "@" + g.domainHint
		o["visibility"] = "Private"
	}
	return o
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

var groupFields = map[string]field[*group]{
	"displayname":     {kind: kindString, s: func(g *group) string { return g.displayName }, ops: []string{"eq", "ne", "startsWith", "in"}},
	"mailnickname":    {kind: kindString, s: func(g *group) string { return g.mailNickname }, ops: []string{"eq", "ne", "startsWith", "in"}},
	"id":              {kind: kindString, s: func(g *group) string { return g.id }, ops: []string{"eq", "ne", "in"}},
	"securityenabled": {kind: kindBool, b: func(g *group) bool { return !g.unified }, ops: []string{"eq", "ne"}},
	"mailenabled":     {kind: kindBool, b: func(g *group) bool { return g.unified }, ops: []string{"eq", "ne"}},
	"grouptypes": {kind: kindStrings, ss: func(g *group) []string {
		if g.unified {
			return []string{"Unified"}
		}
		return nil
	}, ops: []string{"any"}},
}

func (s *Server) serveGroups(w http.ResponseWriter, r *http.Request, t *tenant, c claims, rest []string) {
	switch {
	case len(rest) == 0:
		switch r.Method {
		case http.MethodGet:
			s.listGroups(w, r, t, c)
		case http.MethodPost:
			s.createGroup(w, r, t, c)
		default:
			methodNotAllowed(w, r)
		}
		return
	case len(rest) == 1:
		switch r.Method {
		case http.MethodGet:
			if !require(w, r, c, permGroupRead...) {
				return
			}
			if rest[0] == "$count" {
				t.mu.Lock()
				n := len(t.groups)
				t.mu.Unlock()
				serveCount(w, r, n)
				return
			}
			p, ok := paging(w, r)
			if !ok {
				return
			}
			t.mu.Lock()
			defer t.mu.Unlock()
			g, ok := t.groupOr404(w, r, rest[0])
			if !ok {
				return
			}
			writeEntity(w, r, groupObject(g), p.sel, metadata+"groups/$entity")
		case http.MethodPatch:
			s.patchGroup(w, r, t, c, rest[0])
		case http.MethodDelete:
			if !require(w, r, c, permGroupWrite...) {
				return
			}
			t.mu.Lock()
			defer t.mu.Unlock()
			g, ok := t.groupOr404(w, r, rest[0])
			if !ok {
				return
			}
			delete(t.groups, g.id)
			t.dropNested(g.id)
			if t.isSelectedGroup(g.id) {
				for i := range g.members {
					t.reconcileUser(i, s.Now())
				}
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			methodNotAllowed(w, r)
		}
		return
	case strings.EqualFold(rest[1], "members") || strings.EqualFold(rest[1], "transitiveMembers"):
		// Members are users and (organisation model) nested groups;
		// transitiveMembers flattens the nesting; the documented OData cast
		// to users keeps users only.
		sub := rest[2:]
		transitive := strings.EqualFold(rest[1], "transitiveMembers")
		// msgraph-sdk-go sends the cast as graph.user, which Graph accepts.
		if len(sub) == 1 && (strings.EqualFold(sub[0], "microsoft.graph.user") || strings.EqualFold(sub[0], "graph.user")) && r.Method == http.MethodGet {
			s.listMembers(w, r, t, c, rest[0], memberList{transitive: transitive, usersOnly: true})
			return
		}
		if transitive {
			if len(sub) == 0 && r.Method == http.MethodGet {
				s.listMembers(w, r, t, c, rest[0], memberList{transitive: true})
				return
			}
			notFoundSegment(w, r)
			return
		}
		s.serveMembers(w, r, t, c, rest[0], sub)
		return
	}
	notFoundSegment(w, r)
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, t *tenant, c claims) {
	if !require(w, r, c, permGroupRead...) {
		return
	}
	p, match, ok := listQuery(w, r, groupFields, "groups")
	if !ok || !orderAndSearch(w, r, p, []string{"displayname"}, []string{"displayname", "description", "mail", "mailnickname"}) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	gs := make([]*group, 0, len(t.groups))
	for _, g := range t.groups {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(a, b *group) int { return strings.Compare(a.id, b.id) })
	if order := ordering(p, len(gs), func(i int) string { return gs[i].displayName }); order != nil {
		sorted := make([]*group, len(gs))
		for i, j := range order {
			sorted[i] = gs[j]
		}
		gs = sorted
	}
	writeSelected(w, r, metadata+"groups", len(gs), p, func(i int) (map[string]any, bool) {
		if !match(gs[i]) {
			return nil, false
		}
		if len(p.search) > 0 {
			g := gs[i]
			props := map[string]string{"displayname": g.displayName, "description": g.description, "mailnickname": g.mailNickname, "mail": g.mailNickname}
			if hit, _ := searchMatch(p.search, func(n string) (string, bool) { v, ok := props[n]; return v, ok }); !hit {
				return nil, false
			}
		}
		return groupObject(gs[i]), true
	})
}

// validNickname follows Graph's mailNickname rules (ASCII, no specials).
func validNickname(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if r > 127 || r <= ' ' || strings.ContainsRune(`@()\[]";:<>,`, r) {
			return false
		}
	}
	return true
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, t *tenant, c claims) {
	body, ok := writable(w, r, c, permGroupCreate...)
	if !ok {
		return
	}
	name, _ := body["displayName"].(string)
	nick, _ := body["mailNickname"].(string)
	mailEnabled, meOK := body["mailEnabled"].(bool)
	secEnabled, seOK := body["securityEnabled"].(bool)
	desc, _ := body["description"].(string)
	unified := false
	if gt, ok := body["groupTypes"].([]any); ok {
		for _, v := range gt {
			if s, _ := v.(string); strings.EqualFold(s, "Unified") {
				unified = true
			} else if s != "" {
				writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid value specified for property 'groupTypes' of resource 'Group': '"+s+"'.")
				return
			}
		}
	}
	switch {
	case strings.TrimSpace(name) == "":
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid value specified for property 'displayName' of resource 'Group'.")
		return
	case !validNickname(nick):
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid value specified for property 'mailNickname' of resource 'Group'.")
		return
	case !meOK || !seOK:
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "A value is required for properties 'mailEnabled' and 'securityEnabled' of resource 'Group'.")
		return
	case unified && !mailEnabled:
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "A Microsoft 365 group (groupTypes Unified) must be mail-enabled.")
		return
	case !unified && (mailEnabled || !secEnabled):
		// Graph cannot create mail-enabled security groups or distribution lists.
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Only security groups (mailEnabled false, securityEnabled true) and Microsoft 365 groups (groupTypes [\"Unified\"]) can be created through Graph.")
		return
	}
	binds, ok := bindsOr400(w, r, body)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	idx, errMsg := t.resolveBinds(binds)
	if errMsg != "" {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, errMsg)
		return
	}
	now := s.Now()
	h := mix(hashString(t.id) ^ uint64(now.UnixNano()) ^ uint64(len(t.groups))<<32)
	id := guidFrom(h, mix(h^s.reqSeq.Load()))
	for t.groups[id] != nil {
		h = mix(h + 1)
		id = guidFrom(h, mix(h))
	}
	g := &group{id: id, displayName: name, mailNickname: nick, description: desc, unified: unified, domainHint: t.domain, created: now, members: map[int32]struct{}{}}
	for _, i := range idx {
		g.members[i] = struct{}{}
	}
	t.groups[id] = g
	w.Header().Set("Location", "https://graph.microsoft.com/v2/"+t.id+"/directoryObjects/"+id+"/Microsoft.DirectoryServices.Group")
	writeJSON(w, http.StatusCreated, withContext(groupObject(g), metadata+"groups/$entity"))
}

// bindsOr400 reads members@odata.bind, answering 400 itself when it is
// malformed.
func bindsOr400(w http.ResponseWriter, r *http.Request, body map[string]any) ([]string, bool) {
	binds, err := bindList(body)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return nil, false
	}
	return binds, true
}

// bindList reads members@odata.bind.
func bindList(body map[string]any) ([]string, error) {
	v, ok := body["members@odata.bind"]
	if !ok {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("Invalid value for 'members@odata.bind': expected an array of URLs.")
	}
	if len(arr) > maxBindPerRequest {
		return nil, fmt.Errorf("Request exceeds the maximum of %d members@odata.bind entries: %d.", maxBindPerRequest, len(arr))
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("Invalid value for 'members@odata.bind': expected an array of URLs.")
		}
		out = append(out, s)
	}
	return out, nil
}

// refID extracts the object id from an @odata.id / bind URL such as
// https://graph.microsoft.com/v1.0/directoryObjects/{id}.
func refID(ref string) (string, bool) {
	ref = strings.TrimRight(ref, "/")
	// Key-in-parentheses form: .../directoryObjects('{id}').
	if strings.HasSuffix(ref, "')") {
		if open := strings.LastIndex(ref, "('"); open > 0 {
			ref = ref[:open] + "/" + ref[open+2:len(ref)-2]
		}
	}
	i := strings.LastIndex(ref, "/")
	if i < 0 {
		return "", false
	}
	prev := strings.ToLower(ref[:i])
	if !strings.HasSuffix(prev, "/directoryobjects") && !strings.HasSuffix(prev, "/users") {
		return "", false
	}
	return ref[i+1:], true
}

// resolveBinds maps bind URLs to user indexes; errMsg is non-empty on failure.
func (t *tenant) resolveBinds(binds []string) ([]int32, string) {
	out := make([]int32, 0, len(binds))
	for _, b := range binds {
		id, ok := refID(b)
		if !ok {
			return nil, fmt.Sprintf("Invalid object identifier '%s'.", b)
		}
		i, ok := t.byID[strings.ToLower(id)]
		if !ok {
			return nil, msgNotFound(id)
		}
		out = append(out, i)
	}
	return out, ""
}

const msgAlreadyMember = "One or more added object references already exist for the following modified properties: 'members'."

func (s *Server) patchGroup(w http.ResponseWriter, r *http.Request, t *tenant, c claims, gid string) {
	body, ok := readObject(w, r)
	if !ok {
		return
	}
	onlyMembers := len(body) == 1 && body["members@odata.bind"] != nil
	if onlyMembers {
		if !require(w, r, c, permMemberWrite...) {
			return
		}
	} else if !require(w, r, c, permGroupWrite...) {
		return
	}
	binds, ok := bindsOr400(w, r, body)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.groupOr404(w, r, gid)
	if !ok {
		return
	}
	idx, errMsg := t.resolveBinds(binds)
	if errMsg != "" {
		status := http.StatusBadRequest
		code := codeBadRequest
		if strings.HasPrefix(errMsg, "Resource '") {
			status, code = http.StatusNotFound, codeNotFound
		}
		writeError(w, r, status, code, errMsg)
		return
	}
	seen := map[int32]bool{}
	for _, i := range idx {
		if _, dup := g.members[i]; dup || seen[i] {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, msgAlreadyMember)
			return
		}
		seen[i] = true
	}
	name, desc := g.displayName, g.description
	for k, v := range body {
		switch k {
		case "members@odata.bind", "@odata.type":
		case "displayName":
			s, ok := v.(string)
			if !ok || strings.TrimSpace(s) == "" {
				writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid value specified for property 'displayName' of resource 'Group'.")
				return
			}
			name = s
		case "description":
			s, _ := v.(string)
			desc = s
		default:
			writeError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("Property '%s' cannot be updated by the simulator.", k))
			return
		}
	}
	g.displayName, g.description = name, desc
	s.addMembers(t, g, idx)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) addMembers(t *tenant, g *group, idx []int32) {
	if len(idx) == 0 {
		return
	}
	now := s.Now()
	for _, i := range idx {
		g.members[i] = struct{}{}
	}
	g.sorted = nil
	s.recordMemberWrite(t, g.id, idx, true)
	if t.isSelectedGroup(g.id) {
		for _, i := range idx {
			t.reconcileUser(i, now)
		}
	}
}

func (s *Server) serveMembers(w http.ResponseWriter, r *http.Request, t *tenant, c claims, gid string, rest []string) {
	ref := len(rest) > 0 && rest[len(rest)-1] == "$ref"
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		s.listMembers(w, r, t, c, gid, memberList{})
	case len(rest) == 1 && ref && r.Method == http.MethodGet:
		s.listMembers(w, r, t, c, gid, memberList{refs: true})
	case len(rest) == 1 && ref && r.Method == http.MethodPost:
		s.addMemberRef(w, r, t, c, gid)
	case len(rest) <= 2 && ref && r.Method == http.MethodDelete:
		s.removeMemberRef(w, r, t, c, gid, rest)
	case len(rest) <= 2:
		methodNotAllowed(w, r)
	default:
		notFoundSegment(w, r)
	}
}

// groupAndUser resolves a group and a member by object id, answering 404
// itself. t.mu must be held.
func (t *tenant) groupAndUser(w http.ResponseWriter, r *http.Request, gid, uid string) (*group, int32, bool) {
	g, ok := t.groupOr404(w, r, gid)
	if !ok {
		return nil, 0, false
	}
	i, ok := t.userOr404(w, r, uid)
	return g, i, ok
}

// addMemberRef answers POST /groups/{id}/members/$ref {"@odata.id": ...}.
func (s *Server) addMemberRef(w http.ResponseWriter, r *http.Request, t *tenant, c claims, gid string) {
	body, ok := writable(w, r, c, permMemberWrite...)
	if !ok {
		return
	}
	ref, _ := body["@odata.id"].(string)
	uid, ok := refID(ref)
	if !ok {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid object identifier '"+ref+"'.")
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	g, i, ok := t.groupAndUser(w, r, gid, uid)
	if !ok {
		return
	}
	if _, dup := g.members[i]; dup {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, msgAlreadyMember)
		return
	}
	s.addMembers(t, g, []int32{i})
	w.WriteHeader(http.StatusNoContent)
}

// removeMemberRef answers DELETE /groups/{id}/members/{userId}/$ref and
// msgraph-sdk-go's form, DELETE .../members/$ref?@id=<directoryObject URL>.
func (s *Server) removeMemberRef(w http.ResponseWriter, r *http.Request, t *tenant, c claims, gid string, rest []string) {
	if !require(w, r, c, permMemberWrite...) {
		return
	}
	uid := ""
	if len(rest) == 2 {
		uid = rest[0]
	} else if id, ok := refID(r.URL.Query().Get("@id")); ok {
		uid = id
	} else {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "The @id query parameter must be the URL of a directory object.")
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	g, i, ok := t.groupAndUser(w, r, gid, uid)
	if !ok {
		return
	}
	if _, member := g.members[i]; !member {
		writeError(w, r, http.StatusNotFound, codeNotFound, "One or more removed object references do not exist for the following modified properties: 'members'.")
		return
	}
	delete(g.members, i)
	g.sorted = nil
	s.recordMemberWrite(t, g.id, []int32{i}, false)
	if t.isSelectedGroup(g.id) {
		t.reconcileUser(i, s.Now())
	}
	w.WriteHeader(http.StatusNoContent)
}

// memberList says which members a listing shows.
type memberList struct {
	refs       bool // members/$ref: references only
	transitive bool // transitiveMembers: through nested groups
	usersOnly  bool // the microsoft.graph.user cast
}

// listMembers answers GET /groups/{id}/members, .../members/$ref,
// .../transitiveMembers and their casts to users. Users come first, in
// directory order, then nested groups.
func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, t *tenant, c claims, gid string, m memberList) {
	if !require(w, r, c, permGroupRead...) {
		return
	}
	if !m.refs && !c.has(permUserRead...) && !c.has(RoleGroupMemberReadAll, RoleGroupMemberReadWriteAll, RoleGroupReadAll, RoleGroupReadWriteAll) {
		writeError(w, r, http.StatusForbidden, codeDenied, msgDenied)
		return
	}
	p, ok := paging(w, r)
	if !ok {
		return
	}
	if !m.refs && p.filter != "" {
		writeError(w, r, http.StatusBadRequest, codeUnsupportedQuery, "Filter is not supported on members without ConsistencyLevel: eventual.")
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.groupOr404(w, r, gid)
	if !ok {
		return
	}
	users := g.memberList()
	var nested []*group
	if m.transitive {
		users = t.transitiveUsers(g)
		if !m.usersOnly {
			nested = t.transitiveGroups(g)
		}
	} else if !m.usersOnly {
		for _, id := range g.nested {
			if n, ok := t.groups[id]; ok {
				nested = append(nested, n)
			}
		}
	}
	total := len(users) + len(nested)
	if m.refs {
		writePage(w, r, metadata+"directoryObjects", total, p, func(i int) (any, bool) {
			if i >= len(users) {
				return map[string]any{"@odata.id": "https://graph.microsoft.com/v2/" + t.id + "/directoryObjects/" + nested[i-len(users)].id + "/Microsoft.DirectoryServices.Group"}, true
			}
			return map[string]any{"@odata.id": "https://graph.microsoft.com/v2/" + t.id + "/directoryObjects/" + t.users[users[i]].id + "/Microsoft.DirectoryServices.User"}, true
		})
		return
	}
	writeSelected(w, r, metadata+"directoryObjects", total, p, func(i int) (map[string]any, bool) {
		if i >= len(users) {
			o := groupObject(nested[i-len(users)])
			o["@odata.type"] = "#microsoft.graph.group"
			return o, true
		}
		o := userObject(&t.users[users[i]], t.domain, len(p.sel) > 0)
		o["@odata.type"] = "#microsoft.graph.user"
		return o, true
	})
}
