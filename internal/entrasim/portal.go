package entrasim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// servePortal serves the portal's PasswordReset API
// (main.iam.ad.ext.azure.com/api/PasswordReset/...). It needs a delegated
// token; the portal has no application permission.
func (s *Server) servePortal(w http.ResponseWriter, r *http.Request, t *tenant, c claims) {
	seg := segments(r.URL.Path, "/api")
	if len(seg) != 2 || !strings.EqualFold(seg[0], "PasswordReset") {
		writeError(w, r, http.StatusNotFound, "NotFound", "No HTTP resource was found that matches the request URI '"+r.URL.Path+"'.")
		return
	}
	if !c.delegated() {
		writeError(w, r, http.StatusUnauthorized, codeInvalidToken, "The portal PasswordReset API accepts only delegated (user) tokens; application tokens are not supported.")
		return
	}
	if !c.has(portalScope) {
		writeError(w, r, http.StatusForbidden, codeDenied, msgDenied)
		return
	}
	if !strings.EqualFold(r.Header.Get("X-Requested-With"), "XMLHttpRequest") {
		// The portal's API answers browser (XHR) calls only.
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "The request must carry the header 'X-Requested-With: XMLHttpRequest'.")
		return
	}
	switch strings.ToLower(seg[1]) {
	case "passwordresetpolicies":
		s.servePasswordResetPolicies(w, r, t)
	case "onpremisespasswordresetpolicies":
		s.serveOnPremPolicies(w, r, t)
	default:
		writeError(w, r, http.StatusNotFound, "NotFound", "No HTTP resource was found that matches the request URI '"+r.URL.Path+"'.")
	}
}

func writePortalJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (s *Server) servePasswordResetPolicies(w http.ResponseWriter, r *http.Request, t *tenant) {
	switch r.Method {
	case http.MethodGet:
		t.mu.Lock()
		p := t.portal.clone()
		t.mu.Unlock()
		writePortalJSON(w, p)
	case http.MethodPut:
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		cur := t.portal.clone()
		next := t.portal.clone()
		// Fields absent from the body keep their values; the portal itself
		// expects the whole object.
		if err := decodeStrict(b, &next); err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid PasswordResetPolicies body: "+err.Error())
			return
		}
		if next.PasswordResetEnabledGroupIDs == nil {
			next.PasswordResetEnabledGroupIDs = []string{}
		}
		if next.SecurityQuestions == nil {
			next.SecurityQuestions = []map[string]any{}
		}
		// Licence flags are read-only.
		next.EmailOptionAllowed, next.MobilePhoneOptionAllowed, next.OfficePhoneOptionAllowed = cur.EmailOptionAllowed, cur.MobilePhoneOptionAllowed, cur.OfficePhoneOptionAllowed
		next.SecurityQuestionsOptionAllowed, next.MobileAppNotificationOptionAllowed, next.MobileAppCodeOptionAllowed = cur.SecurityQuestionsOptionAllowed, cur.MobileAppNotificationOptionAllowed, cur.MobileAppCodeOptionAllowed
		if err := next.validate(func(id string) bool { _, ok := t.groups[strings.ToLower(id)]; return ok }); err != nil {
			var missing missingGroupError
			if errors.As(err, &missing) {
				writeError(w, r, http.StatusNotFound, codeNotFound, "passwordResetEnabledGroupIds: "+err.Error())
				return
			}
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid PasswordResetPolicies: "+err.Error())
			return
		}
		next.PasswordResetEnabledGroupName = ""
		if len(next.PasswordResetEnabledGroupIDs) == 1 {
			if g, ok := t.groups[strings.ToLower(next.PasswordResetEnabledGroupIDs[0])]; ok {
				next.PasswordResetEnabledGroupIDs[0] = g.id
				next.PasswordResetEnabledGroupName = g.displayName
			}
		}
		scopeChanged := next.EnablementType != cur.EnablementType ||
			strings.Join(next.PasswordResetEnabledGroupIDs, ",") != strings.Join(cur.PasswordResetEnabledGroupIDs, ",")
		t.portal = next
		if scopeChanged {
			t.reconcileAll(s.Now())
		}
		writePortalJSON(w, next.clone())
	default:
		methodNotAllowed(w, r)
	}
}

func (s *Server) serveOnPremPolicies(w http.ResponseWriter, r *http.Request, t *tenant) {
	switch r.Method {
	case http.MethodGet:
		t.mu.Lock()
		p := t.onPrem
		t.mu.Unlock()
		writePortalJSON(w, p)
	case http.MethodPut:
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		next := t.onPrem
		if err := decodeStrict(b, &next); err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid OnPremisesPasswordResetPolicies body: "+err.Error())
			return
		}
		next.PasswordWritebackSupported, next.AccountUnlockSupported = t.onPrem.PasswordWritebackSupported, t.onPrem.AccountUnlockSupported
		if err := next.validate(); err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid OnPremisesPasswordResetPolicies: "+err.Error())
			return
		}
		t.onPrem = next
		writePortalJSON(w, next)
	default:
		methodNotAllowed(w, r)
	}
}
