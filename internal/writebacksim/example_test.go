package writebacksim_test

import (
	"context"
	"os"
	"os/signal"

	"go.temporal.io/sdk/client"

	"github.com/ssprflow/ssprflow/internal/writeback"
	"github.com/ssprflow/ssprflow/internal/writebacksim"
)

// The local demo has no Windows host: the agent drives a simulated sync
// server whose state survives agent restarts.
func ExampleOpen() {
	sim, err := writebacksim.Open("/var/lib/ssprflow/syncserver.json")
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
