package workflows

import (
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// A manual task never stands in for a gate, whatever the stages are
// called: with a second stage named "pilot-methods" (what pilot's methods
// task was once named too), that stage's gate still waits for its own
// approval. Here nobody gives it, so the gate expires.
func TestTasksAndGatesDoNotCollide(t *testing.T) {
	for _, second := range []string{"wave-1", "pilot-methods", "pilot-helpdesk"} {
		t.Run(second, func(t *testing.T) {
			p := testPlan()
			p.Spec.SSPRPolicy.Mode = plan.PolicyModeManual
			p.Spec.Stages = slices.Insert(p.Spec.Stages, 1, plan.Stage{Name: second,
				Members: []string{"carol@contoso.onmicrosoft.com"}, Gate: &plan.Gate{Approvals: 1, Timeout: plan.Duration(time.Hour)}})
			h := newHarness(t)
			h.doTasksAndApprove(t, "pilot")
			st, err := h.run(t, p)
			if err == nil {
				t.Fatal("the rollout passed a gate nobody approved")
			}
			var gates, tasks int
			for _, g := range st.Gates {
				switch {
				case g.Task:
					tasks++
					if g.Name == second || g.Step == "" {
						t.Errorf("task %q (step %q) is not keyed by its step", g.Name, g.Step)
					}
				case g.Stage == second:
					gates++
					if g.Status != GateExpired {
						t.Errorf("gate after %s is %s, want expired", second, g.Status)
					}
				}
			}
			if gates != 1 || tasks == 0 {
				t.Errorf("%d gate(s) for %s and %d task(s): %+v", gates, second, tasks, st.Gates)
			}
		})
	}
}

// doTasksAndApprove answers, every simulated minute, each new request: a
// manual task is done by hand (its step's recorded changes applied) and
// answered; a gate is approved only when it is one of gates.
func (h *harness) doTasksAndApprove(t *testing.T, gates ...string) {
	n := 0
	cb := &testsuite.TestUpdateCallback{OnReject: func(err error) { t.Error(err) }, OnAccept: func() {}, OnComplete: func(any, error) {}}
	var answer func()
	answer = func() {
		h.events.mu.Lock()
		reqs := slices.Clone(h.events.requests)
		h.events.mu.Unlock()
		for ; n < len(reqs); n++ {
			r := reqs[n]
			st := h.state(t)
			i := slices.IndexFunc(st.Gates, func(g Gate) bool { return g.RequestID == r.ID })
			if i < 0 {
				t.Errorf("request %s has no gate or task", r.ID)
				continue
			}
			g := st.Gates[i]
			if !g.Task && !slices.Contains(gates, g.Stage) {
				continue
			}
			for _, c := range st.Changes {
				if g.Task && c.Stage == g.Stage && c.Step == g.Step && c.Kind == ChangeTenantSettings {
					_ = h.tenant.Apply(nil, entraChanges(c.Settings))
				}
			}
			h.env.UpdateWorkflow(UpdateDecide, r.ID, cb, h.attest(approval.Decision{ID: r.ID, Approver: "alice", Gate: r.Gate, Verdict: "approve", RequestID: r.ID}))
		}
		h.env.RegisterDelayedCallback(answer, time.Minute)
	}
	h.env.RegisterDelayedCallback(answer, time.Minute)
}

// TestGateWarnsBeforeItExpires: an undecided gate says, once, that it is
// about to expire (a fifth of its time left), before it expires.
func TestGateWarnsBeforeItExpires(t *testing.T) {
	h := newHarness(t)
	p := testPlan()
	st, _ := h.run(t, p) // nobody decides: the gate expires after its 1 h timeout
	var kinds []approval.EventKind
	var warnedAt, expiredAt time.Time
	h.events.mu.Lock()
	for _, ev := range h.events.events {
		if ev.Stage == "pilot" && strings.HasPrefix(string(ev.Kind), "gate.") {
			kinds = append(kinds, ev.Kind)
			switch ev.Kind {
			case approval.KindGateExpiring:
				warnedAt = ev.At
			case approval.KindGateExpired:
				expiredAt = ev.At
			}
		}
	}
	h.events.mu.Unlock()
	if n := slices.Index(kinds, approval.KindGateExpiring); n < 0 || n > slices.Index(kinds, approval.KindGateExpired) ||
		slices.Index(kinds[n+1:], approval.KindGateExpiring) >= 0 {
		t.Fatalf("gate events %v: want one gate.expiring before gate.expired", kinds)
	}
	if left := expiredAt.Sub(warnedAt); left < 10*time.Minute || left > 15*time.Minute {
		t.Errorf("warned %s before expiry, want a fifth of the gate's time", left)
	}
	if g := st.Gates[0]; !g.Warned || g.Status != GateExpired {
		t.Errorf("gate %+v", g)
	}
}
