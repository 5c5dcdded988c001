package writeback_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

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

// The local demo has no Windows host: the agent drives a simulated sync
// server whose state survives agent restarts.
func ExampleNewSimulatedSyncServer() {
	sim, err := writeback.NewSimulatedSyncServer("/var/lib/ssprflow/syncserver.json")
	if err != nil {
		panic(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := client.Dial(client.Options{HostPort: "127.0.0.1:7233"})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	_ = writeback.RunAgent(ctx, c, writeback.AgentOptions{
		TaskQueue: "writeback-simulated",
		Mode:      writeback.ModeCloudSync,
		Runner:    sim,
		CloudSyncCredential: writeback.CredentialFromEnv(
			"SSPRFLOW_CLOUDSYNC_USER", "SSPRFLOW_CLOUDSYNC_PASSWORD"),
	})
}
