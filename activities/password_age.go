package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// PasswordAgeInput is the rollout's plan. Every PSO is checked, not only
// those of the rollout's groups: those groups live in Entra, and a PSO on
// any synced group can block writeback for its members. (Histories recorded
// before carry a "groups" field, which nothing reads.)
type PasswordAgeInput struct {
	Plan plan.Rollout `json:"plan"`
}

// VerifyPasswordAge fails, permanently and with the remediation, when any
// effective minimum password age is not 0 and the plan requires 0. It never
// edits a GPO or a PSO.
func (a *Activities) VerifyPasswordAge(ctx context.Context, in PasswordAgeInput) (PasswordAge, error) {
	d, err := a.directory(ctx, &in.Plan)
	if err != nil {
		return PasswordAge{}, err
	}
	defer d.Close()
	pa, err := d.PasswordAge(ctx)
	if err != nil {
		return pa, classify(fmt.Errorf("read password policies: %w", err))
	}
	req := in.Plan.Spec.Directory.RequireMinPasswordAgeZero
	if !pa.OK && (req == nil || *req) {
		return pa, permanent(errtype.PasswordAge, fmt.Errorf("minimum password age is not 0, so writeback can reset a password at most once per period: %s",
			strings.Join(pa.Findings, "; ")))
	}
	return pa, nil
}
