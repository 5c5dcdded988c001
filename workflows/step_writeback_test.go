package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/writeback"
)

// fakeAgent is the sync server as the workflow sees it through the agent's
// activities (the agent's own code is tested in internal/writeback).
type fakeAgent struct {
	enabled  bool
	enables  int
	restores []bool
	missing  bool // no agent polls the queue
}

func (f *fakeAgent) register(h *harness) {
	reg := func(name string, fn any) {
		h.env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	timeout := func() error {
		return temporal.NewTimeoutError(enums.TIMEOUT_TYPE_SCHEDULE_TO_START, nil)
	}
	reg(writeback.ActivityStatusWriteback, func(ctx context.Context, in writeback.StatusInput) (writeback.StatusResult, error) {
		if f.missing {
			return writeback.StatusResult{}, timeout()
		}
		return writeback.StatusResult{Enabled: f.enabled, Connector: "contoso - AAD"}, nil
	})
	reg(writeback.ActivityEnableWriteback, func(ctx context.Context, in writeback.EnableInput) (writeback.EnableResult, error) {
		prev := f.enabled
		f.enabled = true
		f.enables++
		return writeback.EnableResult{PreviousEnabled: prev, Changed: !prev, Connector: "contoso - AAD"}, nil
	})
	reg(writeback.ActivityVerifyWriteback, func(ctx context.Context, in writeback.VerifyInput) (writeback.VerifyResult, error) {
		return writeback.VerifyResult{Healthy: true, Events: []writeback.EventRecord{{ID: 31005}}}, nil
	})
	reg(writeback.ActivityRestoreWriteback, func(ctx context.Context, in writeback.RestoreInput) (writeback.RestoreResult, error) {
		f.enabled = in.PreviousEnabled
		f.restores = append(f.restores, in.PreviousEnabled)
		return writeback.RestoreResult{Changed: true, Enabled: in.PreviousEnabled}, nil
	})
}

func writebackPlan() plan.Rollout {
	p := testPlan()
	p.Spec.Writeback = plan.Writeback{Mode: plan.WritebackConnect, AgentQueue: "sync01", AgentTimeout: plan.Duration(10 * time.Minute)}
	return *p.WithDefaults()
}

func TestWritebackThroughAgentAndCompensation(t *testing.T) {
	h := newHarness(t)
	agent := &fakeAgent{}
	agent.register(h)
	h.decide(time.Minute, approval.Decision{ID: "r", Approver: "bob", Gate: "pilot", Verdict: "reject"}, false, t)
	st, _ := h.run(t, writebackPlan())
	if agent.enables != 1 {
		t.Errorf("writeback enabled %d times", agent.enables)
	}
	if agent.enabled || len(agent.restores) != 1 || agent.restores[0] {
		t.Errorf("writeback not restored to disabled: enabled=%t restores=%v", agent.enabled, agent.restores)
	}
	if st.Status != StatusRolledBack {
		t.Errorf("status %s", st.Status)
	}
}

func TestWritebackAlreadyEnabledIsLeftAlone(t *testing.T) {
	h := newHarness(t)
	agent := &fakeAgent{enabled: true}
	agent.register(h)
	h.decide(time.Minute, approval.Decision{ID: "r", Approver: "bob", Gate: "pilot", Verdict: "reject"}, false, t)
	h.run(t, writebackPlan())
	if agent.enables != 0 || len(agent.restores) != 0 || !agent.enabled {
		t.Errorf("enables %d restores %v enabled %t: a pre-existing writeback must be neither re-enabled nor undone", agent.enables, agent.restores, agent.enabled)
	}
}

func TestWritebackAgentMissingTimesOutNamingTheQueue(t *testing.T) {
	h := newHarness(t)
	(&fakeAgent{missing: true}).register(h)
	var waiting string
	h.env.SetOnActivityStartedListener(func(info *activity.Info, ctx context.Context, args converter.EncodedValues) {
		if info.ActivityType.Name == writeback.ActivityStatusWriteback {
			v, _ := h.env.QueryWorkflow(QueryState)
			var st State
			_ = v.Get(&st)
			waiting = st.Steps[indexStep(st, "pilot", StepWriteback)].Detail
		}
	})
	st, err := h.run(t, writebackPlan())
	if err == nil {
		t.Fatal("rollout succeeded without an agent")
	}
	if !strings.Contains(waiting, "waiting for agent on queue sync01") {
		t.Errorf("step detail while waiting: %q", waiting)
	}
	s := st.Steps[indexStep(st, "pilot", StepWriteback)]
	if !strings.Contains(s.Error, `task queue "sync01"`) || !strings.Contains(s.Error, "--agent writeback") {
		t.Errorf("writeback error does not say what to do: %q", s.Error)
	}
}

func indexStep(st State, stage string, name StepName) int {
	for i, s := range st.Steps {
		if s.Stage == stage && s.Name == name {
			return i
		}
	}
	return -1
}

func TestManualWritebackRollbackAsksAHuman(t *testing.T) {
	h := newHarness(t)
	p := testPlan()
	p.Spec.Writeback = plan.Writeback{Mode: plan.WritebackConnect}
	p = *p.WithDefaults()
	h.decide(time.Minute, approve("w", "alice", "pilot_writeback"), false, t)
	h.decide(2*time.Minute, approval.Decision{ID: "r", Approver: "bob", Gate: "pilot", Verdict: "reject"}, false, t)
	st, _ := h.run(t, p)
	if s := st.Steps[indexStep(st, "pilot", StepWriteback)]; s.Status != StepNeedsHuman || !strings.Contains(s.Detail, "untick Password writeback") {
		t.Errorf("writeback step after rollback: %s %q", s.Status, s.Detail)
	}
}
