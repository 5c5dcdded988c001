package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ssprflow/ssprflow/internal/dial"
)

// approver returns the connection of an approver user (alice or bob).
func (e *env) approver(t testing.TB, id string) (*nats.Conn, jetstream.JetStream) {
	return e.connect(t, id)
}

func decide(t testing.TB, e *env, nc *nats.Conn, js jetstream.JetStream, approverID string, d Decision, wait time.Duration) (Verdict, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait+10*time.Second)
	defer cancel()
	return PublishDecision(ctx, nc, js, e.tenant, e.rollout, approverID, d, wait)
}

// decisionEvents returns the rollout's approval.decision events' data.
func decisionEvents(t testing.TB, e *env, js jetstream.JetStream) []decisionEventData {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := ListEvents(ctx, js, e.tenant, e.rollout)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	var out []decisionEventData
	for _, ev := range evs {
		if ev.Kind() != KindDecision {
			continue
		}
		var d decisionEventData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatalf("event data: %v", err)
		}
		out = append(out, d)
	}
	return out
}

func TestDecisionRoundTrip(t *testing.T) {
	e := newEnv(t)
	fake := newFakeDecider(e)
	runBridge(t, e.newTestBridge(t, fake, BridgeOptions{}))
	nc, js := e.approver(t, "alice")

	d := Decision{Gate: "pilot", Verdict: VerdictApprove, Comment: "metrics look fine", RequestID: RequestID(e.workflowID(), "run-1", "pilot", 1)}
	d.ID = NewDecisionID()
	v, err := decide(t, e, nc, js, "alice", d, 10*time.Second)
	if err != nil {
		t.Fatalf("PublishDecision: %v", err)
	}
	if !v.Accepted || v.DecisionID != d.ID || v.GateState != "approved" {
		t.Fatalf("verdict %+v", v)
	}
	// A retry of the same decision is answered again and applied once,
	// although JetStream de-duplicates the first re-publish.
	v2, err := decide(t, e, nc, js, "alice", d, 10*time.Second)
	if err != nil || v2 != v {
		t.Fatalf("retry: %+v, %v; want %+v", v2, err, v)
	}
	// A decision the workflow refuses is answered, not retried.
	v3, err := decide(t, e, nc, js, "alice", Decision{Gate: "waves", Verdict: VerdictReject}, 10*time.Second)
	if err != nil || v3.Accepted || !strings.Contains(v3.Reason, "no open gate") {
		t.Fatalf("refused decision: %+v, %v", v3, err)
	}
	if calls, distinct := fake.stats(); distinct != 1 || calls != 3 {
		t.Fatalf("decider calls=%d distinct=%d, want 3 and 1", calls, distinct)
	}
	// The audit trail names the approver taken from the subject, never the
	// comment; the approver can read it.
	evs := decisionEvents(t, e, js)
	if len(evs) != 2 {
		t.Fatalf("decision events %+v, want 2", evs)
	}
	if evs[0].Approver != "alice" || evs[0].DecisionID != d.ID || !evs[0].Accepted || evs[0].Gate != "pilot" {
		t.Fatalf("event %+v", evs[0])
	}
	if evs[1].Accepted || evs[1].Reason == "" {
		t.Fatalf("refusal event %+v", evs[1])
	}
	raw, _ := json.Marshal(evs)
	if strings.Contains(string(raw), "metrics look fine") {
		t.Fatal("comment leaked into events")
	}
}

func TestApproverCannotImpersonate(t *testing.T) {
	needInProcess(t)
	e := newEnv(t)
	fake := newFakeDecider(e)
	runBridge(t, e.newTestBridge(t, fake, BridgeOptions{}))
	nc, js := e.approver(t, "alice")

	_, err := decide(t, e, nc, js, "bob", Decision{Gate: "pilot", Verdict: VerdictApprove}, 2*time.Second)
	if !errors.Is(err, ErrNotPermitted) || !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("alice deciding as bob: err = %v, want ErrNotPermitted", err)
	}
	if n := countOn(t, e, mustSubject(DecisionSubject(e.tenant, e.rollout, "bob"))); n != 0 {
		t.Fatalf("%d forged decisions stored", n)
	}
	// Nor can she forge a verdict, a request or an event.
	for _, subject := range []string{
		mustSubject(VerdictSubject(e.tenant, e.rollout, "alice", "x")),
		mustSubject(RequestSubject(e.tenant, e.rollout, "pilot")),
		mustSubject(EventSubject(e.tenant, e.rollout, "approval.decision")),
	} {
		if err := nc.Publish(subject, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "permission violation on "+subject, func() bool { return dial.PermissionError(nc, subject) != nil })
	}
	// Bob himself can.
	bnc, bjs := e.approver(t, "bob")
	v, err := decide(t, e, bnc, bjs, "bob", Decision{Gate: "pilot", Verdict: VerdictApprove}, 10*time.Second)
	if err != nil || !v.Accepted {
		t.Fatalf("bob's decision: %+v, %v", v, err)
	}
	if _, distinct := fake.stats(); distinct != 1 {
		t.Fatalf("distinct decisions applied = %d, want 1", distinct)
	}
}

func TestMalformedDecisionsAreTerminatedAndRecorded(t *testing.T) {
	e := newEnv(t)
	fake := newFakeDecider(e)
	b := e.newTestBridge(t, fake, BridgeOptions{})
	runBridge(t, b)
	nc, js := e.approver(t, "alice")
	subject := mustSubject(DecisionSubject(e.tenant, e.rollout, "alice"))

	verdicts, err := nc.SubscribeSync(mustSubject(VerdictSubject(e.tenant, e.rollout, "alice", "bad-1")))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bodies := [][]byte{
		[]byte(`{"id":"bad-1","gate":"pilot","verdict":"maybe"}`), // answerable
		[]byte(`{not json`), // no id
		[]byte(`{"id":"big","gate":"pilot","verdict":"approve","comment":"` + strings.Repeat("x", 10<<10) + `"}`), // > 8 KiB, < 16 KiB
	}
	for _, body := range bodies {
		if _, err := js.Publish(ctx, subject, body); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	msg, err := verdicts.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no verdict for malformed decision: %v", err)
	}
	var v Verdict
	if err := json.Unmarshal(msg.Data, &v); err != nil || v.Accepted || !strings.Contains(v.Reason, "verdict must be") {
		t.Fatalf("verdict %+v, %v", v, err)
	}
	eventually(t, 10*time.Second, "three malformed events", func() bool { return len(decisionEvents(t, e, js)) == 3 })
	for _, ev := range decisionEvents(t, e, js) {
		if !ev.Malformed || ev.Accepted || ev.Approver != "alice" || ev.Reason == "" {
			t.Errorf("event %+v", ev)
		}
		if strings.Contains(ev.Reason, "xxxx") {
			t.Errorf("event echoes the body: %.80s", ev.Reason)
		}
	}
	// Terminated, not pending or waiting for redelivery.
	cons, err := e.js.Consumer(ctx, ApprovalsStream, b.opts.Durable)
	if err != nil {
		t.Fatal(err)
	}
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("consumer: %s", last)
		}
	}()
	eventually(t, 10*time.Second, "all terminated", func() bool {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Logf("consumer info: %v", err)
			return false
		}
		if info.NumAckPending == 0 && info.NumPending == 0 && info.NumRedelivered == 0 {
			return true
		}
		last = fmt.Sprintf("ack pending %d, pending %d, redelivered %d", info.NumAckPending, info.NumPending, info.NumRedelivered)
		return false
	})
	if calls, _ := fake.stats(); calls != 0 {
		t.Fatalf("decider called %d times for malformed decisions", calls)
	}
}

func TestDeciderErrorIsRetried(t *testing.T) {
	e := newEnv(t)
	fake := newFakeDecider(e)
	fake.failFirst = 3
	runBridge(t, e.newTestBridge(t, fake, BridgeOptions{RetryDelay: 50 * time.Millisecond}))
	nc, js := e.approver(t, "alice")
	v, err := decide(t, e, nc, js, "alice", Decision{Gate: "pilot", Verdict: VerdictApprove}, 15*time.Second)
	if err != nil || !v.Accepted {
		t.Fatalf("verdict %+v, %v", v, err)
	}
	if calls, distinct := fake.stats(); calls != 4 || distinct != 1 {
		t.Fatalf("calls=%d distinct=%d, want 4 and 1", calls, distinct)
	}
	if evs := decisionEvents(t, e, js); len(evs) != 1 || !evs[0].Accepted {
		t.Fatalf("events %+v", evs)
	}
}

func TestDeciderFailingForeverGetsFinalAnswer(t *testing.T) {
	e := newEnv(t)
	fake := newFakeDecider(e)
	fake.failFirst = 1 << 30
	runBridge(t, e.newTestBridge(t, fake, BridgeOptions{MaxDeliver: 3, RetryDelay: 20 * time.Millisecond}))
	nc, js := e.approver(t, "alice")
	v, err := decide(t, e, nc, js, "alice", Decision{Gate: "pilot", Verdict: VerdictApprove}, 15*time.Second)
	if err != nil || v.Accepted || !strings.Contains(v.Reason, "after 3 attempts") {
		t.Fatalf("verdict %+v, %v", v, err)
	}
	if calls, distinct := fake.stats(); calls != 3 || distinct != 0 {
		t.Fatalf("calls=%d distinct=%d", calls, distinct)
	}
}

func TestBridgeKilledBeforeAck(t *testing.T) {
	e := newEnv(t)
	fake := newFakeDecider(e)
	durable := "test-" + randHex(6)
	first := e.newTestBridge(t, fake, BridgeOptions{Durable: durable, AckWait: time.Second})
	var stopFirst func() error
	killed := make(chan struct{})
	first.beforeAck = func(Decision) {
		// Crash after the workflow applied the decision, before the verdict
		// and the ack.
		go func() { _ = stopFirst(); close(killed) }()
		<-time.After(200 * time.Millisecond) // let the cancel land first
	}
	_, stopFirst = runBridge(t, first)

	nc, js := e.approver(t, "alice")
	type result struct {
		v   Verdict
		err error
	}
	res := make(chan result, 1)
	go func() {
		v, err := decide(t, e, nc, js, "alice", Decision{Gate: "pilot", Verdict: VerdictApprove}, 20*time.Second)
		res <- result{v, err}
	}()
	select {
	case <-killed:
	case <-time.After(10 * time.Second):
		t.Fatal("first bridge never reached the ack")
	}
	if calls, distinct := fake.stats(); calls != 1 || distinct != 1 {
		t.Fatalf("after crash: calls=%d distinct=%d", calls, distinct)
	}
	if len(decisionEvents(t, e, js)) != 0 {
		t.Fatal("crashed bridge recorded an event")
	}
	// A new bridge on the same durable gets the redelivery and answers.
	runBridge(t, e.newTestBridge(t, fake, BridgeOptions{Durable: durable, AckWait: time.Second}))
	r := <-res
	if r.err != nil || !r.v.Accepted {
		t.Fatalf("verdict after restart %+v, %v", r.v, r.err)
	}
	if calls, distinct := fake.stats(); calls != 2 || distinct != 1 {
		t.Fatalf("calls=%d distinct=%d, want 2 and 1 (applied exactly once)", calls, distinct)
	}
	if evs := decisionEvents(t, e, js); len(evs) != 1 {
		t.Fatalf("events %+v, want 1", evs)
	}
}

func TestBridgeSurvivesServerRestart(t *testing.T) {
	needInProcess(t)
	e := newEnv(t)
	fake := newFakeDecider(e)
	runBridge(t, e.newTestBridge(t, fake, BridgeOptions{}))
	nc, js := e.approver(t, "alice")
	if v, err := decide(t, e, nc, js, "alice", Decision{Gate: "pilot", Verdict: VerdictApprove}, 10*time.Second); err != nil || !v.Accepted {
		t.Fatalf("before restart: %+v, %v", v, err)
	}

	before, svcBefore := nc.Stats().Reconnects, e.svc.Stats().Reconnects
	e.srv.restart(t)
	eventually(t, 10*time.Second, "clients reconnected", func() bool {
		return nc.IsConnected() && e.svc.IsConnected() && nc.Stats().Reconnects > before && e.svc.Stats().Reconnects > svcBefore
	})

	v, err := decide(t, e, nc, js, "alice", Decision{Gate: "pilot", Verdict: VerdictReject}, 20*time.Second)
	if err != nil || !v.Accepted || v.GateState != "rejected" {
		t.Fatalf("after restart: %+v, %v", v, err)
	}
	if _, distinct := fake.stats(); distinct != 2 {
		t.Fatalf("distinct=%d, want 2", distinct)
	}
}

func TestNoBridgeMeansNoVerdict(t *testing.T) {
	e := newEnv(t)
	nc, js := e.approver(t, "alice")
	_, err := decide(t, e, nc, js, "alice", Decision{Gate: "pilot", Verdict: VerdictApprove}, 300*time.Millisecond)
	if !errors.Is(err, ErrNoVerdict) || !strings.Contains(err.Error(), "bridge may be down") {
		t.Fatalf("err = %v, want ErrNoVerdict", err)
	}
	if _, err := decide(t, e, nc, js, "alice", Decision{Gate: "pilot", Verdict: "yes"}, time.Second); !errors.Is(err, ErrInvalidVerdict) {
		t.Fatalf("err = %v, want ErrInvalidVerdict", err)
	}
}
