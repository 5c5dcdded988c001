package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
)

// addMembers adds a stage's members to the SSPR group, recording exactly
// the ones not yet members before adding them.
func (r *rollout) addMembers(ctx workflow.Context, o op) (StepStatus, string, error) {
	upns := r.plan.Spec.Stages[o.stageIdx].Members
	in := activities.MembersInput{Plan: r.plan, GroupID: r.st.GroupID, UPNs: upns}
	var pm activities.PlanMembersResult
	if err := workflow.ExecuteActivity(tenantCtx(ctx), a.PlanMembers, in).Get(ctx, &pm); err != nil {
		return "", "", err
	}
	if len(pm.ToAdd) == 0 {
		return StepUnchanged, fmt.Sprintf("all %d already members", len(upns)), nil
	}
	idx := r.record(Change{Stage: o.stage, Step: o.step, Kind: ChangeMembersAdded, GroupID: r.st.GroupID,
		GroupName: r.st.GroupName, Members: pm.ToAdd})
	in.UPNs = pm.ToAdd
	var res entra.AddResult
	err := workflow.ExecuteActivity(membersCtx(ctx), a.AddMembers, in).Get(ctx, &res)
	if len(res.NotFound) > 0 {
		// Nothing was added for these: keep the record to what may exist.
		r.st.Changes[idx].Members = without(pm.ToAdd, res.NotFound)
	}
	if err != nil {
		return "", "", err
	}
	detail := fmt.Sprintf("added %d, already members %d", len(res.Added), len(pm.AlreadyMember)+len(res.AlreadyMember))
	if len(res.NotFound) > 0 {
		detail += fmt.Sprintf("; not found (skipped per plan): %s", strings.Join(res.NotFound, ", "))
	}
	return StepApplied, detail, nil
}

// ChangeMembersAdded is the members step's change: the UPNs that were not
// members before.
const ChangeMembersAdded ChangeKind = "members-added"

// undoMembers removes the members the step added, and no one else.
func (r *rollout) undoMembers(ctx workflow.Context, c Change) (CompensationResult, error) {
	in := activities.GroupInput{Plan: r.plan, GroupID: c.GroupID, Name: c.GroupName, UPNs: c.Members}
	if err := workflow.ExecuteActivity(compensationCtx(ctx), a.RemoveMembers, in).Get(ctx, nil); err != nil {
		return CompensationResult{}, err
	}
	return CompensationResult{Status: CompensationDone, Detail: fmt.Sprintf("removed %d member(s) ssprflow added", len(c.Members))}, nil
}

func without(list, drop []string) []string {
	d := map[string]bool{}
	for _, x := range drop {
		d[strings.ToLower(x)] = true
	}
	var out []string
	for _, x := range list {
		if !d[strings.ToLower(x)] {
			out = append(out, x)
		}
	}
	return out
}
