package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
)

// tenantPreflight reads the tenant (changing nothing) and keeps in
// State.Preflight what the whole rollout would change there.
func (r *rollout) tenantPreflight(ctx workflow.Context, _ op) (StepStatus, string, error) {
	var res activities.TenantPreflightResult
	// coverageCtx: preflight reads the tenant-wide registration report.
	if err := workflow.ExecuteActivity(coverageCtx(ctx), a.TenantPreflight, activities.TenantPreflightInput{Plan: r.plan}).Get(ctx, &res); err != nil {
		return "", "", err
	}
	pf := r.preflight()
	pf.Changes = settingChanges(res.Changes)
	pf.GroupExists = res.GroupExists
	pf.MigrationState = res.MigrationState
	pf.CurrentScope = res.Snapshot.Settings[entra.FieldScope]
	pf.Licensed = res.Licensed
	pf.Notes = append(pf.Notes, fmt.Sprintf("tenant: %d users, %d registered for SSPR before the rollout", res.TenantUsers, res.Registered))
	pf.Warnings = append(pf.Warnings, res.Warnings...)
	if res.Snapshot.Settings[entra.FieldScope] == string(entra.ScopeAll) && !r.plan.EndsWithAll() {
		pf.Warnings = append(pf.Warnings, "SSPR is already enabled for All users; this plan would narrow it to a group")
	}
	return StepVerified, fmt.Sprintf("%d field(s) would change; group exists: %t", len(res.Changes), res.GroupExists), nil
}

// preflight is what the preflight steps found, created on first use.
func (r *rollout) preflight() *Preflight {
	if r.st.Preflight == nil {
		r.st.Preflight = &Preflight{}
	}
	return r.st.Preflight
}
