package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
)

// validatePlan re-validates the plan inside the worker: it may have been
// started by an older CLI, or directly on Temporal.
func (r *rollout) validatePlan(ctx workflow.Context, _ op) (StepStatus, string, error) {
	var res activities.ValidateResult
	if err := workflow.ExecuteActivity(shortCtx(ctx), a.ValidatePlan, activities.ValidateInput{Plan: r.plan}).Get(ctx, &res); err != nil {
		return "", "", err
	}
	if len(res.Problems) > 0 {
		return "", "", fmt.Errorf("plan is invalid: %s", strings.Join(res.Problems, "; "))
	}
	return StepVerified, "plan is valid", nil
}
