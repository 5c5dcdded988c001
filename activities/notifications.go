package activities

import "github.com/ssprflow/ssprflow/internal/entra"

// NotificationFields are the tenant settings the notifications step owns:
// whether users are told of their own reset, and admins of another admin's.
var NotificationFields = entra.StepFields(entra.StepNotifications)
