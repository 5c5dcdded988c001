package approval

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// atRecorder passes decisions on to a Decider and keeps the time each one
// arrived with.
type atRecorder struct {
	Decider
	mu sync.Mutex
	at map[string]time.Time
}

func (r *atRecorder) Decide(ctx context.Context, tenant, rollout string, d Decision) (Verdict, error) {
	r.mu.Lock()
	r.at[d.ID] = d.At
	r.mu.Unlock()
	return r.Decider.Decide(ctx, tenant, rollout, d)
}

func (r *atRecorder) get(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.at[id]
	return at, ok
}

// The approval time the workflow records is the server's, not the
// approver's: a body claiming "at" is refused, and a decision published
// with an old d.At arrives stamped with the time the server stored it.
func TestDecisionTimeIsTheServers(t *testing.T) {
	e := newEnv(t)
	rec := &atRecorder{Decider: newFakeDecider(e), at: map[string]time.Time{}}
	runBridge(t, e.newTestBridge(t, rec, BridgeOptions{}))
	nc, js := e.approver(t, "alice")
	claimed := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

	// A hand-made body with its own time: refused, never decided.
	verdicts, err := nc.SubscribeSync(mustSubject(VerdictSubject(e.tenant, e.rollout, "alice", "forged-at")))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	body := `{"id":"forged-at","gate":"pilot","verdict":"approve","at":"2001-01-01T00:00:00Z"}`
	if _, err := js.Publish(ctx, mustSubject(DecisionSubject(e.tenant, e.rollout, "alice")), []byte(body)); err != nil {
		t.Fatalf("publish: %v", err)
	}
	msg, err := verdicts.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no verdict for a decision carrying its own time: %v", err)
	}
	var v Verdict
	if err := json.Unmarshal(msg.Data, &v); err != nil || v.Accepted || !strings.Contains(v.Reason, `"at"`) {
		t.Fatalf("verdict %+v, %v; want refused for the field \"at\"", v, err)
	}
	if at, ok := rec.get("forged-at"); ok {
		t.Fatalf("decision with a claimed time reached the workflow, at %v", at)
	}

	// Through the client, with an old d.At: accepted, stamped by the server.
	d := Decision{ID: NewDecisionID(), Gate: "pilot", Verdict: VerdictApprove, RequestID: RequestID(e.workflowID(), "run-1", "pilot", 1), At: claimed}
	before := time.Now()
	v, err = decide(t, e, nc, js, "alice", d, 10*time.Second)
	after := time.Now()
	if err != nil || !v.Accepted {
		t.Fatalf("decision: %+v, %v", v, err)
	}
	at, ok := rec.get(d.ID)
	if !ok {
		t.Fatal("decision not decided")
	}
	// The in-process server shares our clock; allow for rounding.
	if at.Before(before.Add(-time.Second)) || at.After(after.Add(time.Second)) {
		t.Fatalf("decision time %v, want the server's time between %v and %v (claimed %v)", at, before, after, claimed)
	}
}
