package approval

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidToken(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"alice", true}, {"r-2026_11", true}, {"0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{"", false}, {"a.b", false}, {"*", false}, {">", false}, {"a b", false}, {"a\tb", false},
		{"é", false}, {"a\x00", false}, {strings.Repeat("a", 128), true}, {strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		if got := ValidToken(tt.in); got != tt.want {
			t.Errorf("ValidToken(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSubjects(t *testing.T) {
	tests := []struct {
		name    string
		build   func() (string, error)
		want    string
		wantErr bool
	}{
		{"request", func() (string, error) { return RequestSubject("acme", "r1", "pilot") }, "ssprflow.acme.r1.approval.request.pilot", false},
		{"decision", func() (string, error) { return DecisionSubject("acme", "r1", "alice") }, "ssprflow.acme.r1.approval.decision.alice", false},
		{"verdict", func() (string, error) { return VerdictSubject("acme", "r1", "alice", "d-1") }, "ssprflow.acme.r1.approval.verdict.alice.d-1", false},
		{"pending", func() (string, error) { return serviceSubject("pending", "acme", "r1", "alice") }, "ssprflow.acme.r1.pending.alice", false},
		{"verdict without approver", func() (string, error) { return VerdictSubject("acme", "r1", "", "d-1") }, "", true},
		{"wildcard pending user", func() (string, error) { return serviceSubject("pending", "acme", "r1", ">") }, "", true},
		{"event", func() (string, error) { return EventSubject("acme", "r1", "step.completed") }, "ssprflow.acme.r1.event.step.completed", false},
		{"dotted tenant", func() (string, error) { return RequestSubject("contoso.onmicrosoft.com", "r1", "pilot") }, "", true},
		{"wildcard approver", func() (string, error) { return DecisionSubject("acme", "r1", "*") }, "", true},
		{"empty rollout", func() (string, error) { return VerdictSubject("acme", "", "alice", "d") }, "", true},
		{"bad kind", func() (string, error) { return EventSubject("acme", "r1", "step..done") }, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.build()
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("err = %v, want ErrInvalidToken", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestRequestValidate(t *testing.T) {
	ok := Request{ID: RequestID("sspr/acme/r1", "run-1", "pilot", 1), Tenant: "acme", Rollout: "r1", Gate: "pilot", Approvers: []string{"alice", "bob"}, Quorum: 2, ExpiresAt: time.Now().Add(time.Hour)}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid request: %v", err)
	}
	tests := map[string]func(*Request){
		"no id":          func(r *Request) { r.ID = "" },
		"quorum 0":       func(r *Request) { r.Quorum = 0 },
		"quorum > n":     func(r *Request) { r.Quorum = 3 },
		"dup approver":   func(r *Request) { r.Approvers = []string{"alice", "alice"} },
		"bad approver":   func(r *Request) { r.Approvers = []string{"alice@contoso.com"} },
		"no approvers":   func(r *Request) { r.Approvers = nil },
		"no expiry":      func(r *Request) { r.ExpiresAt = time.Time{} },
		"dotted rollout": func(r *Request) { r.Rollout = "r.1" },
	}
	for name, mutate := range tests {
		r := ok
		mutate(&r)
		if err := r.Validate(); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
}

func TestEventIDs(t *testing.T) {
	a := NewEvent("step.completed", "/w", "pilot", map[string]int{"n": 1}).WithID("wf", "step", "1")
	b := NewEvent("step.completed", "/w", "pilot", nil).WithID("wf", "step", "1")
	c := NewEvent("step.completed", "/w", "pilot", nil).WithID("wf", "step", "2")
	if a.ID != b.ID || a.ID == c.ID {
		t.Fatalf("ids not deterministic: %s %s %s", a.ID, b.ID, c.ID)
	}
	if NewEvent("x", "/w", "", nil).ID == NewEvent("x", "/w", "", nil).ID {
		t.Fatal("random ids repeat")
	}
	if a.SpecVersion != "1.0" || a.Type != "io.ssprflow.step.completed" || a.Kind() != "step.completed" || string(a.Data) != `{"n":1}` {
		t.Fatalf("event fields: %+v", a)
	}
	bad := NewEvent("x", "/w", "", func() {})
	if err := bad.validate(); err == nil {
		t.Fatal("unencodable data not reported")
	}
}

// Service subjects come off the network: whatever parses must name valid
// tokens and round-trip, so the operator id is exactly the last token.
func FuzzParseServiceSubject(f *testing.F) {
	f.Add("ssprflow.contoso_onmicrosoft_com.sspr-pilot.start.alice")
	f.Add("ssprflow.a.b.start.")
	f.Add("ssprflow.a.b.start.c.d")
	f.Add("ssprflow.*.>.start.alice")
	f.Fuzz(func(t *testing.T, subject string) {
		tenant, rollout, operator, err := parseServiceSubject("start", subject)
		if err != nil {
			return
		}
		back, err := serviceSubject("start", tenant, rollout, operator)
		if err != nil || back != subject {
			t.Fatalf("%q parsed to %q %q %q, back to %q (%v)", subject, tenant, rollout, operator, back, err)
		}
		if p, err := RolePermissions(RoleOperator, operator); err != nil || len(p.Publish) == 0 {
			t.Fatalf("valid operator %q has no permissions", operator)
		}
	})
}
