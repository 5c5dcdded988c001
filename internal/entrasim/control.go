package entrasim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveControl serves the test/control endpoints under /_sim/. They need no
// token.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	s.stamp(w, r)
	p := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/_sim/"), "/")
	q := r.URL.Query()
	switch {
	case p == "audit" && r.Method == http.MethodGet:
		entries := s.Audit()
		if entries == nil {
			entries = []AuditEntry{}
		}
		writeJSON(w, http.StatusOK, entries)
	case p == "state" && r.Method == http.MethodGet:
		b, err := s.StateJSON(q.Get("tenant"))
		if err != nil {
			writeError(w, r, http.StatusNotFound, codeNotFound, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	case p == "clock" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]string{"now": s.Now().Format(time.RFC3339Nano)})
	case p == "clock/advance" && r.Method == http.MethodPost:
		d, err := time.ParseDuration(q.Get("d"))
		if err != nil || d < 0 {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "d must be a non-negative duration such as 1h")
			return
		}
		s.AdvanceClock(d)
		writeJSON(w, http.StatusOK, map[string]string{"now": s.Now().Format(time.RFC3339Nano)})
	case p == "faults" && r.Method == http.MethodPost:
		b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		cfg, err := ParseFaults(string(b))
		if err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		s.SetFaults(cfg)
		w.WriteHeader(http.StatusNoContent)
	case p == "admin-edit" && r.Method == http.MethodPost:
		var e AdminEdit
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&e); err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "body: "+err.Error())
			return
		}
		if err := s.EditByHand(q.Get("tenant"), e); err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case p == "fail-next-writes" && r.Method == http.MethodPost:
		n, err := strconv.Atoi(q.Get("n"))
		if err != nil || n < 0 {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "n must be a non-negative integer")
			return
		}
		code := 0
		if v := q.Get("code"); v != "" {
			if code, err = strconv.Atoi(v); err != nil || code < 400 || code > 599 {
				writeError(w, r, http.StatusBadRequest, codeBadRequest, "code must be an HTTP error status")
				return
			}
		}
		s.FailNextWrites(n, code)
		w.WriteHeader(http.StatusNoContent)
	case p == "devicecode/approve" && r.Method == http.MethodPost:
		if err := s.ApproveDeviceCode(q.Get("code"), q.Get("upn")); err != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case p == "signin/revoke" && r.Method == http.MethodPost:
		writeJSON(w, http.StatusOK, map[string]int{"revoked": s.RevokeSignIns(q.Get("upn"))})
	case p == "signin/consent" && r.Method == http.MethodPost:
		s.SetConsent(q.Get("client"), q.Get("granted") != "false")
		w.WriteHeader(http.StatusNoContent)
	case p == "signin" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.IdentityStats())
	case p == "token" && r.Method == http.MethodGet:
		// Convenience for scripts: mint a token.
		roles := AllRoles()
		if v, ok := q["roles"]; ok {
			roles = nil
			for _, x := range strings.Split(strings.Join(v, ","), ",") {
				if x = strings.TrimSpace(x); x != "" {
					roles = append(roles, x)
				}
			}
		}
		tok := s.IssueToken(q.Get("tenant"), roles, q.Get("delegated") == "true")
		writeJSON(w, http.StatusOK, map[string]string{"access_token": tok, "token_type": "Bearer"})
	default:
		writeError(w, r, http.StatusNotFound, codeNotFound, "Unknown control endpoint: "+r.Method+" "+r.URL.Path)
	}
}
