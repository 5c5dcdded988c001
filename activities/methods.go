package activities

import "github.com/ssprflow/ssprflow/internal/entra"

// MethodFields are the tenant settings the methods step owns: how many
// methods a reset needs, the portal's per-method flags, and the Graph
// authentication methods policy states behind them.
var MethodFields = entra.StepFields(entra.StepMethods)
