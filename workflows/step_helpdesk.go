package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
)

// helpdesk sets the "contact your administrator" link users see when they
// cannot reset: it sets activities.HelpdeskFields through the settings
// activities (settings.go), recording ChangeTenantSettings.
func (r *rollout) helpdesk(ctx workflow.Context, o op) (StepStatus, string, error) {
	return r.settings(ctx, o, activities.HelpdeskFields, entra.ScopeSelected)
}
