package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// rolledOut runs the test plan to success: its tenant and directory are as
// a finished rollout leaves them.
func rolledOut(t *testing.T) (*harness, State) {
	t.Helper()
	h := newHarness(t)
	h.decide(time.Minute, approve("d1", "alice", "pilot"), false, t)
	st, err := h.run(t, testPlan())
	if err != nil || st.Status != StatusSucceeded {
		t.Fatalf("rollout: %v %s", err, st.Status)
	}
	return h, st
}

// TestRevert: a revert of a finished rollout undoes its recorded changes
// only after an approver agrees; cancelled or rejected before that, or
// started with another plan than the run's, it changes nothing.
func TestRevert(t *testing.T) {
	for _, tc := range []struct {
		name       string
		plan       func(p plan.Rollout) plan.Rollout
		then       func(h *harness)
		wantStatus Status
		restored   bool
	}{
		{name: "approved", then: func(h *harness) { h.decide(time.Minute, approve("r1", "alice", RevertStage), false, t) },
			wantStatus: StatusReverted, restored: true},
		{name: "cancelled while waiting for approval", then: func(h *harness) { h.env.RegisterDelayedCallback(h.env.CancelWorkflow, time.Minute) },
			wantStatus: StatusCancelled},
		{name: "rejected", then: func(h *harness) {
			h.decide(time.Minute, decision("r1", "bob", RevertStage, "reject"), false, t)
		}, wantStatus: StatusFailed},
		{name: "another plan than the run's", plan: func(p plan.Rollout) plan.Rollout {
			p.Spec.Directory = &plan.Directory{Profile: "elsewhere"}
			return p
		}, then: func(h *harness) {}, wantStatus: StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done, finished := rolledOut(t)
			after := done.tenant.snapshot()
			daclAfter := done.dir.daclOf("DC=example,DC=test")
			raw, _ := json.Marshal(finished)
			h := newHarness(t, func(h *harness) {
				h.tenant, h.dir, h.blobs = done.tenant, done.dir, done.blobs
				h.rollouts = func(_ context.Context, id, run string) (activities.RolloutRecord, error) {
					if run != "run-1" {
						return activities.RolloutRecord{}, errors.New("no such run")
					}
					return activities.RolloutRecord{Plan: testPlan(), State: raw}, nil
				}
			})
			p := testPlan()
			if tc.plan != nil {
				p = tc.plan(p)
			}
			tc.then(h)
			h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, SignalTenantRelease, mock.Anything).Return(nil).Maybe()
			h.env.ExecuteWorkflow(RevertWorkflowName, SignStart(testKeys, testWorkflowID, RolloutInput{Plan: p, StartedBy: "carol", StartedVia: "nats:carol", RevertRunID: "run-1"}))
			var st State
			if err := h.env.GetWorkflowResult(&st); err != nil {
				st = stateOf(t, err)
			}
			if st.Status != tc.wantStatus {
				for _, c := range st.Changes {
					t.Logf("change %s %s/%s: %+v", c.Kind, c.Stage, c.Step, c.Compensation)
				}
				t.Fatalf("status %s (%s), want %s", st.Status, st.LastError, tc.wantStatus)
			}
			got, dacl := h.tenant.snapshot(), h.dir.daclOf("DC=example,DC=test")
			if tc.restored {
				if !maps.Equal(got, done.before) || !slices.Equal(dacl, []string{"admin-ace"}) {
					t.Errorf("after the revert: tenant %v (before the rollout %v), DACL %v", got, done.before, dacl)
				}
				if st.RevertOf != "run-1" || len(st.Changes) != len(finished.Changes) {
					t.Errorf("revert of %q undid %d of %d changes", st.RevertOf, len(st.Changes), len(finished.Changes))
				}
				return
			}
			if !maps.Equal(got, after) || !slices.Equal(dacl, daclAfter) {
				t.Errorf("a revert that was not approved changed the tenant %v or the DACL %v", got, dacl)
			}
			if len(st.Changes) != 0 {
				t.Errorf("a revert that was not approved holds changes: %+v", st.Changes)
			}
		})
	}
}

// TestRevertMustBeItsOwnWorkflowType: an input that asks for a revert,
// started as the rollout's type (an older worker would run it as a whole
// rollout), is refused.
func TestRevertMustBeItsOwnWorkflowType(t *testing.T) {
	h := newHarness(t)
	h.execute(SignStart(testKeys, testWorkflowID, RolloutInput{Plan: testPlan(), StartedBy: "carol", RevertRunID: "run-1"}))
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "must be started as workflow type "+RevertWorkflowName) {
		t.Fatalf("a revert started as %s: %v", RolloutWorkflowName, err)
	}
}

func decision(id, who, gate, verdict string) approval.Decision {
	d := approve(id, who, gate)
	d.Verdict = verdict
	return d
}

// stateOf is the state a failed run carries as its error's details.
func stateOf(t *testing.T, err error) State {
	t.Helper()
	var st State
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.HasDetails() || appErr.Details(&st) != nil {
		t.Fatalf("the run failed without a state: %v", err)
	}
	return st
}
