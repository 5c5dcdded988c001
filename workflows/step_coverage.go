package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
)

// coverageStep reports, at the end of the last stage, how many users have
// registered for SSPR: of the group, or of the tenant once it is "all".
func (r *rollout) coverageStep(ctx workflow.Context, o op) (StepStatus, string, error) {
	gid, scope := r.st.GroupID, r.st.GroupName
	if r.plan.Spec.Stages[o.stageIdx].All {
		gid, scope = "", "tenant"
	}
	c, err := r.readCoverage(ctx, o.stage, gid, scope)
	if err != nil {
		return "", "", err
	}
	return StepVerified, fmt.Sprintf("%d of %d users registered (%.1f%%), %d SSPR-capable", c.Registered, c.Total, c.Percent, c.Capable), nil
}

// readCoverage reads registration coverage (for this step and for gates)
// and keeps the last readings in State.Coverage.
func (r *rollout) readCoverage(ctx workflow.Context, stage, groupID, scope string) (Coverage, error) {
	var c entra.Coverage
	if err := workflow.ExecuteActivity(coverageCtx(ctx), a.Coverage, activities.CoverageInput{Plan: r.plan, GroupID: groupID}).Get(ctx, &c); err != nil {
		return Coverage{}, err
	}
	cov := Coverage{Stage: stage, Scope: scope, Total: c.Total, Registered: c.Registered, Capable: c.Capable,
		Percent: c.Percent(), At: workflow.Now(ctx)}
	r.st.Coverage = append(r.st.Coverage, cov)
	if n := len(r.st.Coverage); n > 50 { // keep state small over long soaks
		r.st.Coverage = r.st.Coverage[n-50:]
	}
	return cov, nil
}
