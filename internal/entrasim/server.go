package entrasim

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

type claimsKey struct{}

// AuditEntry is one write the simulator received.
type AuditEntry struct {
	Time   time.Time `json:"time"`
	Tenant string    `json:"tenant"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"`
	Body   string    `json:"body"`
}

// maxAuditBody caps the request body kept per audit entry.
const maxAuditBody = 64 << 10

// Audit returns a copy of every write received, oldest first.
func (s *Server) Audit() []AuditEntry {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	return append([]AuditEntry(nil), s.audit...)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/_sim/", s.serveControl)
	mux.HandleFunc("/v1.0/", s.serveAPI)
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.stamp(w, r)
		writeError(w, r, http.StatusNotFound, "BadRequest", "Invalid version: "+r.URL.Path)
	})
	return mux
}

// stamp sets the request ids Graph returns on every response.
func (s *Server) stamp(w http.ResponseWriter, r *http.Request) {
	n := s.reqSeq.Add(1)
	rid := guidFrom(mix(uint64(s.opts.Seed)^0x7e9), mix(n))
	h := w.Header()
	h.Set("request-id", rid)
	cid := r.Header.Get("client-request-id")
	if cid == "" {
		cid = r.Header.Get("x-ms-client-request-id")
	}
	if cid == "" {
		cid = rid
	}
	h.Set("client-request-id", cid)
	if v := r.Header.Get("x-ms-client-request-id"); v != "" {
		h.Set("x-ms-client-request-id", v)
	}
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Local","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"entrasim"}}`)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1.0/$batch" {
		s.stamp(w, r)
		s.serveBatch(w, r) // each request inside is served (and charged) on its own
		return
	}
	s.stamp(w, r)
	c, tokenOK := s.parseToken(bearer(r))
	if tokenOK {
		r = r.WithContext(context.WithValue(r.Context(), claimsKey{}, c))
	}
	var badBody error
	if isWrite(r.Method) {
		body, err := readBody(r)
		badBody = err
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &statusRecorder{ResponseWriter: w}
		w = rec
		defer func() {
			tenantName := ""
			if tokenOK {
				if t, ok := s.lookupTenant(c.Tid); ok {
					tenantName = t.domain
				}
			}
			if len(body) > maxAuditBody {
				body = body[:maxAuditBody]
			}
			s.auditMu.Lock()
			s.audit = append(s.audit, AuditEntry{
				Time: time.Now().UTC(), Tenant: tenantName, Method: r.Method,
				Path: r.URL.RequestURI(), Status: rec.status, Body: string(body),
			})
			s.auditMu.Unlock()
		}()
	}
	start := time.Now()
	f := s.faults.decide(r.Method, r.URL.Path)
	if f.latency > 0 {
		select {
		case <-time.After(f.latency):
		case <-r.Context().Done():
			return
		}
	}
	if f.status != 0 {
		writeFault(w, r, f)
		return
	}
	if !tokenOK {
		msg := "Access token is empty."
		if bearer(r) != "" {
			msg = "IDX14100: JWT is not well formed, there are no dots (.)."
			if strings.Count(bearer(r), ".") == 2 {
				msg = "Access token validation failure. Invalid audience or malformed token."
			}
		}
		writeError(w, r, http.StatusUnauthorized, codeInvalidToken, msg)
		return
	}
	if s.tokenExpired(c) {
		writeError(w, r, http.StatusUnauthorized, codeInvalidToken, "Lifetime validation failed, the token is expired.")
		return
	}
	if !s.checkQuota(w, r, c) {
		return
	}
	if badBody != nil {
		writeError(w, r, http.StatusBadRequest, "BadRequest", badBody.Error())
		return
	}
	t := s.tenant(c.Tid)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		s.servePortal(w, r, t, c)
	} else {
		s.serveGraph(w, r, t, c)
	}
	s.log.Debug("entrasim request", "method", r.Method, "path", r.URL.Path, "tenant", t.domain, "took", time.Since(start))
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// segments splits a path after its prefix into segments.
func segments(p, prefix string) []string {
	p = strings.Trim(p[len(prefix):], "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, http.StatusMethodNotAllowed, codeMethodNotAllowed, fmt.Sprintf("The HTTP method '%s' is not allowed for this resource.", r.Method))
}

func notFoundSegment(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", lastSegment(r.URL.Path)))
}

func lastSegment(p string) string {
	p = strings.TrimRight(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

// readBody reads a write's body. Graph accepts gzip request bodies, and the
// Go SDK's compression handler sends them by default, so they are inflated
// here once: handlers and the audit log see plain JSON.
func readBody(r *http.Request) ([]byte, error) {
	const limit = 16 << 20
	if !strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		return io.ReadAll(io.LimitReader(r.Body, limit))
	}
	r.Header.Del("Content-Encoding")
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		return nil, fmt.Errorf("Unable to read the gzip request body: %v", err)
	}
	defer zr.Close()
	b, err := io.ReadAll(io.LimitReader(zr, limit))
	if err != nil {
		return nil, fmt.Errorf("Unable to read the gzip request body: %v", err)
	}
	return b, nil
}

// readJSONObject reads a JSON object body.
func readJSONObject(r *http.Request) (map[string]any, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	if m == nil {
		return nil, fmt.Errorf("The request body must be a JSON object.")
	}
	return m, nil
}

// Requests is how many requests the simulator has served (every endpoint),
// for tests that bound what a read costs.
func (s *Server) Requests() uint64 { return s.reqSeq.Load() }
