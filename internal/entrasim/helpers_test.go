package entrasim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// sim is a started simulator with a frozen clock and a client.
type sim struct {
	t    *testing.T
	srv  *Server
	base string
	tok  string
}

func newSim(t testing.TB, opts Options) *sim {
	t.Helper()
	if opts.TimeScale == 0 {
		opts.TimeScale = -1 // frozen: only AdvanceClock moves time
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	base, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	tt, _ := t.(*testing.T)
	return &sim{t: tt, srv: srv, base: base, tok: srv.Token()}
}

// resp is a decoded response.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return m
}

func (r resp) errCode(t testing.TB) string {
	t.Helper()
	m := r.json(t)
	e, _ := m["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error object in %s", r.body)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Fatalf("error without message: %s", r.body)
	}
	inner, _ := e["innerError"].(map[string]any)
	for _, k := range []string{"date", "request-id", "client-request-id"} {
		if inner[k] == nil || inner[k] == "" {
			t.Fatalf("innerError.%s missing: %s", k, r.body)
		}
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error content type %q", ct)
	}
	code, _ := e["code"].(string)
	return code
}

func (s *sim) do(method, path, token string, body any, hdr ...string) resp {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	url := path
	if strings.HasPrefix(path, "/") {
		url = s.base + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (s *sim) get(path string) resp { s.t.Helper(); return s.do("GET", path, s.tok, nil) }

// portal calls the portal API with a delegated token and the XHR header.
func (s *sim) portal(method, path string, body any) resp {
	s.t.Helper()
	return s.do(method, path, s.srv.PortalToken(), body, "X-Requested-With", "XMLHttpRequest")
}

func (s *sim) mustStatus(r resp, want int) resp {
	s.t.Helper()
	if r.status != want {
		s.t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

// createGroup makes a security group and returns its id.
func (s *sim) createGroup(name string) string {
	s.t.Helper()
	r := s.mustStatus(s.do("POST", "/v1.0/groups", s.tok, map[string]any{
		"displayName": name, "mailEnabled": false, "mailNickname": strings.ReplaceAll(name, " ", ""), "securityEnabled": true,
	}), http.StatusCreated)
	return r.json(s.t)["id"].(string)
}

func (s *sim) userID(upn string) string {
	s.t.Helper()
	return s.mustStatus(s.get("/v1.0/users/"+upn), 200).json(s.t)["id"].(string)
}

func (s *sim) addMember(gid, uid string) resp {
	s.t.Helper()
	return s.do("POST", "/v1.0/groups/"+gid+"/members/$ref", s.tok, map[string]any{
		"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + uid,
	})
}

// scanRegistrations follows nextLink to the end and returns every row.
func (s *sim) scanRegistrations(query string) []map[string]any {
	s.t.Helper()
	var rows []map[string]any
	next := "/v1.0/reports/authenticationMethods/userRegistrationDetails" + query
	for next != "" {
		m := s.mustStatus(s.get(next), 200).json(s.t)
		for _, v := range m["value"].([]any) {
			rows = append(rows, v.(map[string]any))
		}
		next, _ = m["@odata.nextLink"].(string)
		if next != "" && !strings.HasPrefix(next, s.base+"/v1.0/") {
			s.t.Fatalf("nextLink %q is not absolute to %s", next, s.base)
		}
	}
	return rows
}
