package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"
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
		countCompensation(ctx, c.Kind, res.Status)
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
		r.emit(ctx, compensationKind(res.Status), c.Stage, string(c.Step), string(res.Status), res.Detail)
	}
}

// undo runs the undo of c's kind (the table undoers in program.go). A
// failed undo is reported as needing a human, never retried for ever.
func (r *rollout) undo(ctx workflow.Context, c Change) CompensationResult {
	u, ok := undoers[c.Kind]
	if !ok {
		return CompensationResult{Status: CompensationNeedsHuman, Detail: fmt.Sprintf("could not undo %s: unknown change kind %q", c.Kind, c.Kind)}
	}
	res, err := u(r, ctx, c)
	if err != nil {
		return CompensationResult{Status: CompensationNeedsHuman, Detail: fmt.Sprintf("could not undo %s: %s", c.Kind, errText(err))}
	}
	return res
}
