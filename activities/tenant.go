package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// ValidateInput re-validates a plan inside the worker (the plan may have
// been started by an older CLI).
type ValidateInput struct {
	Plan plan.Rollout `json:"plan"`
}

// ValidateResult lists problems; empty means valid.
type ValidateResult struct {
	Problems []string `json:"problems,omitempty"`
}

// ValidatePlan re-runs the plan's validation.
func (a *Activities) ValidatePlan(ctx context.Context, in ValidateInput) (ValidateResult, error) {
	var res ValidateResult
	if err := in.Plan.Validate(); err != nil {
		var ve *plan.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				res.Problems = append(res.Problems, p.String())
			}
		} else {
			res.Problems = append(res.Problems, err.Error())
		}
	}
	return res, nil
}

// TenantPreflightInput reads the tenant without changing it.
type TenantPreflightInput struct {
	Plan plan.Rollout `json:"plan"`
}

// TenantPreflightResult is what the tenant looks like before the rollout.
type TenantPreflightResult struct {
	Snapshot       entra.Snapshot `json:"snapshot"`
	Changes        []entra.Change `json:"changes"`
	GroupID        string         `json:"groupId,omitempty"`
	GroupExists    bool           `json:"groupExists"`
	MigrationState string         `json:"migrationState,omitempty"`
	Missing        []string       `json:"missingMembers,omitempty"`
	Licensed       bool           `json:"licensed"`
	TenantUsers    int            `json:"tenantUsers"`
	Registered     int            `json:"registered"`
	Warnings       []string       `json:"warnings,omitempty"`
}

// TenantPreflight reads the current SSPR configuration, the SSPR group and
// the members named by the plan, and computes what the whole rollout would
// change. It changes nothing.
func (a *Activities) TenantPreflight(ctx context.Context, in TenantPreflightInput) (TenantPreflightResult, error) {
	var res TenantPreflightResult
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return res, err
	}
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return res, classify(fmt.Errorf("read SSPR configuration: %w", err))
	}
	res.Snapshot = snap
	res.MigrationState = snap.MigrationState
	groupID := ""
	if g := firstGroup(&in.Plan); g != nil {
		grp, err := t.FindGroup(ctx, g.Name)
		switch {
		case err == nil:
			res.GroupExists, res.GroupID, groupID = true, grp.ID, grp.ID
		case errors.Is(err, entra.ErrNotFound):
			if g.Create != nil && !*g.Create {
				return res, permanent("GroupMissing", fmt.Errorf(
					"SSPR group %q does not exist and the plan says create: false: create it in Entra or set spec.stages[0].group.create: true", g.Name))
			}
			groupID = "<new group " + g.Name + ">"
		default:
			return res, classify(fmt.Errorf("find group %q: %w", g.Name, err))
		}
	}
	res.Changes = entra.Diff(snap, entra.DesiredSettings(&in.Plan, groupID, finalScope(&in.Plan)))
	// The registration reports need Entra ID P1/P2 and AuditLog.Read.All;
	// the gates depend on them, so find out now (one request tenant-wide).
	stop := keepAlive(ctx, "checking the registration report")
	cov, err := t.Coverage(ctx, "")
	stop()
	if err != nil && entra.IsPermanent(err) {
		return res, permanent("Licence", fmt.Errorf(
			"the registration report is not readable (needs an Entra ID P1/P2 licence and AuditLog.Read.All): %w", err))
	}
	if err != nil {
		return res, classify(fmt.Errorf("read the registration report: %w", err)) // throttled or unavailable: retried
	}
	res.Licensed, res.TenantUsers, res.Registered = true, cov.Total, cov.Registered
	if snap.MigrationState != "" && snap.MigrationState != "migrationComplete" {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"authentication methods policy migration state is %s: methods are managed in both the legacy SSPR policy and the authentication methods policy until it is migrationComplete", snap.MigrationState))
	}
	return res, nil
}

// EnsureGroupInput finds or creates the SSPR group.
type EnsureGroupInput struct {
	Plan plan.Rollout `json:"plan"`
	Name string       `json:"name"`
}

// EnsureGroupResult names the group and whether it exists yet.
type EnsureGroupResult struct {
	Group  entra.Group `json:"group"`
	Exists bool        `json:"exists"`
}

// FindGroup looks the SSPR group up by name (read-only), so the workflow
// can record "group to create" before creating it.
func (a *Activities) FindGroup(ctx context.Context, in EnsureGroupInput) (EnsureGroupResult, error) {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return EnsureGroupResult{}, err
	}
	g, err := t.FindGroup(ctx, in.Name)
	if errors.Is(err, entra.ErrNotFound) {
		return EnsureGroupResult{}, nil
	}
	if err != nil {
		return EnsureGroupResult{}, classify(fmt.Errorf("find group %q: %w", in.Name, err))
	}
	return EnsureGroupResult{Group: g, Exists: true}, nil
}

// EnsureGroup creates the SSPR group unless a group of that name exists:
// a retry after a crash finds the group it created and does not make two.
func (a *Activities) EnsureGroup(ctx context.Context, in EnsureGroupInput) (EnsureGroupResult, error) {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return EnsureGroupResult{}, err
	}
	g, err := t.FindGroup(ctx, in.Name)
	if err == nil {
		return EnsureGroupResult{Group: g, Exists: true}, nil
	}
	if !errors.Is(err, entra.ErrNotFound) {
		return EnsureGroupResult{}, classify(fmt.Errorf("find group %q: %w", in.Name, err))
	}
	g, err = t.CreateGroup(ctx, in.Name)
	if err != nil {
		return EnsureGroupResult{}, classify(fmt.Errorf("create group %q: %w", in.Name, err))
	}
	return EnsureGroupResult{Group: g, Exists: true}, nil
}

// MembersInput names UPNs for the SSPR group.
type MembersInput struct {
	Plan    plan.Rollout `json:"plan"`
	GroupID string       `json:"groupId"`
	UPNs    []string     `json:"upns"`
}

// AddMembers adds the UPNs to the group. Already-members are not an error;
// unknown UPNs are reported, and fail the step when the plan says
// missingMembers: stop.
func (a *Activities) AddMembers(ctx context.Context, in MembersInput) (entra.AddResult, error) {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return entra.AddResult{}, err
	}
	stop := keepAlive(ctx, "adding members")
	res, err := t.AddMembers(ctx, in.GroupID, in.UPNs)
	stop()
	if err != nil {
		return res, classify(fmt.Errorf("add %d members to group %s: %w", len(in.UPNs), in.GroupID, err))
	}
	if len(res.NotFound) > 0 && in.Plan.Spec.MissingMembers != plan.MissingMembersContinue {
		sort.Strings(res.NotFound)
		return res, permanent("MembersMissing", fmt.Errorf(
			"%d member(s) do not exist in the tenant: %s (fix the UPNs in the plan, or set spec.missingMembers: continue)",
			len(res.NotFound), strings.Join(res.NotFound, ", ")))
	}
	return res, nil
}

// SettingsInput names the fields of one step and the target they take.
type SettingsInput struct {
	Plan    plan.Rollout  `json:"plan"`
	Fields  []entra.Field `json:"fields"`
	GroupID string        `json:"groupId,omitempty"`
	Scope   entra.Scope   `json:"scope"`
}

// DiffSettings reads the tenant and returns what the step would change
// (read-only), so the workflow can record it before applying.
func (a *Activities) DiffSettings(ctx context.Context, in SettingsInput) ([]entra.Change, error) {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return nil, err
	}
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return nil, classify(fmt.Errorf("read SSPR configuration: %w", err))
	}
	return entra.Diff(snap, pick(entra.DesiredSettings(&in.Plan, in.GroupID, in.Scope), in.Fields)), nil
}

// ApplyInput carries changes to write.
type ApplyInput struct {
	Plan    plan.Rollout   `json:"plan"`
	Changes []entra.Change `json:"changes"`
}

// ApplyResult says what was written and what a human must do.
type ApplyResult struct {
	Applied      int            `json:"applied"`
	Manual       []entra.Change `json:"manual,omitempty"`
	Instructions []string       `json:"instructions,omitempty"`
}

// ApplySettings writes changes. Writing a value the tenant already holds is
// a no-op, so a retry is harmless. In manual mode the portal-only changes
// come back as instructions for a person.
func (a *Activities) ApplySettings(ctx context.Context, in ApplyInput) (ApplyResult, error) {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return ApplyResult{}, err
	}
	var auto, manual []entra.Change
	for _, c := range in.Changes {
		if c.Portal && in.Plan.Spec.SSPRPolicy.Mode != plan.PolicyModePortalAPI {
			manual = append(manual, c)
		} else {
			auto = append(auto, c)
		}
	}
	if len(auto) > 0 {
		if err := t.Apply(ctx, auto); err != nil {
			return ApplyResult{}, classify(fmt.Errorf("apply %d change(s): %w", len(auto), err))
		}
	}
	res := ApplyResult{Applied: len(auto), Manual: manual}
	if len(manual) > 0 {
		res.Instructions = entra.Instructions(manual)
	}
	return res, nil
}

// VerifySettings re-reads the tenant and returns every field of the step
// that does not hold the planned value.
func (a *Activities) VerifySettings(ctx context.Context, in SettingsInput) ([]entra.Change, error) {
	return a.DiffSettings(ctx, in)
}

// RestoreInput undoes applied tenant changes.
type RestoreInput struct {
	Plan    plan.Rollout   `json:"plan"`
	Applied []entra.Change `json:"applied"`
}

// RestoreSettings restores fields the rollout changed, only where the tenant
// still holds the value the rollout wrote; anything else is a conflict,
// reported and left alone.
func (a *Activities) RestoreSettings(ctx context.Context, in RestoreInput) (entra.RestoreReport, error) {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return entra.RestoreReport{}, err
	}
	rep, err := entra.Restore(ctx, t, in.Applied)
	if errors.Is(err, entra.ErrManual) {
		return rep, nil // rep.Manual lists what a person must set back
	}
	if err != nil {
		return rep, classify(fmt.Errorf("restore %d field(s): %w", len(in.Applied), err))
	}
	return rep, nil
}

// GroupInput names a group for compensation.
type GroupInput struct {
	Plan    plan.Rollout `json:"plan"`
	GroupID string       `json:"groupId,omitempty"`
	Name    string       `json:"name"`
	UPNs    []string     `json:"upns,omitempty"`
}

// DeleteGroup deletes the group the rollout created (by id, or by name when
// a crash lost the id). A group already gone is success.
func (a *Activities) DeleteGroup(ctx context.Context, in GroupInput) error {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return err
	}
	id := in.GroupID
	if id == "" {
		g, err := t.FindGroup(ctx, in.Name)
		if errors.Is(err, entra.ErrNotFound) {
			return nil
		}
		if err != nil {
			return classify(err)
		}
		id = g.ID
	}
	if err := t.DeleteGroup(ctx, id); err != nil && !errors.Is(err, entra.ErrNotFound) {
		return classify(fmt.Errorf("delete group %s: %w", id, err))
	}
	return nil
}

// RemoveMembers removes the UPNs the rollout added. Users already removed
// are fine.
func (a *Activities) RemoveMembers(ctx context.Context, in GroupInput) error {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return err
	}
	if err := t.RemoveMembers(ctx, in.GroupID, in.UPNs); err != nil && !errors.Is(err, entra.ErrNotFound) {
		return classify(fmt.Errorf("remove %d members from %s: %w", len(in.UPNs), in.GroupID, err))
	}
	return nil
}

// CoverageInput names the population to measure.
type CoverageInput struct {
	Plan    plan.Rollout `json:"plan"`
	GroupID string       `json:"groupId,omitempty"`
}

// Coverage reads registration coverage of the group, or of the tenant.
func (a *Activities) Coverage(ctx context.Context, in CoverageInput) (entra.Coverage, error) {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return entra.Coverage{}, err
	}
	defer keepAlive(ctx, "reading registration details")()
	c, err := t.Coverage(ctx, in.GroupID)
	if err != nil {
		return c, classify(fmt.Errorf("read registration coverage: %w", err))
	}
	return c, nil
}

func pick(s entra.Settings, fields []entra.Field) entra.Settings {
	out := entra.Settings{}
	for _, f := range fields {
		if strings.HasSuffix(string(f), ".") { // a prefix such as "method."
			for k, v := range s {
				if strings.HasPrefix(string(k), string(f)) {
					out[k] = v
				}
			}
			continue
		}
		if v, ok := s[f]; ok {
			out[f] = v
		}
	}
	return out
}

func firstGroup(p *plan.Rollout) *plan.GroupRef {
	if len(p.Spec.Stages) == 0 {
		return nil
	}
	return p.Spec.Stages[0].Group
}

func finalScope(p *plan.Rollout) entra.Scope {
	n := len(p.Spec.Stages)
	if n > 0 && p.Spec.Stages[n-1].All {
		return entra.ScopeAll
	}
	return entra.ScopeSelected
}

// PlanMembersResult is the subset of a stage's UPNs that are not members yet.
type PlanMembersResult struct {
	ToAdd         []string `json:"toAdd,omitempty"`
	AlreadyMember []string `json:"alreadyMember,omitempty"`
}

// PlanMembers reads the group's membership (read-only) and returns the UPNs
// the stage would add, so the workflow records exactly those before adding.
func (a *Activities) PlanMembers(ctx context.Context, in MembersInput) (PlanMembersResult, error) {
	var res PlanMembersResult
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return res, err
	}
	current, err := t.Members(ctx, in.GroupID)
	if err != nil {
		return res, classify(fmt.Errorf("list members of %s: %w", in.GroupID, err))
	}
	have := make(map[string]bool, len(current))
	for _, u := range current {
		have[strings.ToLower(u)] = true
	}
	for _, u := range in.UPNs {
		if have[strings.ToLower(u)] {
			res.AlreadyMember = append(res.AlreadyMember, u)
		} else {
			res.ToAdd = append(res.ToAdd, u)
		}
	}
	return res, nil
}
