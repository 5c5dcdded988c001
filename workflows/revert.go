package workflows

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// Two runs of the rollout workflow change nothing a plan's stages ask for,
// only what a person approves first:
//
//   - a revert (`ssprflow rollout revert ID`) undoes what a finished run of
//     the same workflow id recorded, in reverse order, with compensation's
//     conflict rule: a setting someone changed since is reported, not
//     overwritten. The run to undo is read from Temporal by the worker
//     (activities.RolloutReader), never taken from the input.
//   - a remediation (`ssprflow watch remediate`) puts the plan's settings
//     and directory rights back after drift: the first stage's settings
//     steps, the AD rights and the scope, without adding members.
//
// Both run the plan's read-only preflight (which takes the tenant lock),
// then an approval gate, then their changes; both are new runs of the
// rollout's own workflow id, so approvals, status and the tenant lock work
// as for the rollout itself.

// The stages of a revert and a remediation.
const (
	RevertStage    = "revert"
	RemediateStage = "remediate"
)

// StatusReverted: a finished rollout's changes were undone.
const StatusReverted Status = "reverted"

// approvalTimeout bounds a revert's or remediation's approval.
const approvalTimeout = 72 * time.Hour

// programFor is the program of this run: the plan's, a revert's or a
// remediation's.
func programFor(p *plan.Rollout, in RolloutInput) []op {
	switch {
	case in.RevertRunID != "":
		return append(preflightOps(p), op{kind: opApproval, stage: RevertStage, stageIdx: -1})
	case in.Remediate:
		return remediation(p)
	}
	return program(p)
}

func preflightOps(p *plan.Rollout) []op {
	var ops []op
	for _, o := range program(p) {
		if o.stageIdx < 0 {
			ops = append(ops, o)
		}
	}
	return ops
}

// remediation is the preflight, the approval, and then the first stage's
// settings steps, the AD rights and password age, writeback, and the final
// scope: what a drift check compares, nothing that adds members.
func remediation(p *plan.Rollout) []op {
	ops := append(preflightOps(p), op{kind: opApproval, stage: RemediateStage, stageIdx: -1})
	last := len(p.Spec.Stages) - 1
	for _, d := range seed {
		switch d.name {
		case StepGroup, StepMethods, StepRegistration, StepNotifications, StepHelpdesk, StepADPermissions, StepPasswordAge, StepWriteback:
			if d.runs(p, 0) {
				ops = append(ops, op{kind: opStep, stage: RemediateStage, stageIdx: 0, step: d.name})
			}
		case StepScope:
			idx := 0
			if p.Spec.Stages[last].All {
				idx = last
			}
			ops = append(ops, op{kind: opStep, stage: RemediateStage, stageIdx: idx, step: d.name})
		}
	}
	return ops
}

// loadReverted reads the run to revert and takes over its recorded
// changes (those not undone already). It refuses a run that has not ended
// or recorded nothing to undo.
func (r *rollout) loadReverted(ctx workflow.Context) error {
	var rec activities.RolloutRecord
	in := activities.LoadRolloutInput{WorkflowID: r.st.WorkflowID, RunID: r.revertRunID}
	if err := workflow.ExecuteActivity(shortCtx(ctx), a.LoadRollout, in).Get(ctx, &rec); err != nil {
		return fmt.Errorf("read the run to revert: %w", err)
	}
	var prev State
	if err := json.Unmarshal(rec.State, &prev); err != nil {
		return fmt.Errorf("run %s has no rollout state to revert: %w", r.revertRunID, err)
	}
	// The undo runs with this run's plan (tenant, directory profile,
	// approvers): it must be the plan the reverted run ran.
	want, _ := json.Marshal(rec.Plan.WithDefaults())
	got, _ := json.Marshal(r.plan)
	if string(want) != string(got) {
		return fmt.Errorf("the plan of this revert is not the plan run %s ran: start the revert with 'ssprflow rollout revert', which reads it from that run", r.revertRunID)
	}
	if !prev.Status.Ended() {
		return fmt.Errorf("run %s is %s: only a finished rollout can be reverted (cancel a running one instead)", r.revertRunID, prev.Status)
	}
	if prev.Status == StatusReverted {
		return fmt.Errorf("run %s is itself a revert: revert the rollout's own run, or run the plan again", r.revertRunID)
	}
	for _, c := range prev.Changes {
		if c.Compensation == nil || c.Compensation.Status != CompensationDone {
			c.Compensation = nil
			r.st.ToRevert = append(r.st.ToRevert, c)
		}
	}
	r.st.RevertOf = r.revertRunID
	r.st.GroupID, r.st.GroupName = prev.GroupID, prev.GroupName
	if len(r.st.ToRevert) == 0 {
		return fmt.Errorf("run %s recorded no change that is not undone already: nothing to revert", r.revertRunID)
	}
	return nil
}

// approvalGate asks the plan's approvers (one is enough) before a revert
// or a remediation changes anything.
func (r *rollout) approvalGate(ctx workflow.Context, o op) error {
	gs := r.gateOf(o.stage)
	if gs.Status == GatePassed {
		return nil
	}
	if gs.ExpiresAt.IsZero() {
		gs.ExpiresAt = workflow.Now(ctx).Add(approvalTimeout)
	}
	defer r.openGate(ctx, gs, o.stage)()
	next, what := "undo", r.revertSummary()
	if o.stage == RemediateStage {
		if !gs.RequestedOnce {
			var err error
			if gs.Instructions, err = r.driftToRemediate(ctx); err != nil {
				return err
			}
			if len(gs.Instructions) == 0 {
				gs.Status, gs.ClosedAt = GatePassed, workflow.Now(ctx)
				r.st.Summary, r.nothingToDo = "nothing has drifted: nothing to remediate", true
				return nil
			}
		}
		next, what = "remediate", gs.Instructions
	}
	if err := r.awaitApproval(ctx, gs, o.stage, next, approvalQuorum(&r.plan), what); err != nil {
		return err
	}
	gs.Status, gs.ClosedAt = GatePassed, workflow.Now(ctx)
	r.emit(ctx, approval.KindGatePassed, o.stage, "gate", "passed", "")
	return nil
}

// approvalQuorum is what a revert or a remediation needs: as many
// approvals as the plan's strictest gate, at least one.
func approvalQuorum(p *plan.Rollout) int {
	q := 1
	for i := range p.Spec.Stages {
		if g := p.GateFor(i); g != nil && g.Approvals > q {
			q = g.Approvals
		}
	}
	return q
}

// driftToRemediate is what the remediation would put back, as the
// approvers read it: the drift a read-only check finds now.
func (r *rollout) driftToRemediate(ctx workflow.Context) ([]string, error) {
	dctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         retry(5*time.Second, 2*time.Minute, 5),
	})
	var rep activities.DriftReport
	if err := workflow.ExecuteActivity(dctx, a.CheckDrift, activities.DriftInput{Plan: WatchTarget(r.plan)}).Get(ctx, &rep); err != nil {
		return nil, fmt.Errorf("read what drifted: %w", err)
	}
	var out []string
	for _, it := range rep.Items {
		if it.Kind == activities.DriftCoverage {
			continue // registrations are the users', not a setting to put back
		}
		out = append(out, "put back: "+it.Detail)
	}
	return out, nil
}

// revertSummary lists what the revert will undo, last change first.
func (r *rollout) revertSummary() []string {
	out := make([]string, 0, len(r.st.ToRevert))
	for i := len(r.st.ToRevert) - 1; i >= 0; i-- {
		c := r.st.ToRevert[i]
		what := string(c.Kind)
		if len(c.Settings) > 0 {
			fields := make([]string, 0, len(c.Settings))
			for _, s := range c.Settings {
				fields = append(fields, s.Field)
			}
			what += " (" + strings.Join(fields, ", ") + ")"
		}
		out = append(out, fmt.Sprintf("undo %s/%s: %s", c.Stage, c.Step, what))
	}
	return out
}

// finishRevert undoes the changes and says what was reverted and what needs
// a human.
func (r *rollout) finishRevert(ctx workflow.Context) (State, error) {
	// Approved: the reverted run's changes become this run's, then undone.
	if len(r.st.Changes) == 0 {
		for _, c := range r.st.ToRevert {
			r.record(c)
		}
		r.st.ToRevert = nil
	}
	r.compensate(ctx, func(Change) bool { return true })
	var done, conflicts, human int
	for _, c := range r.st.Changes {
		switch {
		case c.Compensation == nil:
		case c.Compensation.Status == CompensationDone:
			done++
		case c.Compensation.Status == CompensationConflict:
			conflicts++
		default:
			human++
		}
	}
	r.st.Stage = RevertStage
	msg := fmt.Sprintf("reverted run %s: %d change(s) undone, %d conflict(s) left as found, %d need a human", r.st.RevertOf, done, conflicts, human)
	r.st.Summary = msg
	if human > 0 || done == 0 {
		// Not undone: the rollout's configuration stays (and watched).
		return r.finish(ctx, StatusFailed, "partly reverted: "+msg)
	}
	return r.finish(ctx, StatusReverted, "")
}
