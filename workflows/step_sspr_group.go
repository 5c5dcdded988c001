package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
)

// ChangeGroupCreated is the sspr-group step's change: the group it created.
const ChangeGroupCreated ChangeKind = "group-created"

// ensureGroup finds the first stage's SSPR group, or creates it (recorded
// first, so a crash between the create and its result still undoes it).
func (r *rollout) ensureGroup(ctx workflow.Context, o op) (StepStatus, string, error) {
	g := r.plan.Spec.Stages[o.stageIdx].Group
	in := activities.EnsureGroupInput{Plan: r.plan, Name: g.Name}
	var found activities.EnsureGroupResult
	if err := workflow.ExecuteActivity(tenantCtx(ctx), a.FindGroup, in).Get(ctx, &found); err != nil {
		return "", "", err
	}
	if found.Exists {
		r.st.GroupID, r.st.GroupName = found.Group.ID, found.Group.DisplayName
		return StepUnchanged, fmt.Sprintf("group %s exists (%s)", g.Name, found.Group.ID), nil
	}
	if g.Create != nil && !*g.Create {
		return "", "", fmt.Errorf("group %q does not exist and the plan says create: false", g.Name)
	}
	idx := r.record(Change{Stage: o.stage, Step: o.step, Kind: ChangeGroupCreated, GroupName: g.Name})
	var res activities.EnsureGroupResult
	if err := workflow.ExecuteActivity(tenantCtx(ctx), a.EnsureGroup, in).Get(ctx, &res); err != nil {
		return "", "", err
	}
	r.st.Changes[idx].GroupID = res.Group.ID
	r.st.GroupID, r.st.GroupName = res.Group.ID, res.Group.DisplayName
	return StepApplied, fmt.Sprintf("created group %s (%s)", g.Name, res.Group.ID), nil
}

// undoGroup deletes the group the step created (by name when a crash lost
// its id).
func (r *rollout) undoGroup(ctx workflow.Context, c Change) (CompensationResult, error) {
	in := activities.GroupInput{Plan: r.plan, GroupID: c.GroupID, Name: c.GroupName}
	if err := workflow.ExecuteActivity(compensationCtx(ctx), a.DeleteGroup, in).Get(ctx, nil); err != nil {
		return CompensationResult{}, err
	}
	return CompensationResult{Status: CompensationDone, Detail: "deleted group " + c.GroupName}, nil
}
