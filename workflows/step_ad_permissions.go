package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
)

// ChangeADACEs is the ad-permissions step's change: one DN and the exact
// ACEs (hex) ssprflow adds there.
const ChangeADACEs ChangeKind = "ad-aces"

// grant gives the connector account the writeback rights on each scope DN:
// it reads the ACEs still missing, records them, then adds exactly those.
// Activities: activities/ad_permissions.go; adapter: internal/worker/directory.go
// (the Directory port over internal/ad, whose Grant/Check/Revoke are in ad/writeback.go).
func (r *rollout) grant(ctx workflow.Context, o op) (StepStatus, string, error) {
	var pg activities.PlanGrantResult
	if err := workflow.ExecuteActivity(directoryCtx(ctx), a.PlanGrant, activities.DirectoryPreflightInput{Plan: r.plan}).Get(ctx, &pg); err != nil {
		return "", "", err
	}
	added := 0
	for _, dn := range pg.Order {
		aces := pg.ACEs[dn]
		if len(aces) == 0 {
			continue
		}
		r.record(Change{Stage: o.stage, Step: o.step, Kind: ChangeADACEs, DN: dn, ACEs: aces})
		var n int
		if err := workflow.ExecuteActivity(directoryCtx(ctx), a.Grant, activities.ACEInput{Plan: r.plan, DN: dn, ACEs: aces}).Get(ctx, &n); err != nil {
			return "", "", err
		}
		added += len(aces)
	}
	// The scopes' warnings (AdminSDHolder) go into the step's detail, so the
	// event and the report carry them too.
	warn := ""
	if len(pg.Warnings) > 0 {
		warn = "; warning: " + strings.Join(pg.Warnings, "; ")
	}
	if added == 0 {
		return StepUnchanged, fmt.Sprintf("connector %s already holds the writeback rights on %d scope(s)%s", pg.Connector.Name, len(pg.Order), warn), nil
	}
	return StepApplied, fmt.Sprintf("granted %d ACE(s) to %s (%s) on %s%s", added, pg.Connector.Name, pg.Connector.SID, strings.Join(pg.Order, "; "), warn), nil
}

// undoACEs removes one copy of each ACE the step added on one DN; an
// administrator's identical ACEs stay.
func (r *rollout) undoACEs(ctx workflow.Context, c Change) (CompensationResult, error) {
	var n int
	if err := workflow.ExecuteActivity(compensationCtx(ctx), a.Revoke, activities.ACEInput{Plan: r.plan, DN: c.DN, ACEs: c.ACEs}).Get(ctx, &n); err != nil {
		return CompensationResult{}, err
	}
	return CompensationResult{Status: CompensationDone, Detail: fmt.Sprintf("removed %d ACE(s) from %s", n, c.DN)}, nil
}
