// Command ssprflow is the ssprflow CLI for operators and approvers: plans,
// rollouts, approvals, events and reports. It only wires: see internal/cli.
package main

import (
	"github.com/ssprflow/ssprflow/internal/cli"
	"github.com/ssprflow/ssprflow/internal/cmdline"
)

func main() { cmdline.Exec(cli.Main) }
