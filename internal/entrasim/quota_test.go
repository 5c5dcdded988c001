package entrasim

import (
	"strconv"
	"testing"
)

func TestQuota(t *testing.T) {
	s := newSim(t, Options{Users: 5, Quota: Quota{Reports: 5, DirectoryRU: 20, Writes: 2}})
	const rep = "/v1.0/reports/authenticationMethods/userRegistrationDetails"
	for range 5 {
		s.mustStatus(s.get(rep), 200)
	}
	r := s.get(rep)
	if r.status != 429 || r.errCode(t) != codeThrottled {
		t.Fatalf("6th report request: %d", r.status)
	}
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 || n > 10 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Reports have their own budget; directory reads still pass.
	s.mustStatus(s.get("/v1.0/users"), 200)
	// Another tenant (another app+tenant pair) has its own budget.
	other := s.srv.IssueToken("fabrikam.onmicrosoft.com", AllRoles(), false)
	s.mustStatus(s.do("GET", rep, other, nil), 200)

	body := map[string]any{"displayName": "Q", "mailNickname": "q", "mailEnabled": false, "securityEnabled": true}
	s.mustStatus(s.do("POST", "/v1.0/groups", s.tok, body), 201)
	s.mustStatus(s.do("POST", "/v1.0/groups", s.tok, body), 201)
	w := s.do("POST", "/v1.0/groups", s.tok, body)
	if w.status != 429 || w.header.Get("x-ms-throttle-information") != "WriteLimitExceeded" {
		t.Fatalf("3rd write: %d %v", w.status, w.header)
	}
	// 5+1 reports (another app), /users, 2 writes; refused: the 6th report and the 3rd write.
	want := Usage{DirectoryRU: 3, Writes: 2, Reports: 6, Throttled: 2}
	if got := s.srv.Usage(); got != want {
		t.Errorf("usage %+v, want %+v", got, want)
	}
	s.srv.SetQuota(Quota{})
	s.mustStatus(s.get(rep), 200)
	want.Reports++ // counted without a quota too
	if got := s.srv.Usage(); got != want {
		t.Errorf("usage without a quota %+v, want %+v", got, want)
	}
}
