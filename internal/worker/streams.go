package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/streams"
)

// streamsWait bounds how long a starting worker waits for JetStream to
// answer (a cluster electing its meta leader, a node restarting): longer
// than an election, short enough that a wrong URL or a cluster too small for
// nats.streams.replicas shows as a failed start.
const streamsWait = time.Minute

// ensureStreams runs streams.Ensure until JetStream answers: a mismatch
// is final (it needs an operator), anything else is retried for
// streamsWait, each failure logged.
func ensureStreams(ctx context.Context, js jetstream.JetStream, c config.Streams, logger *slog.Logger, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	backoff := 250 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		created, err := streams.Ensure(actx, js, c)
		cancel()
		if len(created) > 0 {
			logger.Info("created NATS streams", "streams", created, "replicas", c.ReplicaCount())
		}
		if err == nil || errors.Is(err, streams.ErrMismatch) {
			return err
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("NATS streams: %w", err)
		}
		logger.Warn("NATS streams: JetStream did not answer, retrying", "err", err, "retryIn", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
