package writeback_test

import (
	"context"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"

	"github.com/ssprflow/ssprflow/internal/writeback"
)

// The agent on an Entra Connect server: a worker on the host's own task
// queue serving only the writeback activities, as a Windows service.
func ExampleRunAgent() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	run := func(ctx context.Context) error {
		c, err := client.Dial(client.Options{HostPort: "temporal.example.internal:7233"})
		if err != nil {
			return err
		}
		defer c.Close()
		return writeback.RunAgent(ctx, c, writeback.AgentOptions{
			TaskQueue: "writeback-sync01",
			Mode:      writeback.ModeEntraConnect,
			Runner:    writeback.PowerShell{},
			Logger:    logger,
		})
	}
	if err := writeback.RunService("ssprflow-writeback", run); err != nil {
		logger.Error("agent stopped", "err", err)
	}
}
