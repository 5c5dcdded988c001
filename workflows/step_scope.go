package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
)

// scope switches SSPR on: for the group in the first stage, for All users
// in the "all" stage. It never narrows a tenant that already has All.
func (r *rollout) scope(ctx workflow.Context, o op) (StepStatus, string, error) {
	if r.plan.Spec.Stages[o.stageIdx].All {
		return r.settings(ctx, o, []entra.Field{entra.FieldScope}, entra.ScopeAll)
	}
	if r.keepsAll() {
		// Never narrow: users who can reset today keep that ability.
		return StepUnchanged, "SSPR is already enabled for All users; not narrowing it to the pilot group", nil
	}
	return r.settings(ctx, o, activities.ScopeFields, entra.ScopeSelected)
}

// keepsAll is true when SSPR was already enabled for All users before the
// rollout and the plan ends at "all": the pilot then does not narrow it.
func (r *rollout) keepsAll() bool {
	return r.plan.EndsWithAll() && r.st.Preflight != nil && r.st.Preflight.CurrentScope == string(entra.ScopeAll)
}
