package localstack

import (
	"context"
	"log/slog"

	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/worker"
	"github.com/ssprflow/ssprflow/internal/writeback"
	"github.com/ssprflow/ssprflow/internal/writebacksim"
)

// runAgent runs the writeback agent against a simulated sync server, as its
// own process, for demo, dev and the end-to-end tests. The simulator lives
// here and not in ssprflow-worker, so the production agent cannot be
// pointed at it by a flag.
func runAgent(ctx context.Context, io IO, args []string) error {
	fs := cmdline.NewFlags(io, "ssprflow-dev", "agent", "[flags]", "Run the writeback agent with a simulated Entra Connect server.")
	queue := fs.String("task-queue", "", "the agent's task queue (the plan's writeback.agentQueue)")
	temporal := fs.String("temporal", "", "Temporal frontend host:port")
	stateFile := fs.String("state-file", "", "simulated sync server state file")
	syncAccount := fs.String("sync-account", "", "the AD DS connector account the simulated server uses")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	if *temporal == "" || *queue == "" || *stateFile == "" {
		return cmdline.Usage("agent needs --temporal, --task-queue and --state-file")
	}
	logger := slog.New(slog.NewJSONHandler(io.Err, nil))
	sim, err := writebacksim.Open(*stateFile)
	if err != nil {
		return cmdline.Failed(err)
	}
	if *syncAccount != "" {
		sim.SetConnectorAccount(*syncAccount)
	}
	logger.Warn("writeback agent uses a SIMULATED sync server: nothing on a real Entra Connect server is changed")
	tc := config.Temporal{Address: *temporal, Namespace: "default", Codec: worker.AgentCodec("")}
	opts := writeback.AgentOptions{TaskQueue: *queue, Logger: logger, Mode: writeback.ModeEntraConnect, Runner: sim.WithLogger(logger)}
	if err := worker.RunAgent(ctx, tc, opts); err != nil && ctx.Err() == nil {
		return cmdline.Failed(err)
	}
	return nil
}
