package activities

import (
	"context"
	"errors"

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
