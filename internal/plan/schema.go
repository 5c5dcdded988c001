package plan

import (
	"bytes"
	_ "embed"
)

//go:embed schema.json
var schema []byte

// Schema returns the JSON Schema (draft 2020-12) of a plan document, for
// editors that validate YAML as it is typed. It describes structure and
// ranges only; Load applies the full rules. The result is a copy.
func Schema() []byte { return bytes.Clone(schema) }
