// Package worker is the composition root of ssprflow-worker: it builds the
// clients from configuration, registers the workflows and activities, runs
// the NATS approval bridge, and shuts everything down on cancel. The
// ssprflow-worker main and the local demo both call Run.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ssprflow/ssprflow/internal/dial"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	sdkworker "go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/attest"
	"github.com/ssprflow/ssprflow/internal/blob"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/workflows"
)

// Options are what a caller adds to the configuration.
type Options struct {
	Logger *slog.Logger
	// Ready, when set, is called once the worker polls and the bridge runs.
	Ready func()
	// WebReady, when set, is called with the approval web app's address
	// once it listens.
	WebReady func(addr string)
}

// Run runs the main worker until ctx is cancelled.
// progressHeartbeat bounds how stale a running activity's progress may be
// on the server.
const progressHeartbeat = 3 * time.Second

func Run(ctx context.Context, cfg *config.Config, opts Options) error {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if err := RequireCodec(cfg.Temporal); err != nil {
		return err
	}
	warnIfDisabled(cfg.Temporal, logger)
	reg := prometheus.NewRegistry()
	tc, err := dial.Temporal(ctx, cfg.Temporal, logger, NewMetricsHandler(reg))
	if err != nil {
		return err
	}
	defer tc.Close()

	nc, js, err := dial.NATS(ctx, cfg.NATS, "ssprflow-worker")
	if err != nil {
		return err
	}
	defer nc.Close()
	// Missing streams are created; existing ones are checked, never
	// changed: a difference stops the start with the fix (internal/streams).
	if err := ensureStreams(ctx, js, cfg.NATS.Streams, logger, streamsWait); err != nil {
		return err
	}
	blobs, err := blob.New(nc, blobCacheDir(cfg))
	if err != nil {
		return err
	}

	keys, err := SigningKeys(cfg)
	if err != nil {
		return err
	}

	acts := &activities.Activities{
		Tenants:   TenantFactory(cfg, logger),
		Directory: DirectoryDialer(cfg, logger),
		Events:    &notifyingEvents{Events: &Events{JS: js}, cfg: cfg, logger: logger},
		Blobs:     blobs,
		Logger:    logger,
	}
	queue := cfg.TaskQueue
	if queue == "" {
		queue = workflows.TaskQueue
	}
	acts.Locker = func(ctx context.Context, tenantID, tenant string, req activities.LockRequest) (activities.LockReply, error) {
		return workflows.AcquireTenantLock(ctx, tc, queue, tenantID, tenant, req)
	}
	// Heartbeats carry a wave's progress (rollout status, the demo): send
	// them every few seconds, not at 80% of the 30 s heartbeat timeout.
	// On stop (SIGTERM) the worker stops polling and gives running
	// activities ShutdownTimeout to finish; then their contexts are
	// cancelled and Temporal retries them on another worker.
	w := sdkworker.New(tc, queue, sdkworker.Options{MaxHeartbeatThrottleInterval: progressHeartbeat, WorkerStopTimeout: cfg.ShutdownTimeout})
	workflows.Register(w, workflows.KeyringTrust{Keys: keys, SelfApproval: cfg.Policy.AllowSelfApproval, UnverifiedStart: cfg.Policy.AllowUnverifiedStarts})
	w.RegisterActivity(acts)
	w.RegisterActivity(&activities.LockActivities{Client: tc})

	probes := &Probes{Temporal: tc, NATS: nc, JS: js, Streams: cfg.NATS.Streams}
	g, gctx := errgroup.WithContext(ctx)
	if err := serveOps(gctx, g, cfg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), probes); err != nil {
		return err
	}
	g.Go(func() error {
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker on %s: %w", queue, err)
		}
		probes.Polling()
		<-gctx.Done()
		probes.Stopping()
		logger.Info("ssprflow worker stopping: no new tasks; running activities get the shutdown timeout", "shutdownTimeout", cfg.ShutdownTimeout)
		w.Stop() // waits for running activities to finish or time out
		return nil
	})
	decider := &Decider{Client: tc, Keys: keys, People: cfg.PersonByNATS}
	bridge := approval.NewBridge(js, nc, decider, approval.BridgeOptions{Logger: logger})
	g.Go(func() error {
		err := bridge.Run(gctx)
		if err != nil && gctx.Err() == nil {
			return fmt.Errorf("approval bridge: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		err := approval.ServeStarts(gctx, nc, &Starter{Client: tc, Queue: queue, Keys: keys, People: cfg.PersonByNATS, Blobs: blobs}, logger)
		if err != nil && gctx.Err() == nil {
			return fmt.Errorf("start service: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		err := approval.ServeDiffs(gctx, nc, &Differ{Tenants: acts.Tenants, People: cfg.PersonByNATS, Blobs: blobs, Acts: acts, Temporal: tc}, logger)
		if err != nil && gctx.Err() == nil {
			return fmt.Errorf("diff service: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		err := approval.ServePending(gctx, nc, &Pending{Client: tc, People: cfg.PersonByNATS, SelfApproval: cfg.Policy.AllowSelfApproval, Logger: logger}, logger)
		if err != nil && gctx.Err() == nil {
			return fmt.Errorf("pending service: %w", err)
		}
		return nil
	})
	if cfg.ApprovalWeb != nil {
		g.Go(func() error {
			if err := serveApprovalWeb(gctx, cfg, tc, recordedDecider{d: decider, js: js, logger: logger}, logger, opts.WebReady); err != nil && gctx.Err() == nil {
				return fmt.Errorf("approval web app: %w", err)
			}
			return nil
		})
	}
	if cs := cfg.Temporal.CodecServer; cs != nil {
		codec, err := dial.PayloadCodec(cfg.Temporal)
		if err != nil {
			return err
		}
		serve, err := codecServer(cs, codec, logger)
		if err != nil {
			return err
		}
		g.Go(func() error { return serve(gctx) })
	}
	logger.Info("ssprflow worker running", "temporal", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace, "queue", queue, "nats", cfg.NATS.URL)
	if opts.Ready != nil {
		opts.Ready()
	}
	return g.Wait()
}

// SigningKeys builds the keyring that signs decisions and starts from the
// worker configuration's signing section, which is required: without it
// the rollout workflow could not tell a decision that came through the
// bridge from one sent straight to Temporal.
func SigningKeys(cfg *config.Config) (*attest.Keyring, error) {
	if cfg.Signing == nil {
		return nil, errors.New("signing: the worker configuration has no signing keys; add signing: {current: s1, keys: [{id: s1, secret: {file: /run/secrets/ssprflow-signing}}]} with a key from 'openssl rand -base64 32' (every worker of a deployment needs the same keys)")
	}
	raw, err := cfg.Signing.ResolveKeys()
	if err != nil {
		return nil, err
	}
	k, err := attest.NewKeyring(cfg.Signing.Current, raw)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return k, nil
}

// blobCacheDir is where the worker keeps verified blobs: blobs are
// immutable and named by digest, so any copy is as good as NATS's.
func blobCacheDir(cfg *config.Config) string {
	if cfg.BlobCache != "" {
		return cfg.BlobCache
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "ssprflow", "blobs")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("ssprflow-blobs-%d", os.Getuid()))
}
