package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// The drift check (the watch's scheduled run) reads, and never writes,
// what a finished rollout left behind: every setting the plan manages as
// its final stage wants it, the connector's ACEs on every scope, the
// minimum password age, and registration coverage. The writeback agent's
// health is asked of the agent by the workflow (its own task queue).

// DriftInput is the plan the watch keeps the tenant to. Its stages carry no
// members: the check needs the SSPR group's name and the final scope only.
type DriftInput struct {
	Plan plan.Rollout `json:"plan"`
}

// DriftKind is what drifted.
type DriftKind string

// Kinds of drift.
const (
	DriftSetting     DriftKind = "setting"
	DriftUnreadable  DriftKind = "unreadable"
	DriftGroup       DriftKind = "group"
	DriftACE         DriftKind = "ace"
	DriftPasswordAge DriftKind = "password-age"
	DriftWriteback   DriftKind = "writeback"
	DriftCoverage    DriftKind = "coverage"
	// DriftFailed: the check itself failed (watch status shows it so).
	DriftFailed DriftKind = "failed"
)

// DriftItem is one difference between the plan and the tenant or domain.
type DriftItem struct {
	Kind DriftKind `json:"kind"`
	// Field is the setting (kind setting/unreadable) or the DN (kind ace).
	Field string `json:"field,omitempty"`
	// Label is where an admin finds the setting in the Entra admin center.
	Label string `json:"label,omitempty"`
	Want  string `json:"want,omitempty"`
	Found string `json:"found,omitempty"`
	// Detail says it in a sentence.
	Detail string `json:"detail"`
}

// DriftReport is one check's findings.
type DriftReport struct {
	Items []DriftItem `json:"items,omitempty"`
	// Unreadable are managed settings the worker could not read (no portal
	// credential, a refused sign-in): not drift, which nothing could put
	// back, but said on every check.
	Unreadable []DriftItem `json:"unreadable,omitempty"`
	// Coverage is the registration coverage of the plan's final scope.
	Coverage *entra.Coverage `json:"coverage,omitempty"`
	// Settings and Scopes count what was compared.
	Settings int `json:"settings"`
	Scopes   int `json:"scopes,omitempty"`
	// GroupID is the SSPR group's object id (scope selected).
	GroupID string `json:"groupId,omitempty"`
}

// CheckDrift compares the tenant and the domain with the plan (read-only).
func (a *Activities) CheckDrift(ctx context.Context, in DriftInput) (DriftReport, error) {
	p := &in.Plan
	var rep DriftReport
	t, snap, err := a.snapshot(ctx, p)
	if err != nil {
		return rep, err
	}
	scope := entra.ScopeSelected
	if p.EndsWithAll() {
		scope = entra.ScopeAll
	}
	if len(p.Spec.Stages) > 0 && p.Spec.Stages[0].Group != nil {
		name := p.Spec.Stages[0].Group.Name
		g, err := t.FindGroup(ctx, name)
		switch {
		case err == nil:
			rep.GroupID = g.ID
		case errors.Is(err, entra.ErrNotFound):
			if scope == entra.ScopeSelected {
				rep.Items = append(rep.Items, DriftItem{Kind: DriftGroup, Field: name, Want: "exists", Found: "missing",
					Detail: fmt.Sprintf("the SSPR group %q does not exist", name)})
			}
		default:
			return rep, classify(fmt.Errorf("find group %q: %w", name, err))
		}
	}
	desired := entra.DesiredSettings(p, rep.GroupID, scope)
	rep.Settings = len(desired)
	for _, c := range entra.Diff(snap, desired) {
		spec, _ := entra.Spec(c.Field)
		if why, ok := snap.Unreadable[c.Field]; ok {
			rep.Unreadable = append(rep.Unreadable, DriftItem{Kind: DriftUnreadable, Field: string(c.Field), Label: spec.Label(), Want: c.To,
				Detail: fmt.Sprintf("%s could not be read: %s", c.Field, why)})
			continue
		}
		rep.Items = append(rep.Items, DriftItem{Kind: DriftSetting, Field: string(c.Field), Label: spec.Label(), Want: c.To, Found: c.From,
			Detail: fmt.Sprintf("%s is %q, the plan has %q", c.Field, c.From, c.To)})
	}

	if p.Spec.Directory != nil {
		items, n, err := a.directoryDrift(ctx, p)
		if err != nil {
			return rep, err
		}
		rep.Items, rep.Scopes = append(rep.Items, items...), n
	}

	// The gates measured the SSPR group's coverage: the same population is
	// compared with them. With All, the tenant's share is reported only
	// (it is not what any gate asked for).
	groupID := rep.GroupID
	if scope == entra.ScopeAll {
		groupID = ""
	}
	if scope == entra.ScopeAll || groupID != "" {
		stop := keepAlive(ctx, "reading registration details")
		c, err := t.Coverage(ctx, groupID)
		stop()
		if err != nil {
			return rep, classify(fmt.Errorf("read registration coverage: %w", err))
		}
		rep.Coverage = &c
		if min := minCoverage(p); min > 0 && groupID != "" && c.Percent() < min {
			rep.Items = append(rep.Items, DriftItem{Kind: DriftCoverage, Want: fmt.Sprintf("%.1f%%", min), Found: fmt.Sprintf("%.1f%%", c.Percent()),
				Detail: fmt.Sprintf("registration coverage is %.1f%% (%d of %d), below the plan's %.1f%%", c.Percent(), c.Registered, c.Total, min)})
		}
	}
	return rep, nil
}

// directoryDrift finds missing writeback ACEs on every scope and a minimum
// password age other than 0.
func (a *Activities) directoryDrift(ctx context.Context, p *plan.Rollout) ([]DriftItem, int, error) {
	d, err := a.directory(ctx, p)
	if err != nil {
		return nil, 0, err
	}
	defer d.Close()
	scopes, err := d.Scopes(ctx)
	if err != nil {
		return nil, 0, classify(fmt.Errorf("resolve scopes: %w", err))
	}
	var items []DriftItem
	for _, dn := range scopes.DNs {
		missing, err := d.MissingACEs(ctx, dn)
		if err != nil {
			return nil, 0, classify(fmt.Errorf("read the ACL of %s: %w", dn, err))
		}
		if len(missing) > 0 {
			items = append(items, DriftItem{Kind: DriftACE, Field: dn, Want: "present", Found: fmt.Sprintf("%d missing", len(missing)),
				Detail: fmt.Sprintf("%d of the connector's writeback ACE(s) are missing on %s", len(missing), dn)})
		}
	}
	if p.Spec.Directory.RequireMinPasswordAgeZero == nil || *p.Spec.Directory.RequireMinPasswordAgeZero {
		age, err := d.PasswordAge(ctx)
		if err != nil {
			return nil, 0, classify(fmt.Errorf("read minimum password age: %w", err))
		}
		if !age.OK {
			for _, f := range age.Findings {
				items = append(items, DriftItem{Kind: DriftPasswordAge, Want: "0", Found: f, Detail: "minimum password age is not 0: " + f})
			}
		}
	}
	return items, len(scopes.DNs), nil
}

// minCoverage is the highest registration share any of the plan's gates
// asked for: what the tenant reached once and should not fall below.
func minCoverage(p *plan.Rollout) float64 {
	var m float64
	for i := range p.Spec.Stages {
		if g := p.GateFor(i); g != nil && g.MinRegistrationPercent > m {
			m = g.MinRegistrationPercent
		}
	}
	return m
}

// Watches create and delete plans' watch schedules (wired by the worker:
// the schedule's workflow lives in package workflows).
type Watches interface {
	// Ensure creates or updates the plan's schedule and returns its id.
	Ensure(ctx context.Context, p plan.Rollout) (string, error)
	// Stop deletes it; a plan without one is not an error.
	Stop(ctx context.Context, p plan.Rollout) error
}

// DriftWatchInput is the plan whose watch is started or stopped.
type DriftWatchInput struct {
	Plan plan.Rollout `json:"plan"`
}

// EnsureWatch starts (or updates) the plan's drift watch when a rollout
// succeeds. Idempotent: one schedule per tenant plan.
func (a *Activities) EnsureWatch(ctx context.Context, in DriftWatchInput) (string, error) {
	if a.Watch == nil {
		return "", nil // this worker starts no watches (watch.off)
	}
	id, err := a.Watch.Ensure(ctx, in.Plan)
	if err != nil {
		return "", classify(err)
	}
	return id, nil
}

// StopWatch deletes the plan's drift watch when its rollout is reverted:
// the tenant is meant to differ from the plan now.
func (a *Activities) StopWatch(ctx context.Context, in DriftWatchInput) error {
	if a.Watch == nil {
		return nil
	}
	return classify(a.Watch.Stop(ctx, in.Plan))
}

// RolloutReader reads a run of a rollout from Temporal (wired by the
// worker): its plan and its final state, as JSON.
type RolloutReader func(ctx context.Context, workflowID, runID string) (RolloutRecord, error)

// RolloutRecord is a finished run as Temporal holds it.
type RolloutRecord struct {
	Plan  plan.Rollout    `json:"plan"`
	State json.RawMessage `json:"state"`
}

// LoadRolloutInput names the run to read.
type LoadRolloutInput struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
}

// LoadRollout reads a finished run for its revert: from Temporal, by the
// worker's own client, so a revert undoes what was recorded, never what
// someone wrote into a start request.
func (a *Activities) LoadRollout(ctx context.Context, in LoadRolloutInput) (RolloutRecord, error) {
	if a.Rollouts == nil {
		return RolloutRecord{}, permanent(errtype.TenantUnavailable, errors.New("this worker cannot read rollouts"))
	}
	rec, err := a.Rollouts(ctx, in.WorkflowID, in.RunID)
	if err != nil {
		return rec, classify(err)
	}
	return rec, nil
}
