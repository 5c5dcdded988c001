package activities

import "github.com/ssprflow/ssprflow/internal/entra"

// HelpdeskFields are the tenant settings the helpdesk step owns: the
// customised "contact your administrator" link and where it points.
var HelpdeskFields = entra.StepFields(entra.StepHelpdesk)
