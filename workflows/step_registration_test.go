package workflows

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// The registration step sets the plan's registration policy, records what
// it changed, and a rejected gate sets the tenant back.
func TestRegistrationStepAppliesAndUndoesThePlansPolicy(t *testing.T) {
	yes, no, quarterly, defaultDays := true, false, 90, 180
	for name, reg := range map[string]plan.Registration{
		"portal defaults":                        {RequireOnSignIn: &yes, ReconfirmDays: &defaultDays},
		"no sign-in prompt, quarterly reconfirm": {RequireOnSignIn: &no, ReconfirmDays: &quarterly},
	} {
		t.Run(name, func(t *testing.T) {
			p := testPlan()
			p.Spec.Registration = reg
			wantOnLogin, wantDays := strconv.FormatBool(*reg.RequireOnSignIn), strconv.Itoa(*reg.ReconfirmDays)

			h := newHarness(t)
			var during entra.Settings
			h.env.RegisterDelayedCallback(func() { during = h.tenant.snapshot() }, 30*time.Second)
			h.decide(time.Minute, approval.Decision{ID: "r1", Approver: "bob", Gate: "pilot", Verdict: "reject"}, false, t)
			st, err := h.run(t, p)
			if err == nil {
				t.Fatal("rollout succeeded after a rejection")
			}
			if during[entra.FieldRegistrationOnLogin] != wantOnLogin || during[entra.FieldReconfirmDays] != wantDays {
				t.Errorf("tenant during the pilot: requireOnSignIn %q reconfirmDays %q, want %q %q",
					during[entra.FieldRegistrationOnLogin], during[entra.FieldReconfirmDays], wantOnLogin, wantDays)
			}
			i := slices.IndexFunc(st.Changes, func(c Change) bool { return c.Step == StepRegistration })
			if i < 0 || st.Changes[i].Kind != ChangeTenantSettings || len(st.Changes[i].Settings) != 2 {
				t.Fatalf("registration change %+v", st.Changes)
			}
			if c := st.Changes[i].Compensation; c == nil || c.Status != CompensationDone {
				t.Errorf("registration compensation %+v", c)
			}
			got := h.tenant.snapshot()
			for _, f := range []entra.Field{entra.FieldRegistrationOnLogin, entra.FieldReconfirmDays} {
				if got[f] != h.before[f] {
					t.Errorf("%s after rollback = %q, want %q", f, got[f], h.before[f])
				}
			}
		})
	}
}
