package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
)

// compensate undoes recorded changes in reverse order. Each undo is
// idempotent and refuses to overwrite a value someone changed since; its
// outcome is kept on the change and shown on the step. Errors are collected,
// not fatal: one stuck undo must not keep the others from running.
func (r *rollout) compensate(ctx workflow.Context, include func(Change) bool) {
	// Undo runs on a disconnected context: a cancel that arrives during a
	// rollback must not turn every remaining undo into "needs a human".
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	r.st.Stage = "rollback"
	r.upsert(ctx)
	for i := len(r.st.Changes) - 1; i >= 0; i-- {
		c := r.st.Changes[i]
		if c.Compensation != nil || !include(c) {
			continue
		}
		res := r.undo(ctx, c)
		workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"kind": string(c.Kind), "status": string(res.Status)}).
			Counter("ssprflow_compensations_total").Inc(1)
		r.st.Changes[i].Compensation = &res
		s := r.step(c.Stage, c.Step)
		switch {
		case s.Status == StepConflict || s.Status == StepNeedsHuman || s.Status == StepFailed:
			// keep the worst outcome of a step with several changes; a failed
			// step stays failed, its detail says what was undone
		case res.Status == CompensationConflict:
			s.Status = StepConflict
		case res.Status == CompensationNeedsHuman:
			s.Status = StepNeedsHuman
		default:
			s.Status = StepCompensated
		}
		if res.Detail != "" {
			s.Detail = res.Detail
		}
		r.emit(ctx, "step."+string(res.Status), c.Stage, c.Step, string(res.Status), res.Detail)
	}
}

func (r *rollout) undo(ctx workflow.Context, c Change) CompensationResult {
	cctx := compensationCtx(ctx)
	var err error
	switch c.Kind {
	case ChangeTenantSettings:
		var rep entra.RestoreReport
		err = workflow.ExecuteActivity(cctx, a.RestoreSettings, activities.RestoreInput{Plan: r.plan, Applied: entraChanges(c.Settings)}).Get(ctx, &rep)
		if err == nil && len(rep.Manual) > 0 {
			return CompensationResult{Status: CompensationNeedsHuman, Detail: "set back by hand: " + strings.Join(entra.Instructions(rep.Manual), " | ")}
		}
		if err == nil && len(rep.Conflicts) > 0 {
			parts := make([]string, 0, len(rep.Conflicts))
			for _, cf := range rep.Conflicts {
				parts = append(parts, fmt.Sprintf("%s is now %q (ssprflow wrote %q; original %q): left as is", cf.Field, cf.Found, cf.Expected, cf.Original))
			}
			return CompensationResult{Status: CompensationConflict, Detail: strings.Join(parts, "; ")}
		}
		if err == nil {
			return CompensationResult{Status: CompensationDone, Detail: fmt.Sprintf("restored %d field(s)", len(c.Settings))}
		}
	case ChangeGroupCreated:
		err = workflow.ExecuteActivity(cctx, a.DeleteGroup, activities.GroupInput{Plan: r.plan, GroupID: c.GroupID, Name: c.GroupName}).Get(ctx, nil)
		if err == nil {
			return CompensationResult{Status: CompensationDone, Detail: "deleted group " + c.GroupName}
		}
	case ChangeMembersAdded:
		err = workflow.ExecuteActivity(cctx, a.RemoveMembers, activities.GroupInput{Plan: r.plan, GroupID: c.GroupID, Name: c.GroupName, UPNs: c.Members}).Get(ctx, nil)
		if err == nil {
			return CompensationResult{Status: CompensationDone, Detail: fmt.Sprintf("removed %d member(s) ssprflow added", len(c.Members))}
		}
	case ChangeADACEs:
		var n int
		err = workflow.ExecuteActivity(cctx, a.Revoke, activities.ACEInput{Plan: r.plan, DN: c.DN, ACEs: c.ACEs}).Get(ctx, &n)
		if err == nil {
			return CompensationResult{Status: CompensationDone, Detail: fmt.Sprintf("removed %d ACE(s) from %s", n, c.DN)}
		}
	case ChangeWriteback:
		if c.Queue == "" { // enabled by an operator: only an operator can undo it
			return CompensationResult{Status: CompensationNeedsHuman, Detail: "turn password writeback off again on the sync server " +
				"(Entra Connect wizard > Customize synchronization options > Optional features: untick Password writeback; Cloud Sync: " +
				"Set-AADCloudSyncPasswordWritebackConfiguration -Enable $false), if it was off before this rollout"}
		}
		err = r.restoreWriteback(ctx, c)
		if err == nil {
			return CompensationResult{Status: CompensationDone, Detail: fmt.Sprintf("writeback set back to enabled=%t on %s", c.PreviousEnabled, c.Queue)}
		}
	default:
		err = fmt.Errorf("unknown change kind %q", c.Kind)
	}
	return CompensationResult{Status: CompensationNeedsHuman, Detail: fmt.Sprintf("could not undo %s: %s", c.Kind, errText(err))}
}
