package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
)

// addMembers adds a stage's members to the SSPR group. It resolves the
// stage's selection into a stored roster (whom to add, who already is a
// member, who is missing or excluded), records the roster's digest, then
// adds it in bulk: history holds a digest and counts, never the people, so
// it stays small for any wave.
func (r *rollout) addMembers(ctx workflow.Context, o op) (StepStatus, string, error) {
	if workflow.GetVersion(ctx, "member-rosters", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return r.addMembersInline(ctx, o)
	}
	in := activities.ResolveInput{Plan: r.plan, StageIdx: o.stageIdx, GroupID: r.st.GroupID}
	var rr activities.ResolveResult
	if err := workflow.ExecuteActivity(membersCtx(ctx), a.ResolveMembers, in).Get(ctx, &rr); err != nil {
		return "", "", err
	}
	detail := resolvedDetail(rr)
	if rr.ToAdd == 0 {
		return StepUnchanged, detail, nil
	}
	ref := rr.Roster
	r.record(Change{Stage: o.stage, Step: o.step, Kind: ChangeMembersAdded, GroupID: r.st.GroupID,
		GroupName: r.st.GroupName, Roster: &ref})
	var res activities.RosterResult
	add := activities.RosterInput{Plan: r.plan, Stage: o.stage, GroupID: r.st.GroupID, Roster: ref}
	if err := workflow.ExecuteActivity(membersCtx(ctx), a.AddRoster, add).Get(ctx, &res); err != nil {
		return "", "", err
	}
	detail = fmt.Sprintf("added %d of %s", res.Added, detail)
	if res.Already > 0 {
		detail += fmt.Sprintf("; %d became members meanwhile", res.Already)
	}
	if res.NotFound > 0 {
		detail += fmt.Sprintf("; %d deleted from the tenant meanwhile (skipped)", res.NotFound)
	}
	return StepApplied, detail, nil
}

// resolvedDetail says what a stage's selection came to, for the step's
// detail and the report.
func resolvedDetail(rr activities.ResolveResult) string {
	d := fmt.Sprintf("%s: %d to add", rr.Source, rr.ToAdd)
	if len(rr.Sample) > 0 {
		d += " (e.g. " + strings.Join(rr.Sample, ", ") + ")"
	}
	d += fmt.Sprintf(", %d already members", rr.Already)
	if rr.Excluded > 0 {
		d += fmt.Sprintf(", %d excluded", rr.Excluded)
	}
	if rr.Missing > 0 {
		d += fmt.Sprintf(", %d not in the tenant (skipped per plan: %s)", rr.Missing, strings.Join(rr.MissingSample, ", "))
	}
	return d + " [roster " + rr.Roster.Digest + "]"
}

// addMembersInline is the members step of rollouts started before rosters
// (their histories replay it): the plan's UPNs in activity inputs.
func (r *rollout) addMembersInline(ctx workflow.Context, o op) (StepStatus, string, error) {
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
	if c.Roster != nil {
		in := activities.RosterInput{Plan: r.plan, Stage: c.Stage, GroupID: c.GroupID, Roster: *c.Roster}
		var res activities.RosterResult
		if err := workflow.ExecuteActivity(rosterUndoCtx(ctx), a.RemoveRoster, in).Get(ctx, &res); err != nil {
			return CompensationResult{}, err
		}
		return CompensationResult{Status: CompensationDone, Detail: fmt.Sprintf(
			"removed %d member(s) ssprflow added (roster %s)", res.Removed, c.Roster.Digest)}, nil
	}
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
