package activities

import (
	"context"
	"fmt"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

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
	d, err := entra.DiffPlan(ctx, t, &in.Plan)
	if err != nil {
		return res, classify(err)
	}
	snap := d.Snapshot
	res.Snapshot, res.MigrationState, res.Changes = snap, snap.MigrationState, d.Changes
	res.GroupExists, res.GroupID = d.GroupExists, d.Group.ID
	if g := firstGroup(&in.Plan); g != nil && !d.GroupExists && g.Create != nil && !*g.Create {
		return res, permanent(errtype.GroupMissing, fmt.Errorf(
			"SSPR group %q does not exist and the plan says create: false: create it in Entra or set spec.stages[0].group.create: true", g.Name))
	}
	// The registration reports need Entra ID P1/P2 and AuditLog.Read.All;
	// the gates depend on them, so find out now (one request tenant-wide).
	stop := keepAlive(ctx, "checking the registration report")
	cov, err := t.Coverage(ctx, "")
	stop()
	if err != nil && entra.IsPermanent(err) {
		return res, permanent(errtype.Licence, fmt.Errorf(
			"the registration report is not readable (needs an Entra ID P1/P2 licence and AuditLog.Read.All): %w", err))
	}
	if err != nil {
		return res, classify(fmt.Errorf("read the registration report: %w", err)) // throttled or unavailable: retried
	}
	res.Licensed, res.TenantUsers, res.Registered = true, cov.Total, cov.Registered
	if len(d.Unread) > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d portal setting(s) could not be read (%s): in manual mode a person is asked to set them; plan diff lists them", len(d.Unread), d.Unread[0].Why))
	}
	if snap.MigrationState == "" {
		res.Warnings = append(res.Warnings, "the authentication methods policy reports no policyMigrationState (null, as new tenants do): ssprflow manages methods in the authentication methods policy; check Protection > Authentication methods > Manage migration in the Entra admin center")
	}
	if snap.MigrationState != "" && snap.MigrationState != "migrationComplete" {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"authentication methods policy migration state is %s: methods are managed in both the legacy SSPR policy and the authentication methods policy until it is migrationComplete", snap.MigrationState))
	}
	return res, nil
}

func firstGroup(p *plan.Rollout) *plan.GroupRef {
	if len(p.Spec.Stages) == 0 {
		return nil
	}
	return p.Spec.Stages[0].Group
}
