package entrasim

import (
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

// servePortalObject serves GET and PUT of one portal object, which is
// read and written whole. cur returns the object (t.mu held); store
// validates a PUT's result, fields absent from the body keeping their
// values, and keeps it.
func servePortalObject[T any](w http.ResponseWriter, r *http.Request, t *tenant, name string, cur func() T, store func(next *T) error) {
	const contentType = "application/json; charset=utf-8"
	switch r.Method {
	case http.MethodGet:
		t.mu.Lock()
		defer t.mu.Unlock()
		writeBody(w, http.StatusOK, contentType, cur())
	case http.MethodPut:
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		next := cur()
		if err := decodeStrict(b, &next); err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid "+name+" body: "+err.Error())
			return
		}
		var missing missingGroupError
		switch err := store(&next); {
		case errors.As(err, &missing):
			writeError(w, r, http.StatusNotFound, codeNotFound, "passwordResetEnabledGroupIds: "+err.Error())
		case err != nil:
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid "+name+": "+err.Error())
		default:
			writeBody(w, http.StatusOK, contentType, cur())
		}
	default:
		methodNotAllowed(w, r)
	}
}

func (s *Server) servePasswordResetPolicies(w http.ResponseWriter, r *http.Request, t *tenant) {
	servePortalObject(w, r, t, "PasswordResetPolicies", func() passwordResetPolicy { return t.portal.clone() }, func(next *passwordResetPolicy) error {
		cur := t.portal
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
			return err
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
		t.portal = next.clone()
		if scopeChanged {
			t.reconcileAll(s.Now())
		}
		return nil
	})
}

func (s *Server) serveOnPremPolicies(w http.ResponseWriter, r *http.Request, t *tenant) {
	servePortalObject(w, r, t, "OnPremisesPasswordResetPolicies", func() onPremPolicy { return t.onPrem }, func(next *onPremPolicy) error {
		next.PasswordWritebackSupported, next.AccountUnlockSupported = t.onPrem.PasswordWritebackSupported, t.onPrem.AccountUnlockSupported
		if err := next.validate(); err != nil {
			return err
		}
		t.onPrem = *next
		return nil
	})
}
