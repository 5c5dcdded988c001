package activities

import (
	"context"
	"fmt"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

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
