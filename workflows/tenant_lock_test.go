package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
)

// TestTenantLock: the first asker holds the lock, a second is refused
// naming the holder, a third that asks to queue waits and is signalled the
// lock when the holder's run closes; a repeated ask is answered the same;
// the lock ends when nobody holds or waits.
func TestTenantLock(t *testing.T) {
	env := newEnv()
	env.RegisterWorkflowWithOptions(TenantLock, workflowOptions(TenantLockWorkflowName))
	var la *activities.LockActivities
	env.RegisterActivity(la)
	req := func(id string, queue bool) activities.LockRequest {
		return activities.LockRequest{WorkflowID: id, RunID: "run-" + id, Plan: id, StartedBy: "ops", Queue: queue}
	}
	// The holder A's run closes after 10 s, then C's after 5 s.
	env.OnActivity(la.WatchRollout, mock.Anything, mock.MatchedBy(func(in activities.WatchInput) bool { return in.WorkflowID == "A" })).
		After(10*time.Second).Return(activities.WatchResult{Closed: true, Status: "COMPLETED"}, nil)
	env.OnActivity(la.WatchRollout, mock.Anything, mock.MatchedBy(func(in activities.WatchInput) bool { return in.WorkflowID == "C" })).
		After(5*time.Second).Return(activities.WatchResult{Closed: true, Status: "FAILED"}, nil)
	granted := false
	env.OnSignalExternalWorkflow(mock.Anything, "C", "", SignalTenantGranted, "run-C").Return(nil).Run(func(mock.Arguments) { granted = true }).Once()

	replies := map[string]activities.LockReply{}
	ask := func(at time.Duration, name string, r activities.LockRequest) {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(UpdateAcquire, name, &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) { t.Errorf("%s rejected: %v", name, err) },
				OnComplete: func(v interface{}, err error) {
					if err != nil {
						t.Errorf("%s: %v", name, err)
						return
					}
					replies[name] = v.(activities.LockReply)
				},
			}, r)
		}, at)
	}
	ask(time.Second, "a", req("A", false))
	ask(2*time.Second, "b", req("B", false))
	ask(3*time.Second, "c", req("C", true))
	ask(4*time.Second, "c-again", req("C", true))
	ask(5*time.Second, "a-again", req("A", false))
	// A new run of A means A's run closed (one run per workflow id): the
	// lock passes to C, who queued first, and the new run is refused.
	a2 := req("A", false)
	a2.RunID = "run-A2"
	ask(7*time.Second, "a-new-run", a2)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryLock)
		var st TenantLockState
		if err != nil || v.Get(&st) != nil || st.Holder == nil || st.Holder.WorkflowID != "A" || len(st.Queue) != 1 {
			t.Errorf("lock state at 6 s: %+v (%v)", st, err)
		}
	}, 6500*time.Millisecond)
	env.ExecuteWorkflow(TenantLockWorkflowName, TenantLockInput{TenantID: "tid", Tenant: "contoso.onmicrosoft.com"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("lock workflow: completed %t, err %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	for name, want := range map[string]activities.LockReply{
		"a":         {Verdict: activities.LockGranted},
		"b":         {Verdict: activities.LockRefused, Holder: req("A", false)},
		"c":         {Verdict: activities.LockQueued, Holder: req("A", false), Position: 1},
		"c-again":   {Verdict: activities.LockQueued, Holder: req("A", false), Position: 1},
		"a-again":   {Verdict: activities.LockGranted},
		"a-new-run": {Verdict: activities.LockRefused, Holder: req("C", true)},
	} {
		if got := replies[name]; got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	if !granted {
		t.Error("the queued rollout was never told it holds the lock")
	}
}

func workflowOptions(name string) workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: name}
}
