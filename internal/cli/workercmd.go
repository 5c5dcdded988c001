package cli

import (
	"context"

	"github.com/ssprflow/ssprflow/internal/worker"
)

// workerCmd is ssprflow-worker inside the CLI binary, so `ssprflow demo`
// and `ssprflow dev` can start the writeback agent as its own process.
func workerCmd() *command {
	return &command{name: "worker", summary: "run the worker or an agent (same flags as ssprflow-worker)", hidden: true,
		run: func(ctx context.Context, io IO, args []string) error {
			if code := worker.Main(ctx, args, io.Err); code != 0 {
				return &exitError{code: code}
			}
			return nil
		}}
}
