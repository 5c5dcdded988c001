package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
)

// registration makes users register their methods when they sign in and sets
// how often they reconfirm them: it sets activities.RegistrationFields
// through the settings activities (settings.go), recording
// ChangeTenantSettings.
func (r *rollout) registration(ctx workflow.Context, o op) (StepStatus, string, error) {
	return r.settings(ctx, o, activities.RegistrationFields, entra.ScopeSelected)
}
