package approval

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

type fixedDiffer struct{ got chan string }

func (f fixedDiffer) Diff(_ context.Context, tenant, rollout, operator string, req DiffRequest) (DiffReply, error) {
	f.got <- operator + ":" + string(req.Plan)
	if string(req.Plan) == "bad" {
		return DiffReply{}, errors.New("plan.yaml: spec.methods: unknown method")
	}
	return DiffReply{Plan: rollout, Tenant: tenant, Changes: []SettingDiff{{Field: "scope", From: "none", To: "selected"}}}, nil
}

// `plan diff` is answered by a worker, which holds the tenant credentials:
// an operator gets the changes (or the worker's error); an approver may not
// ask, and nobody may ask in someone else's name.
func TestDiffRequests(t *testing.T) {
	e := newEnv(t)
	ops, _ := e.connect(t, "ops")
	d := fixedDiffer{got: make(chan string, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeDiffs(ctx, e.svc, d, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServeDiffs: %v", err)
		}
	})

	r, err := RequestDiff(context.Background(), ops, e.tenant, e.rollout, "ops", DiffRequest{Plan: []byte("good")}, 10*time.Second)
	if err != nil || len(r.Changes) != 1 || r.Changes[0].To != "selected" || r.Tenant != e.tenant {
		t.Fatalf("diff: %+v, %v", r, err)
	}
	if got := <-d.got; got != "ops:good" {
		t.Errorf("differ saw %q, want the authenticated operator and the plan", got)
	}
	if _, err := RequestDiff(context.Background(), ops, e.tenant, e.rollout, "ops", DiffRequest{Plan: []byte("bad")}, 10*time.Second); err == nil || !strings.Contains(err.Error(), "unknown method") {
		t.Errorf("refused diff: %v, want the worker's error", err)
	}
	<-d.got
	if e.srv == nil {
		return // an external server's users are not ours
	}
	alice, _ := e.connect(t, "alice")
	for _, tc := range []struct {
		nc *nats.Conn
		as string
	}{{alice, "alice"}, {ops, "alice"}} {
		if _, err := RequestDiff(context.Background(), tc.nc, e.tenant, e.rollout, tc.as, DiffRequest{Plan: []byte("good")}, 2*time.Second); !errors.Is(err, ErrNotPermitted) {
			t.Errorf("%s asking as %s: %v, want ErrNotPermitted", tc.nc.Opts.User, tc.as, err)
		}
	}
	select {
	case got := <-d.got:
		t.Errorf("a refused diff request reached the worker: %q", got)
	default:
	}
}
