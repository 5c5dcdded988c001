// Command ssprflow-dev runs ssprflow's local stack: the demo, a dev stack
// for the CLI, and the tenant simulator. It only wires: see
// internal/localstack.
package main

import (
	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/internal/localstack"
)

func main() { cmdline.Exec(localstack.Main) }
