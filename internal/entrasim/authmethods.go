package entrasim

import (
	"net/http"
	"strings"
)

// The authentication methods policy: GET|PATCH /policies/authenticationMethodsPolicy
// and GET|PATCH|DELETE .../authenticationMethodConfigurations[/{id}]. The
// model and its validation are in policies.go.

const (
	ctxMethodsPolicy = metadata + "authenticationMethodsPolicy"
	ctxMethodConfigs = metadata + "policies/authenticationMethodsPolicy/authenticationMethodConfigurations"
)

func (s *Server) serveMethodsPolicy(w http.ResponseWriter, r *http.Request, t *tenant, c claims, rest []string) {
	switch {
	case len(rest) == 0:
		s.servePolicyObject(w, r, t, c)
	case !strings.EqualFold(rest[0], "authenticationMethodConfigurations") || len(rest) > 2:
		notFoundSegment(w, r)
	case len(rest) == 1:
		if r.Method != http.MethodGet {
			methodNotAllowed(w, r)
			return
		}
		if !require(w, r, c, permPolicyRead...) {
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.context": ctxMethodConfigs,
			"value":          t.methodsPolicy.object(false)["authenticationMethodConfigurations"],
		})
	default:
		s.serveMethodConfig(w, r, t, c, rest[1])
	}
}

// servePolicyObject answers GET and PATCH of the policy itself; PATCH
// answers 200 with the object.
func (s *Server) servePolicyObject(w http.ResponseWriter, r *http.Request, t *tenant, c claims) {
	var body map[string]any
	switch r.Method {
	case http.MethodGet:
		if !require(w, r, c, permPolicyRead...) {
			return
		}
	case http.MethodPatch:
		var ok bool
		if !require(w, r, c, permPolicyWrite...) {
			return
		}
		if body, ok = readObject(w, r); !ok {
			return
		}
	default:
		methodNotAllowed(w, r)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if body != nil {
		if err := t.methodsPolicy.patch(body, s.Now()); err != nil {
			writeError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, withContext(t.methodsPolicy.object(true), ctxMethodsPolicy))
}

// serveMethodConfig answers one method configuration: GET, PATCH (204),
// DELETE (back to its defaults, 204).
func (s *Server) serveMethodConfig(w http.ResponseWriter, r *http.Request, t *tenant, c claims, rawID string) {
	id, ok := canonicalMethodID(rawID)
	if !ok {
		writeError(w, r, http.StatusNotFound, codeNotFound, msgNotFound(rawID))
		return
	}
	perms := permPolicyWrite
	if r.Method == http.MethodGet {
		perms = permPolicyRead
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPatch && r.Method != http.MethodDelete {
		methodNotAllowed(w, r)
		return
	}
	if !require(w, r, c, perms...) {
		return
	}
	var body map[string]any
	if r.Method == http.MethodPatch {
		if body, ok = readObject(w, r); !ok {
			return
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, withContext(t.methodsPolicy.configs[id], ctxMethodConfigs+"/$entity"))
		return
	case http.MethodPatch:
		exists := func(g string) bool { _, ok := t.groups[strings.ToLower(g)]; return ok }
		if err := t.methodsPolicy.patchConfig(id, body, exists, s.Now()); err != nil {
			writeError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
	case http.MethodDelete:
		t.methodsPolicy.configs[id] = defaultMethodConfig(id)
		t.methodsPolicy.lastModified = s.Now()
	}
	w.WriteHeader(http.StatusNoContent)
}
