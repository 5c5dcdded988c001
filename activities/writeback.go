package activities

import "github.com/ssprflow/ssprflow/internal/entra"

// WritebackFields are the tenant half of the writeback step: the portal's
// writeback and account unlock toggles. The sync-server half runs in the
// writeback agent (internal/writeback), on its own task queue.
var WritebackFields = entra.StepFields(entra.StepWriteback)
