package workflows

import (
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// Step names, as they appear in status output and events.
const (
	StepValidate           = "validate-plan"
	StepTenantPreflight    = "tenant-preflight"
	StepDirectoryPreflight = "directory-preflight"
	StepGroup              = "sspr-group"
	StepMembers            = "members"
	StepMethods            = "methods"
	StepRegistration       = "registration"
	StepNotifications      = "notifications"
	StepHelpdesk           = "helpdesk"
	StepADPermissions      = "ad-permissions"
	StepPasswordAge        = "password-age"
	StepWriteback          = "writeback"
	StepScope              = "scope"
	StepVerify             = "verify"
	StepCoverage           = "coverage"
)

// PreflightStage is the name of the read-only first stage.
const PreflightStage = "preflight"

type opKind int

const (
	opStep opKind = iota
	opGate
)

// op is one operation of a rollout's program: a step of a stage, or the
// gate after a stage.
type op struct {
	kind     opKind
	stage    string
	stageIdx int // -1 for preflight
	step     string
}

// program turns a plan into the ordered list of operations. It is a pure
// function of the plan, so a run resumed after continue-as-new (or replayed)
// gets the same list and State.Next indexes it.
//
// Within the first stage, SSPR is switched on for the group last: methods,
// registration, notifications, helpdesk, AD rights, password age and
// writeback are in place before any user can reach the reset page.
func program(p *plan.Rollout) []op {
	var ops []op
	add := func(stage string, idx int, steps ...string) {
		for _, s := range steps {
			ops = append(ops, op{kind: opStep, stage: stage, stageIdx: idx, step: s})
		}
	}
	add(PreflightStage, -1, StepValidate, StepTenantPreflight)
	if p.Spec.Directory != nil {
		add(PreflightStage, -1, StepDirectoryPreflight)
	}
	last := len(p.Spec.Stages) - 1
	for i, s := range p.Spec.Stages {
		if i == 0 {
			if s.Group != nil {
				add(s.Name, i, StepGroup)
			}
			if len(s.Members) > 0 {
				add(s.Name, i, StepMembers)
			}
			add(s.Name, i, StepMethods, StepRegistration, StepNotifications, StepHelpdesk)
			if p.Spec.Directory != nil {
				add(s.Name, i, StepADPermissions)
				add(s.Name, i, StepPasswordAge)
			}
			if p.Spec.Writeback.Mode != "" && p.Spec.Writeback.Mode != plan.WritebackNone {
				add(s.Name, i, StepWriteback)
			}
			add(s.Name, i, StepScope, StepVerify)
		} else {
			if len(s.Members) > 0 {
				add(s.Name, i, StepMembers)
			}
			if s.All {
				add(s.Name, i, StepScope)
			}
			add(s.Name, i, StepVerify)
		}
		if i == last {
			add(s.Name, i, StepCoverage)
		} else {
			ops = append(ops, op{kind: opGate, stage: s.Name, stageIdx: i})
		}
	}
	return ops
}

// Fields each settings step owns.
var (
	methodFields = []entra.Field{entra.FieldMethodsRequired, entra.FieldMethodPrefix, entra.FieldPolicyPrefix}
	regFields    = []entra.Field{entra.FieldRegistrationOnLogin, entra.FieldReconfirmDays}
	notifyFields = []entra.Field{entra.FieldNotifyUsers, entra.FieldNotifyAdmins}
	helpFields   = []entra.Field{entra.FieldHelpdeskCustomized, entra.FieldHelpdeskContact}
	wbFields     = []entra.Field{entra.FieldWritebackEnabled, entra.FieldUnlockEnabled}
	scopeFields  = []entra.Field{entra.FieldScope, entra.FieldGroup}
)

// verifyFields are every field the rollout manages, for read-back.
func verifyFields(p *plan.Rollout, all bool) []entra.Field {
	var f []entra.Field
	f = append(f, methodFields...)
	f = append(f, regFields...)
	f = append(f, notifyFields...)
	f = append(f, helpFields...)
	if p.Spec.Writeback.Mode != "" && p.Spec.Writeback.Mode != plan.WritebackNone {
		f = append(f, wbFields...)
	}
	if all {
		return append(f, entra.FieldScope)
	}
	return append(f, scopeFields...)
}
