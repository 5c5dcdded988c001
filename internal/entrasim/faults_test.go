package entrasim

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestParseFaults(t *testing.T) {
	tests := []struct {
		spec string
		want FaultConfig
	}{
		{"", FaultConfig{}},
		{"rate=0.2;codes=429,503;retry-after=1", FaultConfig{Rules: []FaultRule{{Rate: 0.2, Codes: []int{429, 503}, RetryAfter: time.Second}}}},
		{"path=/v1.0/groups*;rate=0.5;codes=503", FaultConfig{Rules: []FaultRule{{Path: "/v1.0/groups*", Rate: 0.5, Codes: []int{503}}}}},
		{"rate=1;no-retry-after", FaultConfig{Rules: []FaultRule{{Rate: 1, RetryAfterMode: RetryAfterNone}}}},
		{"rate=1;retry-after-date;retry-after=2s", FaultConfig{Rules: []FaultRule{{Rate: 1, RetryAfterMode: RetryAfterDate, RetryAfter: 2 * time.Second}}}},
		{"latency=20ms", FaultConfig{Rules: []FaultRule{{Latency: 20 * time.Millisecond}}}},
		{"rate=0.1|path=/api/*;method=put;rate=1;codes=500", FaultConfig{Rules: []FaultRule{{Rate: 0.1}, {Path: "/api/*", Methods: []string{"PUT"}, Rate: 1, Codes: []int{500}}}}},
		{"path=/a*;rate=1;path=/b*;rate=0.5", FaultConfig{Rules: []FaultRule{{Path: "/a*", Rate: 1}, {Path: "/b*", Rate: 0.5}}}},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParseFaults(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"rate=2", "rate=x", "codes=200", "codes=abc", "latency=fast", "path=groups", "bogus=1", "retry-after=-1", "rate"} {
		t.Run("bad "+bad, func(t *testing.T) {
			if _, err := ParseFaults(bad); !errors.Is(err, ErrFaultSpec) {
				t.Errorf("err = %v, want ErrFaultSpec", err)
			}
		})
	}
}

// injectFaults sets the simulator's faults from spec until the (sub)test
// ends.
func (s *sim) injectFaults(t *testing.T, spec string) {
	t.Helper()
	cfg, err := ParseFaults(spec)
	if err != nil {
		t.Fatal(err)
	}
	s.srv.SetFaults(cfg)
	t.Cleanup(func() { s.srv.SetFaults(FaultConfig{}) })
}

func TestFaultInjection(t *testing.T) {
	s := newSim(t, Options{Users: 5, Seed: 1})
	t.Run("429 with Retry-After seconds and throttle headers", func(t *testing.T) {
		s.injectFaults(t, "rate=1;codes=429;retry-after=3")
		r := s.get("/v1.0/users")
		if r.status != 429 || r.errCode(t) != codeThrottled {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r.header.Get("Retry-After") != "3" {
			t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
		}
		if r.header.Get("x-ms-throttle-information") != "ResourceUnitLimitExceeded" || r.header.Get("x-ms-throttle-scope") == "" {
			t.Errorf("throttle headers %v", r.header)
		}
		w := s.do("POST", "/v1.0/groups", s.tok, map[string]any{})
		if w.header.Get("x-ms-throttle-information") != "WriteLimitExceeded" {
			t.Errorf("write throttle info %q", w.header.Get("x-ms-throttle-information"))
		}
	})
	t.Run("429 without Retry-After", func(t *testing.T) {
		s.injectFaults(t, "rate=1;codes=429;no-retry-after")
		r := s.get("/v1.0/users")
		if r.status != 429 {
			t.Fatalf("status %d", r.status)
		}
		if _, ok := r.header["Retry-After"]; ok {
			t.Errorf("Retry-After present: %v", r.header)
		}
	})
	t.Run("Retry-After as HTTP date", func(t *testing.T) {
		s.injectFaults(t, "rate=1;codes=503;retry-after-date;retry-after=5")
		r := s.get("/v1.0/users")
		if r.status != 503 || r.errCode(t) != codeUnavailable {
			t.Fatalf("%d %s", r.status, r.body)
		}
		when, err := http.ParseTime(r.header.Get("Retry-After"))
		if err != nil {
			t.Fatalf("Retry-After %q: %v", r.header.Get("Retry-After"), err)
		}
		if d := time.Until(when); d < 2*time.Second || d > 7*time.Second {
			t.Errorf("Retry-After %v away", d)
		}
	})
	t.Run("codes in turn", func(t *testing.T) {
		s.injectFaults(t, "rate=1;codes=429,503,504")
		var got []int
		for range 4 {
			got = append(got, s.get("/v1.0/users").status)
		}
		if !reflect.DeepEqual(got, []int{429, 503, 504, 429}) {
			t.Errorf("statuses %v", got)
		}
	})
	t.Run("rate is roughly honoured", func(t *testing.T) {
		s.injectFaults(t, "rate=0.3;codes=503")
		failed := 0
		for range 400 {
			if s.get("/v1.0/organization").status == 503 {
				failed++
			}
		}
		if failed < 80 || failed > 160 {
			t.Errorf("%d of 400 failed at rate 0.3", failed)
		}
	})
	t.Run("per-path rule", func(t *testing.T) {
		s.injectFaults(t, "path=/v1.0/groups*;rate=1;codes=503")
		if r := s.get("/v1.0/groups"); r.status != 503 {
			t.Errorf("groups: %d", r.status)
		}
		if r := s.get("/v1.0/users"); r.status != 200 {
			t.Errorf("users: %d", r.status)
		}
	})
	t.Run("latency", func(t *testing.T) {
		s.injectFaults(t, "latency=30ms")
		start := time.Now()
		s.mustStatus(s.get("/v1.0/organization"), 200)
		if time.Since(start) < 30*time.Millisecond {
			t.Errorf("no latency added")
		}
	})
	t.Run("fail next writes", func(t *testing.T) {
		s.srv.FailNextWrites(2, 503)
		body := map[string]any{"displayName": "FNW", "mailNickname": "fnw", "mailEnabled": false, "securityEnabled": true}
		s.mustStatus(s.get("/v1.0/users"), 200) // reads are not affected
		for i := range 2 {
			r := s.do("POST", "/v1.0/groups", s.tok, body)
			if r.status != 503 || r.header.Get("Retry-After") == "" {
				t.Fatalf("write %d: %d %v", i, r.status, r.header)
			}
		}
		s.mustStatus(s.do("POST", "/v1.0/groups", s.tok, body), 201)
	})
	t.Run("control endpoints", func(t *testing.T) {
		s.mustStatus(s.do("POST", "/_sim/faults", "", "path=/v1.0/users*;rate=1;codes=504"), 204)
		if r := s.get("/v1.0/users"); r.status != 504 {
			t.Errorf("after /_sim/faults: %d", r.status)
		}
		s.mustStatus(s.do("POST", "/_sim/faults", "", ""), 204)
		s.mustStatus(s.get("/v1.0/users"), 200)
		if r := s.do("POST", "/_sim/faults", "", "rate=9"); r.status != 400 {
			t.Errorf("bad spec: %d", r.status)
		}
		s.mustStatus(s.do("POST", "/_sim/fail-next-writes?n=1&code=429", "", nil), 204)
		r := s.do("POST", "/v1.0/groups", s.tok, map[string]any{})
		if r.status != 429 {
			t.Errorf("after fail-next-writes: %d", r.status)
		}
	})
	t.Run("audit records writes with status", func(t *testing.T) {
		a := s.srv.Audit()
		if len(a) == 0 {
			t.Fatal("empty audit")
		}
		last := a[len(a)-1]
		if last.Method != "POST" || last.Path != "/v1.0/groups" || last.Status != 429 || last.Tenant != DefaultTenant {
			t.Errorf("last audit entry %+v", last)
		}
		for _, e := range a {
			if e.Method == "GET" {
				t.Fatalf("GET audited: %+v", e)
			}
		}
		var got []AuditEntry
		m := s.mustStatus(s.do("GET", "/_sim/audit", "", nil), 200)
		if err := json.Unmarshal(m.body, &got); err != nil || len(got) != len(a) {
			t.Errorf("/_sim/audit: %d entries, err %v", len(got), err)
		}
		a[0].Method = "MUTATED"
		if s.srv.Audit()[0].Method == "MUTATED" {
			t.Error("Audit returned shared storage")
		}
	})
}
