package approval

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type fixedStarter struct{ got chan string }

func (f fixedStarter) Start(_ context.Context, tenant, rollout, operator string, req StartRequest) (StartReply, error) {
	f.got <- operator + ":" + string(req.Plan)
	if string(req.Plan) == "bad" {
		return StartReply{}, errors.New("plan.yaml: spec.methods: unknown method")
	}
	return StartReply{WorkflowID: "sspr/" + tenant + "/" + rollout}, nil
}

// A start request sent while the worker is still starting (no responders
// yet) is answered once the worker subscribes, within the caller's wait; an
// operator cannot start in someone else's name; a refusal comes back as
// the reply's error.
func TestStartRequests(t *testing.T) {
	e := newEnv(t)
	ops, _ := e.connect(t, "ops")
	st := fixedStarter{got: make(chan string, 4)}

	type result struct {
		r   StartReply
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := RequestStart(context.Background(), ops, e.tenant, e.rollout, "ops", StartRequest{Plan: []byte("good")}, 10*time.Second)
		done <- result{r, err}
	}()
	time.Sleep(700 * time.Millisecond) // the request finds no worker yet
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeStarts(ctx, e.svc, st, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServeStarts: %v", err)
		}
	})

	res := <-done
	if res.err != nil || res.r.WorkflowID != "sspr/"+e.tenant+"/"+e.rollout || res.r.Error != "" {
		t.Fatalf("start before the worker was up: %+v, %v", res.r, res.err)
	}
	if got := <-st.got; got != "ops:good" {
		t.Errorf("starter saw %q, want the authenticated operator and the plan", got)
	}

	r, err := RequestStart(context.Background(), ops, e.tenant, e.rollout, "ops", StartRequest{Plan: []byte("bad")}, 10*time.Second)
	if err != nil || r.Error == "" || r.WorkflowID != "" {
		t.Errorf("refused start: %+v, %v; want the starter's error in the reply", r, err)
	}
	<-st.got

	if e.srv != nil {
		_, err := RequestStart(context.Background(), ops, e.tenant, e.rollout, "alice", StartRequest{Plan: []byte("good")}, 3*time.Second)
		if !errors.Is(err, ErrNotPermitted) {
			t.Errorf("ops starting as alice: %v, want ErrNotPermitted", err)
		}
		select {
		case got := <-st.got:
			t.Errorf("a start in someone else's name reached the starter: %q", got)
		default:
		}
	}
}

// A start request whose reply subject is not the operator's own inbox is
// refused and logged, never answered: otherwise the worker, which may
// publish events, would publish its answer onto another rollout's audit
// trail (issue 11, attack 4). Fails on the old ServeStarts, which answered
// on any reply subject.
func TestStartRequestReplyOnlyToOwnInbox(t *testing.T) {
	e := newEnv(t)
	ops, _ := e.connect(t, "ops")
	logs := &syncBuffer{}
	st := fixedStarter{got: make(chan string, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeStarts(ctx, e.svc, st, slog.New(slog.NewTextHandler(logs, nil))) }()
	t.Cleanup(func() { cancel(); <-served })

	other := e.rollout + "x"
	target := mustSubject(EventSubject(e.tenant, other, "rollout.succeeded"))
	watch, err := e.svc.SubscribeSync(Prefix + "." + e.tenant + "." + other + ".event.>")
	if err != nil {
		t.Fatal(err)
	}
	for _, reply := range []string{target, "_INBOX.x", InboxPrefix("alice") + ".x"} {
		// Sent again until logged: ServeStarts may not have subscribed yet.
		eventually(t, 10*time.Second, "the refusal logged", func() bool {
			if err := ops.PublishRequest(mustSubject(serviceSubject("start", e.tenant, other, "ops")), reply, []byte(`{"plan":"Z29vZA=="}`)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			return strings.Contains(logs.String(), "reply="+reply)
		})
	}
	if m, err := watch.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("the worker answered onto %s: %s", m.Subject, m.Data)
	}
	if evs, err := ListEvents(context.Background(), e.js, e.tenant, other); err != nil || len(evs) != 0 {
		t.Fatalf("other rollout's trail: %+v, %v", evs, err)
	}
	select {
	case got := <-st.got:
		t.Fatalf("a refused request started a rollout: %q", got)
	default:
	}
}
