package entrasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
)

// JSON batching, as Graph documents it: POST /v1.0/$batch with at most 20
// requests; each runs through the same routing, authentication, faults,
// quota and audit as if it had been sent alone (Graph evaluates each
// against the throttling budgets on its own), and answers in its own
// response, 429 and Retry-After included.

const maxBatch = 20

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, r)
		return
	}
	raw, err := readBody(r)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	var in struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid batch payload format.")
		return
	}
	switch {
	case len(in.Requests) == 0:
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid batch payload format.")
		return
	case len(in.Requests) > maxBatch:
		writeError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("The number of batch requests exceeds the limit of %d.", maxBatch))
		return
	}
	seen := map[string]bool{}
	for _, q := range in.Requests {
		if q.ID == "" || seen[q.ID] {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Batch request ids must be present and unique.")
			return
		}
		seen[q.ID] = true
		if len(q.DependsOn) > 0 {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "The simulator does not support dependsOn in batches.")
			return
		}
	}
	out := struct {
		Responses []batchResponse `json:"responses"`
	}{}
	for _, q := range in.Requests {
		out.Responses = append(out.Responses, s.batchStep(r, q))
	}
	writeJSON(w, http.StatusOK, out)
}

// batchStep runs one request of a batch as a request of its own.
func (s *Server) batchStep(outer *http.Request, q batchRequest) batchResponse {
	u := q.URL
	if !strings.HasPrefix(u, "/") {
		u = "/" + u
	}
	if strings.HasPrefix(strings.ToLower(u), "/v1.0/") || strings.Contains(u, "://") || strings.Contains(u, "$batch") {
		return batchResponse{ID: q.ID, Status: http.StatusBadRequest, Headers: map[string]string{"Content-Type": graphContentType},
			Body: json.RawMessage(`{"error":{"code":"BadRequest","message":"Invalid request URL: use a URL relative to the version, such as /users."}}`)}
	}
	var body []byte
	if len(q.Body) > 0 && string(q.Body) != "null" {
		body = q.Body
	}
	req := httptest.NewRequest(strings.ToUpper(q.Method), "/v1.0"+u, bytes.NewReader(body))
	req = req.WithContext(outer.Context())
	req.Host, req.TLS = outer.Host, outer.TLS
	req.Header.Set("Authorization", outer.Header.Get("Authorization"))
	for k, v := range q.Headers {
		req.Header.Set(k, v)
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.serveAPI(rec, req)
	res := batchResponse{ID: q.ID, Status: rec.Code, Headers: map[string]string{}}
	for _, h := range []string{"Content-Type", "Retry-After", "x-ms-throttle-scope", "x-ms-throttle-information", "Location"} {
		if v := rec.Header().Get(h); v != "" {
			res.Headers[h] = v
		}
	}
	if b := bytes.TrimSpace(rec.Body.Bytes()); len(b) > 0 && json.Valid(b) {
		res.Body = b
	}
	return res
}

// MemberWrite counts one user's successful membership writes in a group.
type MemberWrite struct {
	Added, Removed int
}

// memberAudit counts membership writes per tenant/group/user.
func (s *Server) recordMemberWrite(t *tenant, groupID string, users []int32, added bool) {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if s.memberWrites == nil {
		s.memberWrites = map[string]map[string]*MemberWrite{}
	}
	key := t.domain + "/" + strings.ToLower(groupID)
	m := s.memberWrites[key]
	if m == nil {
		m = map[string]*MemberWrite{}
		s.memberWrites[key] = m
	}
	for _, i := range users {
		id := t.users[i].id
		mw := m[id]
		if mw == nil {
			mw = &MemberWrite{}
			m[id] = mw
		}
		if added {
			mw.Added++
		} else {
			mw.Removed++
		}
	}
}

// MemberWrites returns, per user id, how often a user was added to and
// removed from a group of a tenant (domain): the write audit that shows a
// wave added each member once and its compensation removed each once.
func (s *Server) MemberWrites(tenantDomain, groupID string) map[string]MemberWrite {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	out := map[string]MemberWrite{}
	for id, mw := range s.memberWrites[strings.ToLower(tenantDomain)+"/"+strings.ToLower(groupID)] {
		out[id] = *mw
	}
	return out
}

// globalAdminRole is the one activated directory role the simulator has:
// its members are the users marked admin.
const (
	globalAdminRoleID       = "6b0f4d1e-7c3a-4f6e-9a51-0c2f8e1d4a77"
	globalAdminRoleTemplate = "62e90394-69f5-4237-9190-012177145e10"
)

var permRoleRead = []string{"RoleManagement.Read.Directory", RoleDirectoryReadAll, RoleDirectoryReadWriteAll}

// serveDirectoryRoles answers GET /directoryRoles and
// /directoryRoles/{id}/members (admins, for spec.exclude.admins).
func (s *Server) serveDirectoryRoles(w http.ResponseWriter, r *http.Request, t *tenant, c claims, rest []string) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r)
		return
	}
	if !require(w, r, c, permRoleRead...) {
		return
	}
	switch {
	case len(rest) == 0:
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": metadata + "directoryRoles", "value": []any{map[string]any{
			"id": globalAdminRoleID, "displayName": "Global Administrator", "roleTemplateId": globalAdminRoleTemplate,
			"description": "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.", "deletedDateTime": nil}}})
	case len(rest) == 2 && strings.EqualFold(rest[1], "members"):
		if !strings.EqualFold(rest[0], globalAdminRoleID) && !strings.EqualFold(rest[0], "roleTemplateId="+globalAdminRoleTemplate) {
			writeError(w, r, http.StatusNotFound, codeNotFound, msgNotFound(rest[0]))
			return
		}
		p, ok := paging(w, r)
		if !ok {
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		writeSelected(w, r, metadata+"directoryObjects", len(t.users), p, func(i int) (map[string]any, bool) {
			if !t.users[i].admin {
				return nil, false
			}
			o := userObject(&t.users[i], t.domain, len(p.sel) > 0)
			o["@odata.type"] = "#microsoft.graph.user"
			return o, true
		})
	default:
		notFoundSegment(w, r)
	}
}
