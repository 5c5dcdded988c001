package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// verify reads back, at the end of each stage, every setting the rollout
// manages: a change someone made since fails the stage.
func (r *rollout) verify(ctx workflow.Context, o op) (StepStatus, string, error) {
	all := r.plan.Spec.Stages[o.stageIdx].All || r.keepsAll()
	scope := entra.ScopeSelected
	if all {
		scope = entra.ScopeAll
	}
	in := activities.SettingsInput{Plan: r.plan, Fields: verifyFields(&r.plan, all), GroupID: r.st.GroupID, Scope: scope}
	var left []entra.Change
	if err := workflow.ExecuteActivity(tenantCtx(ctx), a.VerifySettings, in).Get(ctx, &left); err != nil {
		return "", "", err
	}
	if len(left) > 0 {
		return "", "", conflict("verification failed: " + describe(left, true))
	}
	return StepVerified, fmt.Sprintf("%d setting(s) read back as planned", len(in.Fields)), nil
}

// verifyFields are the fields of every first-stage step of p's program
// (the table's fields column); with all, the scope is All and no group.
func verifyFields(p *plan.Rollout, all bool) []entra.Field {
	var f []entra.Field
	for _, d := range seed {
		switch {
		case d.name == StepScope && all:
			f = append(f, entra.FieldScope)
		case d.runs(p, 0):
			f = append(f, d.fields...)
		}
	}
	return f
}
