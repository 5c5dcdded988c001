package activities

import "github.com/ssprflow/ssprflow/internal/entra"

// ScopeFields are the tenant settings the scope step owns while SSPR is
// for a group: the scope and the group. In the "all" stage it sets only
// entra.FieldScope.
var ScopeFields = entra.StepFields(entra.StepScope)
