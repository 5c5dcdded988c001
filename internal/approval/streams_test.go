package approval

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestEnsureStreamsIsIdempotent(t *testing.T) {
	e := newEnv(t) // first EnsureStreams
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	before := map[string]*jetstream.StreamInfo{}
	for _, name := range []string{ApprovalsStream, EventsStream} {
		s, err := e.js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		before[name] = s.CachedInfo()
	}
	req := testRequest(e, "pilot", 1)
	if err := PublishRequest(ctx, e.js, req); err != nil {
		t.Fatalf("PublishRequest: %v", err)
	}
	if err := EnsureStreams(ctx, e.js); err != nil {
		t.Fatalf("second EnsureStreams: %v", err)
	}
	for name, b := range before {
		s, err := e.js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		a := s.CachedInfo()
		if !a.Created.Equal(b.Created) || !reflect.DeepEqual(a.Config, b.Config) {
			t.Errorf("%s changed:\nbefore %+v\nafter  %+v", name, b.Config, a.Config)
		}
	}
	cfg := before[ApprovalsStream].Config
	if cfg.Storage != jetstream.FileStorage || cfg.MaxAge != 30*24*time.Hour || cfg.Duplicates != 10*time.Minute || cfg.MaxMsgSize != 16<<10 || cfg.Retention != jetstream.LimitsPolicy {
		t.Errorf("approvals stream config: %+v", cfg)
	}
	if got := before[EventsStream].Config.MaxAge; got != 90*24*time.Hour {
		t.Errorf("events max age %v", got)
	}
	if n := countOn(t, e, mustSubject(RequestSubject(e.tenant, e.rollout, "pilot"))); n != 1 {
		t.Errorf("request count after second EnsureStreams = %d, want 1", n)
	}
}

func TestPublishRequestDeduplicates(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := testRequest(e, "pilot", 1)
	for range 2 {
		if err := PublishRequest(ctx, e.js, req); err != nil {
			t.Fatalf("PublishRequest: %v", err)
		}
	}
	subject := mustSubject(RequestSubject(e.tenant, e.rollout, "pilot"))
	if n := countOn(t, e, subject); n != 1 {
		t.Fatalf("stored %d requests, want 1", n)
	}
	// The next attempt of the gate is a new request.
	if err := PublishRequest(ctx, e.js, testRequest(e, "pilot", 2)); err != nil {
		t.Fatalf("PublishRequest attempt 2: %v", err)
	}
	if n := countOn(t, e, subject); n != 2 {
		t.Fatalf("stored %d requests, want 2", n)
	}
	s, err := e.js.Stream(ctx, ApprovalsStream)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	var got Request
	if err := json.Unmarshal(msg.Data, &got); err != nil || got.ID != RequestID(e.workflowID(), "run-1", "pilot", 2) || got.Metrics["registered_pct"] != 87.5 {
		t.Fatalf("stored request %+v, %v", got, err)
	}
	bad := req
	bad.Quorum = 5
	if err := PublishRequest(ctx, e.js, bad); err == nil {
		t.Fatal("invalid request published")
	}
}

func testRequest(e *env, gate string, attempt int) Request {
	now := time.Now().UTC()
	return Request{
		ID: RequestID(e.workflowID(), "run-1", gate, attempt), Tenant: e.tenant, Rollout: e.rollout,
		WorkflowID: "rollout-" + e.rollout, Gate: gate, Attempt: attempt, Stage: "pilot", NextStage: "waves",
		Summary: "enable SSPR for wave 1 (120 users)", Metrics: map[string]float64{"registered_pct": 87.5},
		Approvers: []string{"alice", "bob"}, Quorum: 1, ExpiresAt: now.Add(24 * time.Hour), RequestedAt: now,
	}
}

func mustSubject(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

// countOn returns how many messages the approvals stream holds on subject.
func countOn(t testing.TB, e *env, subject string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, ApprovalsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subject]
}
