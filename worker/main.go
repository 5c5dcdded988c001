// Command ssprflow-worker runs the ssprflow Temporal worker, or with
// --agent writeback the agent on a sync server. It only wires: see
// internal/worker.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ssprflow/ssprflow/internal/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }() // a second Ctrl-C ends a cleanup that hangs
	code := worker.Main(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}
