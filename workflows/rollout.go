package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

var a *activities.Activities

// Search attribute keys.
var (
	saTenant = temporal.NewSearchAttributeKeyKeyword(SATenant)
	saPlan   = temporal.NewSearchAttributeKeyKeyword(SAPlan)
	saStage  = temporal.NewSearchAttributeKeyKeyword(SAStage)
	saState  = temporal.NewSearchAttributeKeyKeyword(SAState)
)

// ErrTypeRolloutFailed is the error type of a rollout that did not succeed;
// its details hold the final State.
const ErrTypeRolloutFailed = "RolloutFailed"

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
		return State{}, temporal.NewNonRetryableApplicationError(errCron.Error(), "CronRefused", nil)
	}
	// Cron and retry runs also carry a ContinuedExecutionRunID, with their
	// first run's input: only a first attempt that continued as new may
	// resume.
	if in.Resume != nil && (info.ContinuedExecutionRunID == "" || info.Attempt > 1) {
		return State{}, temporal.NewNonRetryableApplicationError(errResumeForged.Error(), "ResumeForged", nil)
	}
	r := newRollout(ctx, in, t)
	if err := r.setup(ctx); err != nil {
		return r.st, err
	}
	return r.run(ctx)
}

type rollout struct {
	trust  Trust
	plan   plan.Rollout
	st     State
	ops    []op
	action *OperatorAction
	// can is set when the run should continue as new at the next safe point.
	logger interface {
		Info(string, ...interface{})
		Warn(string, ...interface{})
	}
}

func newRollout(ctx workflow.Context, in RolloutInput, t Trust) *rollout {
	r := &rollout{trust: t, plan: in.Plan, ops: program(&in.Plan), logger: workflow.GetLogger(ctx)}
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
	}
	for _, o := range r.ops {
		if o.kind == opStep {
			r.st.Steps = append(r.st.Steps, Step{Stage: o.stage, Name: o.step, Status: StepPending})
		} else {
			g := in.Plan.GateFor(o.stageIdx)
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
	for r.st.Next < len(r.ops) {
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return r.continueAsNew(ctx)
		}
		o := r.ops[r.st.Next]
		if r.st.Stage != o.stage {
			r.st.Stage = o.stage
			r.upsert(ctx)
			r.emit(ctx, "stage.started", o.stage, "", "", "")
		}
		err := r.exec(ctx, o)
		if err == nil {
			r.st.Next++
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
			// Preflight changes nothing: stop before any change.
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
	return r.finish(ctx, StatusSucceeded, "")
}

var errContinueAsNew = errors.New("continue as new")

func (r *rollout) continueAsNew(ctx workflow.Context) (State, error) {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	st := r.st
	return r.st, workflow.NewContinueAsNewError(ctx, RolloutWorkflow, RolloutInput{Plan: r.plan, StartedBy: r.st.StartedBy, Resume: &st})
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
	r.st.Status = status
	r.st.EndedAt = workflow.Now(ctx)
	if msg != "" && r.st.LastError == "" {
		r.st.LastError = msg
	}
	r.upsert(ctx)
	r.emit(ctx, "rollout."+string(status), r.st.Stage, "", string(status), msg)
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	if status == StatusSucceeded {
		return r.st, nil
	}
	return r.st, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("rollout %s: %s", status, msg), ErrTypeRolloutFailed, nil, r.st)
}

// pause waits for an operator's retry, rollback or abort.
func (r *rollout) pause(ctx workflow.Context, o op, cause error) (string, error) {
	r.st.Status = StatusPaused
	r.st.Pending = fmt.Sprintf("%s/%s failed: %s", o.stage, nameOf(o), cause)
	r.action = nil
	r.upsert(ctx)
	r.emit(ctx, "rollout.paused", o.stage, nameOf(o), "paused", cause.Error())
	if err := workflow.Await(ctx, func() bool { return r.action != nil }); err != nil {
		return "", err
	}
	act := r.action.Action
	r.action = nil
	return act, nil
}

func nameOf(o op) string {
	if o.kind == opGate {
		return "gate"
	}
	return o.step
}

func (r *rollout) exec(ctx workflow.Context, o op) error {
	if o.kind == opGate {
		return r.gate(ctx, o)
	}
	s := r.step(o.stage, o.step)
	s.Status, s.Attempt, s.StartedAt, s.Error = StepRunning, s.Attempt+1, workflow.Now(ctx), ""
	r.emit(ctx, "step.started", o.stage, o.step, "running", "")
	status, detail, err := r.runStep(ctx, o)
	s = r.step(o.stage, o.step)
	if errors.Is(err, errContinueAsNew) {
		return err // the step resumes in the next run
	}
	s.EndedAt = workflow.Now(ctx)
	if err != nil {
		s.Status, s.Error = StepFailed, errText(err)
		countStep(ctx, o.step, StepFailed)
		r.emit(ctx, "step.failed", o.stage, o.step, "failed", s.Error)
		return fmt.Errorf("%s/%s: %s", o.stage, o.step, errText(err))
	}
	countStep(ctx, o.step, status)
	s.Status, s.Detail = status, detail
	r.emit(ctx, "step."+string(status), o.stage, o.step, string(status), detail)
	return nil
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

func (r *rollout) step(stage, name string) *Step {
	for i := range r.st.Steps {
		if r.st.Steps[i].Stage == stage && r.st.Steps[i].Name == name {
			return &r.st.Steps[i]
		}
	}
	r.st.Steps = append(r.st.Steps, Step{Stage: stage, Name: name, Status: StepPending})
	return &r.st.Steps[len(r.st.Steps)-1]
}

func (r *rollout) runStep(ctx workflow.Context, o op) (StepStatus, string, error) {
	p := &r.plan
	switch o.step {
	case StepValidate:
		var res activities.ValidateResult
		if err := workflow.ExecuteActivity(shortCtx(ctx), a.ValidatePlan, activities.ValidateInput{Plan: r.plan}).Get(ctx, &res); err != nil {
			return "", "", err
		}
		if len(res.Problems) > 0 {
			return "", "", fmt.Errorf("plan is invalid: %s", strings.Join(res.Problems, "; "))
		}
		return StepVerified, "plan is valid", nil
	case StepTenantPreflight:
		return r.tenantPreflight(ctx)
	case StepDirectoryPreflight:
		return r.directoryPreflight(ctx)
	case StepGroup:
		return r.ensureGroup(ctx, o)
	case StepMembers:
		return r.addMembers(ctx, o)
	case StepMethods:
		return r.settings(ctx, o, methodFields, entra.ScopeSelected)
	case StepRegistration:
		return r.settings(ctx, o, regFields, entra.ScopeSelected)
	case StepNotifications:
		return r.settings(ctx, o, notifyFields, entra.ScopeSelected)
	case StepHelpdesk:
		return r.settings(ctx, o, helpFields, entra.ScopeSelected)
	case StepADPermissions:
		return r.grant(ctx, o)
	case StepPasswordAge:
		var pa activities.PasswordAge
		err := workflow.ExecuteActivity(directoryCtx(ctx), a.VerifyPasswordAge,
			activities.PasswordAgeInput{Plan: r.plan, Groups: r.groupNames()}).Get(ctx, &pa)
		if err != nil {
			return "", "", err
		}
		if len(pa.Findings) > 0 {
			return StepVerified, "accepted by plan: " + strings.Join(pa.Findings, "; "), nil
		}
		return StepVerified, "minimum password age is 0 everywhere in scope", nil
	case StepWriteback:
		return r.writeback(ctx, o)
	case StepScope:
		if p.Spec.Stages[o.stageIdx].All {
			return r.settings(ctx, o, []entra.Field{entra.FieldScope}, entra.ScopeAll)
		}
		if r.keepsAll() {
			// Never narrow: users who can reset today keep that ability.
			return StepUnchanged, "SSPR is already enabled for All users; not narrowing it to the pilot group", nil
		}
		return r.settings(ctx, o, scopeFields, entra.ScopeSelected)
	case StepVerify:
		return r.verify(ctx, o)
	case StepCoverage:
		return r.coverageStep(ctx, o)
	}
	return "", "", fmt.Errorf("unknown step %q", o.step)
}

func (r *rollout) tenantPreflight(ctx workflow.Context) (StepStatus, string, error) {
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
	if res.Snapshot.Settings[entra.FieldScope] == string(entra.ScopeAll) && !r.finalAll() {
		pf.Warnings = append(pf.Warnings, "SSPR is already enabled for All users; this plan would narrow it to a group")
	}
	return StepVerified, fmt.Sprintf("%d field(s) would change; group exists: %t", len(res.Changes), res.GroupExists), nil
}

func (r *rollout) directoryPreflight(ctx workflow.Context) (StepStatus, string, error) {
	var res activities.DirectoryPreflightResult
	if err := workflow.ExecuteActivity(directoryCtx(ctx), a.DirectoryPreflight, activities.DirectoryPreflightInput{Plan: r.plan}).Get(ctx, &res); err != nil {
		return "", "", err
	}
	pf := r.preflight()
	pf.Connector, pf.ConnectorSID = res.Connector.Name, res.Connector.SID
	pf.MissingACEs = res.MissingACEs
	pf.Protected, pf.AdminCount = res.Coverage.Protected, res.Coverage.AdminCount
	pf.Notes = append(pf.Notes, res.Coverage.Remediation...)
	if !res.PasswordAge.OK {
		if req := r.plan.Spec.Directory.RequireMinPasswordAgeZero; req == nil || *req {
			// A blocker found before any change stops here, not half-way.
			return "", "", temporal.NewNonRetryableApplicationError(
				"minimum password age is not 0: "+strings.Join(res.PasswordAge.Findings, "; "), "PasswordAge", nil)
		}
		pf.Warnings = append(pf.Warnings, res.PasswordAge.Findings...)
	}
	return StepVerified, fmt.Sprintf("connector %s (%s); %d ACE(s) to add on %d scope(s); %d protected object(s), %d adminCount=1 account(s)",
		res.Connector.Name, res.Connector.SID, res.MissingACEs, len(res.Scopes), res.Coverage.Protected, res.Coverage.AdminCount), nil
}

func (r *rollout) preflight() *Preflight {
	if r.st.Preflight == nil {
		r.st.Preflight = &Preflight{}
	}
	return r.st.Preflight
}

func (r *rollout) finalAll() bool {
	s := r.plan.Spec.Stages
	return len(s) > 0 && s[len(s)-1].All
}

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

// settings diffs, records, applies and read-back-verifies one step's fields.
func (r *rollout) settings(ctx workflow.Context, o op, fields []entra.Field, scope entra.Scope) (StepStatus, string, error) {
	in := activities.SettingsInput{Plan: r.plan, Fields: fields, GroupID: r.st.GroupID, Scope: scope}
	var changes []entra.Change
	if err := workflow.ExecuteActivity(tenantCtx(ctx), a.DiffSettings, in).Get(ctx, &changes); err != nil {
		return "", "", err
	}
	if len(changes) == 0 {
		return StepUnchanged, "already as planned", nil
	}
	r.record(Change{Stage: o.stage, Step: o.step, Kind: ChangeTenantSettings, Settings: settingChanges(changes)})
	var ar activities.ApplyResult
	if err := workflow.ExecuteActivity(tenantCtx(ctx), a.ApplySettings, activities.ApplyInput{Plan: r.plan, Changes: changes}).Get(ctx, &ar); err != nil {
		return "", "", err
	}
	manual := len(ar.Manual) > 0
	if manual {
		if err := r.task(ctx, o, ar.Instructions); err != nil {
			return "", "", err
		}
	}
	var left []entra.Change
	if err := workflow.ExecuteActivity(tenantCtx(ctx), a.VerifySettings, in).Get(ctx, &left); err != nil {
		return "", "", err
	}
	if len(left) > 0 {
		who := "after ssprflow applied it"
		if manual {
			who = "although the operator reported the task done"
		}
		return "", "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("read-back failed %s: %s", who, describe(left, true)), activities.ErrTypeConflict, nil)
	}
	return StepVerified, describe(changes, false), nil
}

func describe(cs []entra.Change, found bool) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		if found {
			parts = append(parts, fmt.Sprintf("%s is %q, expected %q", c.Field, c.From, c.To))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s->%s", c.Field, show(c.From), show(c.To)))
		}
	}
	return strings.Join(parts, ", ")
}

func show(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func settingChanges(cs []entra.Change) []SettingChange {
	out := make([]SettingChange, len(cs))
	for i, c := range cs {
		out[i] = SettingChange{Field: string(c.Field), From: c.From, To: c.To, Portal: c.Portal}
	}
	return out
}

func entraChanges(cs []SettingChange) []entra.Change {
	out := make([]entra.Change, len(cs))
	for i, c := range cs {
		out[i] = entra.Change{Field: entra.Field(c.Field), From: c.From, To: c.To, Portal: c.Portal}
	}
	return out
}

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
	if added == 0 {
		return StepUnchanged, fmt.Sprintf("connector %s already holds the writeback rights on %d scope(s)", pg.Connector.Name, len(pg.Order)), nil
	}
	return StepApplied, fmt.Sprintf("granted %d ACE(s) to %s (%s) on %s", added, pg.Connector.Name, pg.Connector.SID, strings.Join(pg.Order, "; ")), nil
}

func (r *rollout) verify(ctx workflow.Context, o op) (StepStatus, string, error) {
	all := r.plan.Spec.Stages[o.stageIdx].All || r.keepsAll()
	scope := entra.ScopeSelected
	if all {
		scope = entra.ScopeAll
	}
	in := activities.SettingsInput{Plan: r.plan, Fields: verifyFields(&r.plan, all), GroupID: r.st.GroupID, Scope: scope}
	var left []entra.Change
	if err := workflow.ExecuteActivity(tenantCtx(ctx), a.VerifySettings, in).Get(ctx, &left); err != nil {
		return "", "", err
	}
	if len(left) > 0 {
		return "", "", temporal.NewNonRetryableApplicationError("verification failed: "+describe(left, true), activities.ErrTypeConflict, nil)
	}
	return StepVerified, fmt.Sprintf("%d setting(s) read back as planned", len(in.Fields)), nil
}

func (r *rollout) coverageStep(ctx workflow.Context, o op) (StepStatus, string, error) {
	gid, scope := r.st.GroupID, r.st.GroupName
	if r.plan.Spec.Stages[o.stageIdx].All {
		gid, scope = "", "tenant"
	}
	c, err := r.readCoverage(ctx, o.stage, gid, scope)
	if err != nil {
		return "", "", err
	}
	return StepVerified, fmt.Sprintf("%d of %d users registered (%.1f%%), %d SSPR-capable", c.Registered, c.Total, c.Percent, c.Capable), nil
}

func (r *rollout) readCoverage(ctx workflow.Context, stage, groupID, scope string) (Coverage, error) {
	var c entra.Coverage
	if err := workflow.ExecuteActivity(coverageCtx(ctx), a.Coverage, activities.CoverageInput{Plan: r.plan, GroupID: groupID}).Get(ctx, &c); err != nil {
		return Coverage{}, err
	}
	cov := Coverage{Stage: stage, Scope: scope, Total: c.Total, Registered: c.Registered, Capable: c.Capable,
		Percent: c.Percent(), At: workflow.Now(ctx)}
	r.st.Coverage = append(r.st.Coverage, cov)
	if n := len(r.st.Coverage); n > 50 { // keep state small over long soaks
		r.st.Coverage = r.st.Coverage[n-50:]
	}
	return cov, nil
}

func (r *rollout) groupNames() []string {
	if r.st.GroupName != "" {
		return []string{r.st.GroupName}
	}
	return nil
}

func (r *rollout) record(c Change) int {
	r.st.Seq++
	c.Seq = r.st.Seq
	r.st.Changes = append(r.st.Changes, c)
	return len(r.st.Changes) - 1
}

func (r *rollout) upsert(ctx workflow.Context) {
	err := workflow.UpsertTypedSearchAttributes(ctx,
		saTenant.ValueSet(r.plan.Metadata.Tenant), saPlan.ValueSet(r.plan.Metadata.Name),
		saStage.ValueSet(r.st.Stage), saState.ValueSet(string(r.st.Status)))
	if err != nil {
		r.logger.Warn("upsert search attributes", "error", err)
	}
}

// emit publishes an event through a local activity; a lost event is logged,
// never fatal.
func (r *rollout) emit(ctx workflow.Context, kind, stage, step, outcome, detail string) {
	r.st.Seq++
	ev := activities.EventInput{
		ID:         fmt.Sprintf("%s-%s-%d", r.st.WorkflowID, r.st.RunID, r.st.Seq),
		Tenant:     r.plan.TenantToken(),
		Rollout:    r.plan.Metadata.Name,
		WorkflowID: r.st.WorkflowID,
		Kind:       kind, Stage: stage, Step: step, Outcome: outcome, Detail: detail,
		At: workflow.Now(ctx),
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3, InitialInterval: 200 * time.Millisecond},
	})
	if err := workflow.ExecuteLocalActivity(lctx, activityEmit, ev).Get(ctx, nil); err != nil {
		r.logger.Warn("event not published", "kind", kind, "error", err)
	}
}

// activityEmit is the registered name of activities.Activities.Emit. Local
// activities are called by name so the worker's own instance (with its NATS
// connection) runs them.
const activityEmit = "Emit"

// keepsAll is true when SSPR was already enabled for All users before the
// rollout and the plan ends at "all": the pilot then does not narrow it.
func (r *rollout) keepsAll() bool {
	return r.finalAll() && r.st.Preflight != nil && r.st.Preflight.CurrentScope == string(entra.ScopeAll)
}

// Metrics go through the workflow's metrics handler, which is replay-safe:
// a replayed step is not counted twice.
func countStep(ctx workflow.Context, step string, status StepStatus) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"step": step, "status": string(status)}).
		Counter("ssprflow_steps_total").Inc(1)
}
