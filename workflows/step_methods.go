package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
)

// methods sets which reset methods users may use and how many a reset needs:
// it sets activities.MethodFields through the settings activities
// (settings.go), recording ChangeTenantSettings.
func (r *rollout) methods(ctx workflow.Context, o op) (StepStatus, string, error) {
	return r.settings(ctx, o, activities.MethodFields, entra.ScopeSelected)
}
