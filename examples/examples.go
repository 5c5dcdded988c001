// Package examples ships the example rollout plans inside the binary, so
// `ssprflow demo` runs from any directory.
package examples

import "embed"

// FS holds every example plan (*.yaml).
//
//go:embed *.yaml
var FS embed.FS
