package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// a names the activities for workflow.ExecuteActivity: only its method
// values are used, never called.
var a *activities.Activities

// ErrTypeRolloutFailed is the error type of a rollout that did not succeed;
// its details hold the final State.
const ErrTypeRolloutFailed = string(errtype.RolloutFailed)

// RolloutWorkflow takes a validated plan through preflight, the pilot, the
// waves and "all", with gates between stages and compensation on failure.
// It returns the final State; a rollout that did not succeed fails with
// ErrTypeRolloutFailed and the State as details.
//
// Registered as it is, it believes no decision and no start (replay tests
// and tools); the worker registers it with its Trust through Register.
func RolloutWorkflow(ctx workflow.Context, in RolloutInput) (State, error) {
	return runRollout(ctx, in, refuseAll{})
}

func runRollout(ctx workflow.Context, in RolloutInput, t Trust) (State, error) {
	info := workflow.GetInfo(ctx)
	if info.CronSchedule != "" {
		return State{}, temporal.NewNonRetryableApplicationError(errCron.Error(), string(errtype.CronRefused), nil)
	}
	// Cron and retry runs also carry a ContinuedExecutionRunID, with their
	// first run's input: only a first attempt that continued as new may
	// resume.
	if in.Resume != nil && (info.ContinuedExecutionRunID == "" || info.Attempt > 1) {
		return State{}, temporal.NewNonRetryableApplicationError(errResumeForged.Error(), string(errtype.ResumeForged), nil)
	}
	if want := workflowType(in); info.WorkflowType.Name != want && info.WorkflowType.Name != "" {
		return State{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("this run must be started as workflow type %s, not %s", want, info.WorkflowType.Name), "WorkflowTypeMismatch", nil)
	}
	r := newRollout(ctx, in, t)
	if err := r.setup(ctx); err != nil {
		return r.st, err
	}
	return r.run(ctx)
}

// rollout is one run of the workflow: the engine that walks the program,
// applies the failure policy and continues as new. The steps' bodies are in
// step_*.go; the table that lists them is program.go.
type rollout struct {
	trust  Trust
	plan   plan.Rollout
	st     State
	ops    []op
	action *OperatorAction
	// queueForTenant: see RolloutInput.QueueForTenant.
	queueForTenant bool
	// revertRunID and remediate: see RolloutInput and revert.go.
	revertRunID string
	remediate   bool
	// nothingToDo: a remediation found nothing drifted.
	nothingToDo bool
	logger      interface {
		Info(string, ...interface{})
		Warn(string, ...interface{})
	}
}

func newRollout(ctx workflow.Context, in RolloutInput, t Trust) *rollout {
	// Defaults are applied once, here, for a plan started without them (a
	// direct start on Temporal); plan.Load already applied them to every
	// other, and applying them again changes nothing. No step re-applies a
	// default of its own.
	p := *in.Plan.WithDefaults()
	r := &rollout{trust: t, plan: p, ops: programFor(&p, in), logger: workflow.GetLogger(ctx), queueForTenant: in.QueueForTenant,
		revertRunID: in.RevertRunID, remediate: in.Remediate}
	if in.Resume != nil {
		r.st = *in.Resume
		r.st.Runs++
		return r
	}
	info := workflow.GetInfo(ctx)
	r.st = State{
		WorkflowID:        info.WorkflowExecution.ID,
		RunID:             info.FirstRunID,
		Tenant:            in.Plan.Metadata.Tenant,
		Plan:              in.Plan.Metadata.Name,
		StartedBy:         in.StartedBy,
		StartedVia:        in.StartedVia,
		Approvers:         r.approverIDs(),
		StartedByVerified: r.verifyStart(ctx, info.WorkflowExecution.ID, in),
		Status:            StatusRunning,
		Stage:             PreflightStage,
		StartedAt:         workflow.Now(ctx),
		Runs:              1,
		Remediation:       in.Remediate,
	}
	for _, o := range r.ops {
		switch o.kind {
		case opStep:
			r.st.Steps = append(r.st.Steps, Step{Stage: o.stage, Name: o.step, Status: StepPending})
		case opApproval:
			r.st.Gates = append(r.st.Gates, Gate{Name: o.stage, Stage: o.stage, Status: GatePending, Quorum: 1})
		default:
			g := p.GateFor(o.stageIdx)
			gs := Gate{Name: o.stage, Stage: o.stage, Status: GatePending}
			if g != nil {
				gs.Quorum, gs.MinCoverage = g.Approvals, g.MinRegistrationPercent
			}
			r.st.Gates = append(r.st.Gates, gs)
		}
	}
	return r
}

// verifyStart says whether the start service signed this start: a direct
// start on Temporal cannot claim an authenticated starter. The answer is
// recorded once (a side effect), so key rotation never changes a replay;
// histories from before signed starts replay as unverified.
func (r *rollout) verifyStart(ctx workflow.Context, workflowID string, in RolloutInput) bool {
	if workflow.GetVersion(ctx, "attested-start", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false
	}
	var ok bool
	started := workflow.GetInfo(ctx).WorkflowStartTime
	enc := workflow.SideEffect(ctx, func(workflow.Context) any {
		skew := started.Sub(in.AttestedAt)
		return r.trust.VerifyStart(workflowID, in) == nil && skew < MaxStartSkew && skew > -MaxStartSkew
	})
	if err := enc.Get(&ok); err != nil {
		return false
	}
	return ok
}

func (r *rollout) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return r.st, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateDecide, r.decide,
		workflow.UpdateHandlerOptions{Validator: r.validateDecision}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateOperate, r.operate,
		workflow.UpdateHandlerOptions{Validator: r.validateOperate})
}

func (r *rollout) run(ctx workflow.Context) (State, error) {
	r.upsert(ctx)
	if r.revertRunID != "" && r.st.RevertOf == "" {
		if err := r.loadReverted(ctx); err != nil {
			r.st.LastError = err.Error()
			return r.finish(ctx, StatusFailed, "nothing was changed: "+err.Error())
		}
	}
	for r.st.Next < len(r.ops) {
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return r.continueAsNew(ctx)
		}
		o := r.ops[r.st.Next]
		if r.st.Stage != o.stage {
			r.st.Stage = o.stage
			r.upsert(ctx)
			r.emit(ctx, approval.KindStageStarted, o.stage, "", "", "")
		}
		err := r.exec(ctx, o)
		if err == nil {
			r.st.Next++
			if r.nothingToDo {
				break
			}
			continue
		}
		if errors.Is(err, errContinueAsNew) {
			return r.continueAsNew(ctx)
		}
		r.st.LastError = err.Error()
		if ctx.Err() != nil || temporal.IsCanceledError(err) {
			return r.cancelled(ctx)
		}
		if o.stageIdx < 0 {
			// Preflight (and a revert's or remediation's approval) changes
			// nothing: stop before any change.
			if o.kind == opApproval {
				return r.finish(ctx, StatusFailed, "nothing was changed: "+err.Error())
			}
			return r.finish(ctx, StatusFailed, "preflight failed: "+err.Error())
		}
		switch r.plan.Spec.FailurePolicy {
		case plan.Pause:
			act, perr := r.pause(ctx, o, err)
			if perr != nil {
				return r.cancelled(ctx)
			}
			switch act {
			case ActionRetry:
				r.st.Status, r.st.Pending, r.st.LastError = StatusRunning, "", ""
				r.upsert(ctx)
				continue
			case ActionRollback:
				r.compensate(ctx, func(Change) bool { return true })
				return r.finish(ctx, StatusRolledBack, "rolled back by operator after: "+err.Error())
			default:
				return r.finish(ctx, StatusFailed, "aborted by operator after: "+err.Error())
			}
		case plan.RollbackStage:
			r.compensate(ctx, func(c Change) bool { return c.Stage == o.stage })
			return r.finish(ctx, StatusFailed, fmt.Sprintf("stage %s rolled back after: %s", o.stage, err))
		default:
			r.compensate(ctx, func(Change) bool { return true })
			return r.finish(ctx, StatusRolledBack, "rolled back after: "+err.Error())
		}
	}
	if r.revertRunID != "" {
		return r.finishRevert(ctx)
	}
	return r.finish(ctx, StatusSucceeded, "")
}

var errContinueAsNew = errors.New("continue as new")

func (r *rollout) continueAsNew(ctx workflow.Context) (State, error) {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	st := r.st
	// The same workflow type: a revert continues as a revert.
	return r.st, workflow.NewContinueAsNewError(ctx, workflow.GetInfo(ctx).WorkflowType.Name, RolloutInput{Plan: r.plan, StartedBy: r.st.StartedBy, Resume: &st,
		RevertRunID: r.revertRunID, Remediate: r.remediate})
}

// cancelled compensates on a disconnected context, since the workflow's own
// context is already cancelled. With the pause policy there is nobody left
// to ask, so cancel means undo everything.
func (r *rollout) cancelled(ctx workflow.Context) (State, error) {
	if r.plan.Spec.FailurePolicy == plan.RollbackStage {
		stage := r.st.Stage
		r.compensate(ctx, func(c Change) bool { return c.Stage == stage })
	} else {
		r.compensate(ctx, func(Change) bool { return true })
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	return r.finish(dctx, StatusCancelled, "cancelled")
}

func (r *rollout) finish(ctx workflow.Context, status Status, msg string) (State, error) {
	// The tenant lock is handed back before the rollout shows as ended, so
	// whoever sees it ended and starts the next one finds the tenant free.
	r.releaseTenant(ctx)
	// So is the watch set up (or stopped): nothing of this run is left to
	// do once it shows as ended.
	r.afterEnd(ctx, status)
	r.st.Status = status
	r.st.EndedAt = workflow.Now(ctx)
	if msg != "" && r.st.LastError == "" {
		r.st.LastError = msg
	}
	r.upsert(ctx)
	if msg == "" {
		msg = r.st.Summary
	}
	r.emit(ctx, rolloutKind(status), r.st.Stage, "", string(status), msg)
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	if status == StatusSucceeded || status == StatusReverted {
		return r.st, nil
	}
	return r.st, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("rollout %s: %s", status, msg), ErrTypeRolloutFailed, nil, r.st)
}

// pause waits for an operator's retry, rollback or abort.
func (r *rollout) pause(ctx workflow.Context, o op, cause error) (Action, error) {
	r.st.Status = StatusPaused
	r.st.Pending = fmt.Sprintf("%s/%s failed: %s", o.stage, nameOf(o), cause)
	r.action = nil
	r.upsert(ctx)
	r.emit(ctx, approval.KindRolloutPaused, o.stage, nameOf(o), "paused", cause.Error())
	if err := workflow.Await(ctx, func() bool { return r.action != nil }); err != nil {
		return "", err
	}
	act := r.action.Action
	r.action = nil
	return act, nil
}

func nameOf(o op) string {
	if o.kind == opGate || o.kind == opApproval {
		return "gate"
	}
	return string(o.step)
}

func (r *rollout) exec(ctx workflow.Context, o op) error {
	switch o.kind {
	case opGate:
		return r.gate(ctx, o)
	case opApproval:
		return r.approvalGate(ctx, o)
	}
	s := r.step(o.stage, o.step)
	s.Status, s.Attempt, s.StartedAt, s.Error = StepRunning, s.Attempt+1, workflow.Now(ctx), ""
	r.emit(ctx, approval.KindStepStarted, o.stage, string(o.step), "running", "")
	status, detail, err := r.runStep(ctx, o)
	s = r.step(o.stage, o.step)
	if errors.Is(err, errContinueAsNew) {
		return err // the step resumes in the next run
	}
	s.EndedAt = workflow.Now(ctx)
	if err != nil {
		s.Status, s.Error = StepFailed, errText(err)
		countStep(ctx, o.step, StepFailed)
		r.emit(ctx, approval.KindStepFailed, o.stage, string(o.step), "failed", s.Error)
		return fmt.Errorf("%s/%s: %s", o.stage, o.step, errText(err))
	}
	countStep(ctx, o.step, status)
	s.Status, s.Detail = status, detail
	r.emit(ctx, stepKind(status), o.stage, string(o.step), string(status), detail)
	return nil
}

func (r *rollout) runStep(ctx workflow.Context, o op) (StepStatus, string, error) {
	d, ok := stepOf(o.step)
	if !ok {
		return "", "", fmt.Errorf("unknown step %q", o.step)
	}
	return d.body(r, ctx, o)
}

// errText unwraps Temporal's activity error wrappers to the cause a person
// can act on.
func errText(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var toErr *temporal.TimeoutError
	if errors.As(err, &toErr) {
		return toErr.Error()
	}
	return err.Error()
}

func (r *rollout) step(stage string, name StepName) *Step {
	for i := range r.st.Steps {
		if r.st.Steps[i].Stage == stage && r.st.Steps[i].Name == name {
			return &r.st.Steps[i]
		}
	}
	r.st.Steps = append(r.st.Steps, Step{Stage: stage, Name: name, Status: StepPending})
	return &r.st.Steps[len(r.st.Steps)-1]
}

// record keeps a change BEFORE it is made (see Change) and returns its
// index in State.Changes, for the step to fill in what the change returns.
func (r *rollout) record(c Change) int {
	r.st.Seq++
	c.Seq = r.st.Seq
	r.st.Changes = append(r.st.Changes, c)
	return len(r.st.Changes) - 1
}

// recorded reports whether step o already recorded a change of this kind
// (in an earlier attempt or run).
func (r *rollout) recorded(o op, kind ChangeKind) bool {
	for _, c := range r.st.Changes {
		if c.Stage == o.stage && c.Step == o.step && c.Kind == kind {
			return true
		}
	}
	return false
}
