package entrasim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Helpers every handler shares: reading a request, answering with Graph's
// content type, and the lookups that answer 404 themselves.

const graphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// writeJSON writes v with Graph's content type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeBody(w, status, graphContentType, v)
}

// writeBody marshals v and writes it with contentType.
func writeBody(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
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

// writeEntity writes one object with $select applied (an unknown property
// is a 400).
func writeEntity(w http.ResponseWriter, r *http.Request, o map[string]any, sel []string, ctx string) {
	o, err := selectFields(o, sel)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, withContext(o, ctx))
}

// readObject reads a JSON object body, answering 400 itself when it cannot.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	body, err := readJSONObject(r)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return nil, false
	}
	return body, true
}

// groupOr404 returns the group with id, or answers 404. t.mu must be held.
func (t *tenant) groupOr404(w http.ResponseWriter, r *http.Request, id string) (*group, bool) {
	g, ok := t.groups[strings.ToLower(id)]
	if !ok {
		writeError(w, r, http.StatusNotFound, codeNotFound, msgNotFound(id))
	}
	return g, ok
}

// userOr404 returns the index of the user with object id, or answers 404.
// t.mu must be held.
func (t *tenant) userOr404(w http.ResponseWriter, r *http.Request, id string) (int32, bool) {
	i, ok := t.byID[strings.ToLower(id)]
	if !ok {
		writeError(w, r, http.StatusNotFound, codeNotFound, msgNotFound(id))
	}
	return i, ok
}

// readable admits a GET by a token that holds one of perms (or, with
// delegatedOK, any user token), answering 405 or 403 itself.
func readable(w http.ResponseWriter, r *http.Request, c claims, delegatedOK bool, perms ...string) bool {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r)
		return false
	}
	return (delegatedOK && c.delegated()) || require(w, r, c, perms...)
}

// listQuery parses a collection request's paging and its $filter over
// fields, answering 400 itself when either is invalid.
func listQuery[T any](w http.ResponseWriter, r *http.Request, fields map[string]field[T], resource string) (pageParams, func(T) bool, bool) {
	p, ok := paging(w, r)
	if !ok {
		return p, nil, false
	}
	match, err := compileFilter(p.filter, fields)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeUnsupportedQuery, "Unsupported or invalid query filter clause specified for resource '"+resource+"': "+err.Error())
		return p, nil, false
	}
	return p, match, true
}

// writable admits a write by a token that holds one of perms and reads its
// JSON object body, answering 403 or 400 itself.
func writable(w http.ResponseWriter, r *http.Request, c claims, perms ...string) (map[string]any, bool) {
	if !require(w, r, c, perms...) {
		return nil, false
	}
	return readObject(w, r)
}
