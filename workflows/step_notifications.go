package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
)

// notifications sets who is told of a reset: the user, and admins when
// another admin resets: it sets activities.NotificationFields through the
// settings activities (settings.go), recording ChangeTenantSettings.
func (r *rollout) notifications(ctx workflow.Context, o op) (StepStatus, string, error) {
	return r.settings(ctx, o, activities.NotificationFields, entra.ScopeSelected)
}
