package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// PasswordAgeInput names the groups in scope.
type PasswordAgeInput struct {
	Plan   plan.Rollout `json:"plan"`
	Groups []string     `json:"groups,omitempty"`
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
	pa, err := d.PasswordAge(ctx, in.Groups)
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
