package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// waitChunk bounds each durable wait so a long soak or approval wait can
// stop at a safe point and continue as new.
const waitChunk = time.Hour

// gate runs the gate after a stage: soak, then the registration metric,
// then approvals. Its state lives in State.Gates, so a continued-as-new run
// picks it up where it stopped.
func (r *rollout) gate(ctx workflow.Context, o op) error {
	g := r.plan.GateFor(o.stageIdx)
	gs := r.gateOf(o.stage)
	if g == nil || gs.Status == GatePassed {
		gs.Status = GatePassed
		return nil
	}
	now := workflow.Now(ctx)
	timeout := gateTimeout(g)
	defer r.openGate(ctx, gs, o.stage)()

	if g.Soak > 0 {
		if gs.SoakUntil.IsZero() {
			gs.SoakUntil = now.Add(g.Soak.D())
		}
		gs.Status = GateSoaking
		if err := r.sleepUntil(ctx, gs.SoakUntil); err != nil {
			return err
		}
	}

	if g.MinRegistrationPercent > 0 {
		if err := r.awaitCoverage(ctx, o, g, gs); err != nil {
			return err
		}
	}

	if g.Approvals > 0 {
		if gs.ExpiresAt.IsZero() {
			gs.ExpiresAt = workflow.Now(ctx).Add(timeout)
		}
		if err := r.awaitApproval(ctx, gs, o.stage, r.nextStage(o.stageIdx), g.Approvals, nil); err != nil {
			return err
		}
	}
	gs.Status, gs.ClosedAt = GatePassed, workflow.Now(ctx)
	timeGateWait(ctx, gs.ClosedAt.Sub(gs.OpenedAt))
	r.emit(ctx, approval.KindGatePassed, o.stage, "gate", "passed", "")
	return nil
}

// openGate marks the gate open (once) and the rollout waiting; the
// returned func sets it running again when the gate is done.
func (r *rollout) openGate(ctx workflow.Context, gs *Gate, stage string) (done func()) {
	if gs.OpenedAt.IsZero() {
		gs.OpenedAt = workflow.Now(ctx)
		r.emit(ctx, approval.KindGateOpened, stage, "gate", "open", "")
	}
	r.st.Status = StatusWaiting
	r.upsert(ctx)
	return func() {
		if r.st.Status == StatusWaiting {
			r.st.Status = StatusRunning
			r.upsert(ctx)
		}
	}
}

// awaitCoverage polls registration coverage until it reaches the gate's
// minimum or the metric timeout, which counts from the end of the soak.
func (r *rollout) awaitCoverage(ctx workflow.Context, o op, g *plan.Gate, gs *Gate) error {
	gs.Status = GateMetrics
	// Timeouts count from when each wait starts, not from the gate's
	// opening, so a long soak does not eat the time people have.
	deadline := gs.OpenedAt.Add(g.Soak.D() + g.MetricTimeout.D())
	poll := pollInterval(g.Soak.D())
	for {
		gid, scope := r.st.GroupID, r.st.GroupName
		cov, err := r.readCoverage(ctx, o.stage, gid, scope)
		if err != nil {
			gs.Status = GateFailed
			return fmt.Errorf("gate %s: %w", o.stage, err)
		}
		gs.Coverage = cov.Percent
		if cov.Percent >= g.MinRegistrationPercent {
			return nil
		}
		now := workflow.Now(ctx)
		if !now.Before(deadline) {
			gs.Status, gs.ClosedAt = GateFailed, now
			r.emit(ctx, approval.KindGateFailed, o.stage, "gate", "failed", "")
			return fmt.Errorf("gate %s: registration coverage %.1f%% (%d of %d) is below the required %.1f%% at %s",
				o.stage, cov.Percent, cov.Registered, cov.Total, g.MinRegistrationPercent, deadline.Format(time.RFC3339))
		}
		next := now.Add(poll)
		if next.After(deadline) {
			next = deadline
		}
		if err := r.sleepUntil(ctx, next); err != nil {
			return err
		}
	}
}

// task turns a change only a person can make into an approval-style task:
// instructions go out over the approval channel and the rollout waits for
// an approver's "done". The caller re-reads and verifies afterwards.
func (r *rollout) task(ctx workflow.Context, o op, instructions []string) error {
	gs := r.taskOf(ctx, o.stage, o.step)
	gs.Instructions = instructions
	if gs.OpenedAt.IsZero() || gs.Status != GateApproval {
		now := workflow.Now(ctx)
		timeout := gateTimeout(r.plan.GateFor(o.stageIdx))
		gs.OpenedAt, gs.ExpiresAt, gs.Decisions, gs.RequestedOnce, gs.Warned = now, now.Add(timeout), nil, false, false
	}
	s := r.step(o.stage, o.step)
	s.Status, s.Detail = StepWaiting, "waiting for an operator: "+strings.Join(instructions, " | ")
	r.st.Status = StatusWaiting
	r.upsert(ctx)
	err := r.awaitApproval(ctx, gs, o.stage, "", 1, instructions)
	if r.st.Status == StatusWaiting {
		r.st.Status = StatusRunning
		r.upsert(ctx)
	}
	if err != nil {
		return err
	}
	gs.Status, gs.ClosedAt = GatePassed, workflow.Now(ctx)
	r.step(o.stage, o.step).Status = StepRunning
	return nil
}

func (r *rollout) awaitApproval(ctx workflow.Context, gs *Gate, stage, next string, quorum int, instructions []string) error {
	gs.Status, gs.Quorum = GateApproval, quorum
	if !gs.RequestedOnce {
		// A new attempt (after a pause and retry) asks again under a new id
		// instead of being swallowed by de-duplication.
		gs.Attempt++
		gs.RequestID = approval.RequestID(r.st.WorkflowID, r.st.RunID, gs.Name, gs.Attempt)
		summary := fmt.Sprintf("Approve moving rollout %s from stage %s to %s", r.plan.Metadata.Name, stage, next)
		if gs.Task {
			summary = fmt.Sprintf("Manual task in rollout %s, stage %s: do the steps below, then answer approve (done) or reject", r.plan.Metadata.Name, stage)
		}
		req := approval.Request{
			ID: gs.RequestID, Tenant: r.plan.TenantToken(), Rollout: r.plan.Metadata.Name, WorkflowID: r.st.WorkflowID,
			Gate: gs.Name, Attempt: gs.Attempt, Stage: stage, NextStage: next, Summary: summary, Instructions: instructions,
			Metrics: map[string]float64{}, Approvers: r.approverIDs(), Quorum: quorum,
			ExpiresAt: gs.ExpiresAt, RequestedAt: workflow.Now(ctx),
		}
		if gs.Coverage > 0 {
			req.Metrics["registrationPercent"] = gs.Coverage
		}
		if err := workflow.ExecuteActivity(shortCtx(ctx), a.RequestApproval, req).Get(ctx, nil); err != nil {
			return fmt.Errorf("request approval for %s: %w", gs.Name, err)
		}
		gs.RequestedOnce = true
		r.emit(ctx, approval.KindApprovalRequested, stage, gs.Name, "waiting", summary)
	}
	decided := func() bool { return approvals(gs) >= gs.Quorum || rejectedBy(gs) != nil }
	if workflow.GetVersion(ctx, "gate-expiry-warning", workflow.DefaultVersion, 1) == 1 && !gs.Warned && !gs.OpenedAt.IsZero() {
		// When a fifth of the gate's time is left, say so once (notifications
		// carry it to the approvers), then wait out the rest.
		warnAt := gs.ExpiresAt.Add(-gs.ExpiresAt.Sub(gs.OpenedAt) / 5)
		ok, err := r.awaitUntil(ctx, warnAt, decided)
		if err != nil {
			return err
		}
		if !ok && workflow.Now(ctx).Before(gs.ExpiresAt) {
			gs.Warned = true
			r.emit(ctx, approval.KindGateExpiring, stage, gs.Name, "expiring",
				fmt.Sprintf("%d of %d approvals; the gate expires at %s", approvals(gs), gs.Quorum, gs.ExpiresAt.UTC().Format(time.RFC3339)))
		}
	}
	ok, err := r.awaitUntil(ctx, gs.ExpiresAt, decided)
	if err != nil {
		return err
	}
	if d := rejectedBy(gs); d != nil {
		gs.Status, gs.ClosedAt = GateRejected, workflow.Now(ctx)
		// The comment is free text: it stays in the gate's state (query,
		// report), not in events or errors.
		r.emit(ctx, approval.KindGateRejected, stage, gs.Name, "rejected", "rejected by "+d.Approver)
		return fmt.Errorf("%s rejected by %s", gs.Name, d.Approver)
	}
	if !ok {
		gs.Status, gs.ClosedAt = GateExpired, workflow.Now(ctx)
		r.emit(ctx, approval.KindGateExpired, stage, gs.Name, "expired", "")
		return fmt.Errorf("%s expired at %s with %d of %d approvals", gs.Name, gs.ExpiresAt.Format(time.RFC3339), approvals(gs), gs.Quorum)
	}
	return nil
}

func approvals(g *Gate) int {
	n := 0
	for _, d := range g.Decisions {
		if d.Verdict == VerdictApprove {
			n++
		}
	}
	return n
}

func rejectedBy(g *Gate) *Decision {
	for i := range g.Decisions {
		if g.Decisions[i].Verdict == VerdictReject {
			return &g.Decisions[i]
		}
	}
	return nil
}

func (r *rollout) findGate(name string) *Gate {
	for i := range r.st.Gates {
		if r.st.Gates[i].Name == name {
			return &r.st.Gates[i]
		}
	}
	return nil
}

// gateOf is the gate after stage, created on first use. Tasks are never
// gates, whatever their name.
func (r *rollout) gateOf(stage string) *Gate {
	for i := range r.st.Gates {
		if g := &r.st.Gates[i]; !g.Task && g.Stage == stage {
			return g
		}
	}
	r.st.Gates = append(r.st.Gates, Gate{Name: stage, Stage: stage, Status: GatePending})
	return &r.st.Gates[len(r.st.Gates)-1]
}

// taskOf is the manual task of step in stage, created on first use.
func (r *rollout) taskOf(ctx workflow.Context, stage string, step StepName) *Gate {
	legacy := stage + "-" + string(step)
	for i := range r.st.Gates {
		g := &r.st.Gates[i]
		if g.Task && g.Stage == stage && (g.Step == step || (g.Step == "" && g.Name == legacy)) {
			return g
		}
	}
	r.st.Gates = append(r.st.Gates, Gate{Name: r.taskName(ctx, stage, step), Stage: stage, Task: true, Step: step, Status: GatePending})
	return &r.st.Gates[len(r.st.Gates)-1]
}

// taskName names a task "stage_step": a stage name cannot hold a "_"
// (plan validation), so no task shares a gate's name, and the name is still
// one NATS subject token, as approval requests and decisions need. Runs from
// before this rule named it "stage-step" (which a stage named
// "pilot-methods" could share) and keep doing so when replayed.
func (r *rollout) taskName(ctx workflow.Context, stage string, step StepName) string {
	if workflow.GetVersion(ctx, "task-name", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return stage + "-" + string(step)
	}
	return stage + "_" + string(step)
}

// gateTimeout is how long a gate (or a task in the stage before gate g)
// waits for people. The plan holds its defaults (see newRollout); a task in
// the last stage, which has no gate after it, waits the default time.
func gateTimeout(g *plan.Gate) time.Duration {
	if g == nil {
		return plan.DefaultGateTimeout.D()
	}
	return g.Timeout.D()
}

func (r *rollout) nextStage(i int) string {
	if i+1 < len(r.plan.Spec.Stages) {
		return r.plan.Spec.Stages[i+1].Name
	}
	return ""
}

func (r *rollout) approverIDs() []string {
	ids := make([]string, 0, len(r.plan.Spec.Approvers))
	for _, ap := range r.plan.Spec.Approvers {
		ids = append(ids, ap.ID)
	}
	return ids
}

func pollInterval(soak time.Duration) time.Duration {
	p := soak / 5
	if p < time.Second {
		p = time.Second
	}
	if p > 5*time.Minute {
		p = 5 * time.Minute
	}
	return p
}

func (r *rollout) sleepUntil(ctx workflow.Context, t time.Time) error {
	for {
		left := t.Sub(workflow.Now(ctx))
		if left <= 0 {
			return nil
		}
		if left > waitChunk {
			left = waitChunk
		}
		if err := workflow.Sleep(ctx, left); err != nil {
			return err
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() && t.After(workflow.Now(ctx)) {
			return errContinueAsNew
		}
	}
}

// awaitUntil waits for cond until the deadline; false means it expired.
func (r *rollout) awaitUntil(ctx workflow.Context, deadline time.Time, cond func() bool) (bool, error) {
	for {
		if cond() {
			return true, nil
		}
		left := deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			return false, nil
		}
		if left > waitChunk {
			left = waitChunk
		}
		ok, err := workflow.AwaitWithTimeout(ctx, left, cond)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return false, errContinueAsNew
		}
	}
}

// DecideResult is the verdict the decide update returns.
type DecideResult struct {
	Gate      string `json:"gate"`
	GateState string `json:"gateState"`
	Approvals int    `json:"approvals"`
	Quorum    int    `json:"quorum"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// validateDecision rejects a decision before it reaches history: unknown or
// closed gates, people who are not approvers, self-approval when the plan
// forbids it, a second vote by the same person, and expired gates.
func (r *rollout) validateDecision(ctx workflow.Context, d approval.Decision) error {
	// Only the approval bridge, which maps an authenticated NATS user to a
	// person, signs decisions: access to Temporal alone cannot approve.
	if err := r.trust.VerifyDecision(r.st.WorkflowID, d); err != nil {
		return fmt.Errorf("decision %q is not attested by this deployment's approval bridge (%v): decide through NATS ('ssprflow approve')", d.ID, err)
	}
	if slices.Contains(r.st.Seen, seenKey(d)) {
		return nil // a duplicate: harmless, answered by the handler
	}
	// A direct start's starter is typed in: the self-approval rule cannot
	// hold, so such a rollout takes no decision unless the worker allows it.
	if !r.st.StartedByVerified && !r.trust.AllowUnverifiedStarts() {
		return fmt.Errorf("rollout %s was started directly on Temporal, not through the start service, so who started it is not verified; the worker's policy accepts decisions only on verified starts: start it with 'ssprflow rollout start'", r.st.WorkflowID)
	}
	if v := Verdict(d.Verdict); v != VerdictApprove && v != VerdictReject {
		return fmt.Errorf("verdict must be approve or reject, got %q", d.Verdict)
	}
	gs := r.findGate(d.Gate)
	if gs == nil {
		return fmt.Errorf("rollout %s has no gate %q (gates: %s)", r.plan.Metadata.Name, d.Gate, strings.Join(r.gateNames(), ", "))
	}
	if gs.Status != GateApproval {
		return fmt.Errorf("gate %q is not waiting for approval (it is %s)", d.Gate, gs.Status)
	}
	if !workflow.Now(ctx).Before(gs.ExpiresAt) {
		return fmt.Errorf("gate %q expired at %s", d.Gate, gs.ExpiresAt.Format(time.RFC3339))
	}
	// A decision bound to a request counts only for that request: an answer
	// to attempt 1 that arrives after a pause and retry must not approve
	// attempt 2, which may have been asked for different reasons.
	if d.RequestID == "" {
		return fmt.Errorf("decision names no request: every decision answers one request of one run (gate %q waits on request %q; 'ssprflow approve' fills it in)", d.Gate, gs.RequestID)
	}
	if d.RequestID != gs.RequestID {
		return fmt.Errorf("decision answers request %q, but gate %q now waits on request %q (attempt %d): read the current request and decide again", d.RequestID, d.Gate, gs.RequestID, gs.Attempt)
	}
	if !slices.Contains(r.approverIDs(), d.Approver) {
		return fmt.Errorf("%q is not an approver of plan %s", d.Approver, r.plan.Metadata.Name)
	}
	if !r.trust.AllowSelfApproval() && d.Approver == r.st.StartedBy {
		return fmt.Errorf("%q started this rollout and the worker's policy forbids self-approval", d.Approver)
	}
	for _, prev := range gs.Decisions {
		if prev.Approver == d.Approver {
			return fmt.Errorf("%q already decided gate %q (%s)", d.Approver, d.Gate, prev.Verdict)
		}
	}
	return nil
}

func (r *rollout) gateNames() []string {
	var n []string
	for _, g := range r.st.Gates {
		n = append(n, g.Name)
	}
	return n
}

// decide records a valid decision. Seen makes a redelivered decision (the
// bridge retried after a crash, or continue-as-new reset Temporal's update
// de-duplication) a no-op.
func (r *rollout) decide(ctx workflow.Context, d approval.Decision) (DecideResult, error) {
	res := DecideResult{Gate: d.Gate}
	gs := r.findGate(d.Gate)
	if gs == nil { // only a duplicate of a decision on a gate since renamed could get here
		res.Duplicate = true
		return res, nil
	}
	if slices.Contains(r.st.Seen, seenKey(d)) {
		res.Duplicate = true
	} else {
		r.st.Seen = append(r.st.Seen, seenKey(d))
		if d.At.IsZero() {
			d.At = workflow.Now(ctx)
		}
		gs.Decisions = append(gs.Decisions, DecisionFrom(d))
	}
	res.GateState, res.Approvals, res.Quorum = string(gs.Status), approvals(gs), gs.Quorum
	if approvals(gs) >= gs.Quorum && gs.Status == GateApproval {
		res.GateState = "quorum reached"
	}
	if rejectedBy(gs) != nil {
		res.GateState = string(GateRejected)
	}
	return res, nil
}

func (r *rollout) validateOperate(act OperatorAction) error {
	if r.st.Status != StatusPaused {
		return fmt.Errorf("rollout is %s, not paused", r.st.Status)
	}
	if r.action != nil {
		return fmt.Errorf("%s was already requested", r.action.Action)
	}
	if slices.Contains(Actions, act.Action) {
		return nil
	}
	return fmt.Errorf("action must be retry, rollback or abort, got %q", act.Action)
}

func (r *rollout) operate(ctx workflow.Context, act OperatorAction) (Action, error) {
	r.action = &act
	// A retried gate starts afresh: new request, new votes.
	if act.Action == ActionRetry && r.st.Next < len(r.ops) && r.ops[r.st.Next].kind == opGate {
		gs := r.gateOf(r.ops[r.st.Next].stage)
		*gs = Gate{Name: gs.Name, Stage: gs.Stage, Status: GatePending, Quorum: gs.Quorum, MinCoverage: gs.MinCoverage, Attempt: gs.Attempt}
	}
	return act.Action, nil
}

// seenKey de-duplicates by approver and decision id together, so one
// approver cannot make another's decision look like a duplicate by reusing
// its id.
func seenKey(d approval.Decision) string { return d.Approver + "/" + d.Gate + "/" + d.ID }
