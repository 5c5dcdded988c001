package activities

import "github.com/ssprflow/ssprflow/internal/entra"

// RegistrationFields are the tenant settings the registration step owns,
// both portal-only: whether users must register their methods when they
// next sign in, and after how many days they are asked to reconfirm them.
// The step applies them through the settings activities (settings.go);
// their rows in the settings table (internal/entra/fields.go) say where
// they live, their defaults and the manual-mode text, and their values come
// from the plan's spec.registration through entra.DesiredSettings. The
// registration report that shows the step's effect is read by Coverage
// (coverage.go).
var RegistrationFields = entra.StepFields(entra.StepRegistration)
