package localstack

import (
	"context"

	"github.com/ssprflow/ssprflow/internal/cmdline"

	"github.com/ssprflow/ssprflow/internal/worker"
)

// workerCmd is ssprflow-worker inside the CLI binary, so `ssprflow demo`
// and `ssprflow dev` can start the writeback agent as its own process.
func workerCmd() *cmdline.Command {
	return &cmdline.Command{Name: "worker", Summary: "run the worker or an agent (same flags as ssprflow-worker)", Hidden: true,
		Run: func(ctx context.Context, io IO, args []string) error {
			if code := worker.Main(ctx, args, io.Err); code != 0 {
				return &cmdline.ExitError{Code: code}
			}
			return nil
		}}
}
