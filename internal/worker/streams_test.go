package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/dial"
	"github.com/ssprflow/ssprflow/internal/natsproc"
	"github.com/ssprflow/ssprflow/internal/streams"
)

// TestEnsureStreamsWaitsForJetStream: a worker that starts while its NATS
// server is down waits for it (the connection reconnects) and creates the
// streams once it answers; a mismatch is reported at once, not retried; and
// the wait is bounded.
func TestEnsureStreamsWaitsForJetStream(t *testing.T) {
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", natsproc.FreePort(t))
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("listen: %s\njetstream { store_dir: %q }\n", addr, filepath.Join(dir, "js"))), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := natsproc.Run(t, conf, addr, os.Environ())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, js, err := dial.NATS(ctx, config.NATS{URL: srv.URL()}, "streams-test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	srv.Kill()
	done := make(chan error, 1)
	go func() { done <- ensureStreams(ctx, js, config.Streams{}, logger, 30*time.Second) }()
	// Longer than one attempt (5 s): the request buffered during the
	// reconnect times out and ensureStreams tries again.
	time.Sleep(6 * time.Second)
	srv.Restart()
	if err := <-done; err != nil {
		t.Fatalf("ensureStreams across a NATS restart: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "retrying") || !strings.Contains(logs.String(), "created NATS streams") {
		t.Errorf("logs:\n%s", logs.String())
	}

	start := time.Now()
	err = ensureStreams(ctx, js, config.Streams{Replicas: 3}, logger, 30*time.Second)
	if !errors.Is(err, streams.ErrMismatch) || time.Since(start) > 5*time.Second {
		t.Errorf("mismatch: %v after %v, want ErrMismatch at once", err, time.Since(start))
	}

	srv.Kill()
	start = time.Now()
	err = ensureStreams(ctx, js, config.Streams{}, logger, time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "NATS streams: ") || time.Since(start) > 15*time.Second {
		t.Errorf("NATS away: %v after %v, want a bounded failure", err, time.Since(start))
	}
}
