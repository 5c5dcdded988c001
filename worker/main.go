// Command ssprflow-worker runs the ssprflow Temporal worker, with --agent
// writeback the agent on a sync server, or the AD tools (ssprflow-worker
// ad ...). It only wires: see internal/worker.
package main

import (
	"context"
	"io"

	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/internal/worker"
)

func main() {
	cmdline.Exec(func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		return worker.Main(ctx, args, stdout, stderr)
	})
}
