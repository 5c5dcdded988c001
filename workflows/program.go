package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// StepName names a seed step, as status output and events show it.
type StepName string

// Step names. Each step's code is in step_<name>.go (workflow) and
// activities/<name>.go (activities); the table seed below lists them.
const (
	StepValidate           StepName = "validate-plan"
	StepTenantPreflight    StepName = "tenant-preflight"
	StepDirectoryPreflight StepName = "directory-preflight"
	StepGroup              StepName = "sspr-group"
	StepMembers            StepName = "members"
	StepMethods            StepName = "methods"
	StepRegistration       StepName = "registration"
	StepNotifications      StepName = "notifications"
	StepHelpdesk           StepName = "helpdesk"
	StepADPermissions      StepName = "ad-permissions"
	StepPasswordAge        StepName = "password-age"
	StepWriteback          StepName = "writeback"
	StepScope              StepName = "scope"
	StepVerify             StepName = "verify"
	StepCoverage           StepName = "coverage"
)

// PreflightStage is the name of the read-only first stage.
const PreflightStage = "preflight"

// stepBody runs one step of one stage and says how it ended.
type stepBody func(r *rollout, ctx workflow.Context, o op) (StepStatus, string, error)

// stepDef is one row of the program.
type stepDef struct {
	name StepName
	// runs says whether stage i of p runs the step; i is -1 for preflight.
	runs func(p *plan.Rollout, i int) bool
	body stepBody
	// fields are the tenant settings the step owns; verify reads them back.
	fields []entra.Field
}

// seed is the program: every step, in the order a stage runs them.
// Within the first stage, SSPR is switched on for the group last: methods,
// registration, notifications, helpdesk, AD rights, password age and
// writeback are in place before any user can reach the reset page.
//
// It is filled in init because verify reads the table (the fields to read
// back): a plain initializer would be an initialization cycle.
var seed []stepDef

func init() {
	seed = []stepDef{
		{name: StepValidate, runs: inPreflight, body: (*rollout).validatePlan},
		{name: StepTenantPreflight, runs: inPreflight, body: (*rollout).tenantPreflight},
		{name: StepDirectoryPreflight, runs: all(inPreflight, withDirectory), body: (*rollout).directoryPreflight},
		{name: StepGroup, runs: all(inFirstStage, withGroup), body: (*rollout).ensureGroup},
		{name: StepMembers, runs: withMembers, body: (*rollout).addMembers},
		{name: StepMethods, runs: inFirstStage, body: (*rollout).methods, fields: activities.MethodFields},
		{name: StepRegistration, runs: inFirstStage, body: (*rollout).registration, fields: activities.RegistrationFields},
		{name: StepNotifications, runs: inFirstStage, body: (*rollout).notifications, fields: activities.NotificationFields},
		{name: StepHelpdesk, runs: inFirstStage, body: (*rollout).helpdesk, fields: activities.HelpdeskFields},
		{name: StepADPermissions, runs: all(inFirstStage, withDirectory), body: (*rollout).grant},
		{name: StepPasswordAge, runs: all(inFirstStage, withDirectory), body: (*rollout).passwordAge},
		{name: StepWriteback, runs: all(inFirstStage, withWriteback), body: (*rollout).writeback, fields: activities.WritebackFields},
		{name: StepScope, runs: inFirstOrAllStage, body: (*rollout).scope, fields: activities.ScopeFields},
		{name: StepVerify, runs: inStage, body: (*rollout).verify},
		{name: StepCoverage, runs: inLastStage, body: (*rollout).coverageStep},
	}
}

// undoers undo each kind of change a step records (compensation). An undo
// is idempotent and refuses to overwrite what someone changed since.
var undoers = map[ChangeKind]func(r *rollout, ctx workflow.Context, c Change) (CompensationResult, error){
	ChangeTenantSettings: (*rollout).undoSettings,
	ChangeGroupCreated:   (*rollout).undoGroup,
	ChangeMembersAdded:   (*rollout).undoMembers,
	ChangeADACEs:         (*rollout).undoACEs,
	ChangeWriteback:      (*rollout).undoWriteback,
}

// Stage predicates of the table.
func inPreflight(_ *plan.Rollout, i int) bool  { return i < 0 }
func inStage(_ *plan.Rollout, i int) bool      { return i >= 0 }
func inFirstStage(_ *plan.Rollout, i int) bool { return i == 0 }
func inLastStage(p *plan.Rollout, i int) bool  { return i >= 0 && i == len(p.Spec.Stages)-1 }
func inFirstOrAllStage(p *plan.Rollout, i int) bool {
	return i == 0 || (i > 0 && p.Spec.Stages[i].All)
}
func withDirectory(p *plan.Rollout, _ int) bool { return p.Spec.Directory != nil }
func withWriteback(p *plan.Rollout, _ int) bool { return p.Spec.Writeback.Enabled() }
func withGroup(p *plan.Rollout, i int) bool     { return p.Spec.Stages[i].Group != nil }
func withMembers(p *plan.Rollout, i int) bool   { return i >= 0 && p.Spec.Stages[i].Selects() }

// all is true when every predicate is, checked in order (so a stage-index
// test guards the ones that index the stages).
func all(preds ...func(*plan.Rollout, int) bool) func(*plan.Rollout, int) bool {
	return func(p *plan.Rollout, i int) bool {
		for _, pr := range preds {
			if !pr(p, i) {
				return false
			}
		}
		return true
	}
}

func stepOf(name StepName) (stepDef, bool) {
	for _, d := range seed {
		if d.name == name {
			return d, true
		}
	}
	return stepDef{}, false
}

type opKind int

const (
	opStep opKind = iota
	opGate
	// opApproval is the approval before a revert's or a remediation's
	// changes (revert.go).
	opApproval
)

// op is one operation of a rollout's program: a step of a stage, or the
// gate after a stage.
type op struct {
	kind     opKind
	stage    string
	stageIdx int // -1 for preflight
	step     StepName
}

// program turns a plan into the ordered list of operations: for preflight
// and then each stage, the steps of seed that run there, and the gate after
// every stage but the last. It is a pure function of the plan, so a run
// resumed after continue-as-new (or replayed) gets the same list and
// State.Next indexes it.
func program(p *plan.Rollout) []op {
	var ops []op
	last := len(p.Spec.Stages) - 1
	for i := -1; i <= last; i++ {
		stage := PreflightStage
		if i >= 0 {
			stage = p.Spec.Stages[i].Name
		}
		for _, d := range seed {
			if d.runs(p, i) {
				ops = append(ops, op{kind: opStep, stage: stage, stageIdx: i, step: d.name})
			}
		}
		if i >= 0 && i < last {
			ops = append(ops, op{kind: opGate, stage: stage, stageIdx: i})
		}
	}
	return ops
}
