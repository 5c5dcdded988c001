package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/streams"
)

// probeTimeout bounds one readiness check (Temporal's health check and
// the stream infos), well inside an orchestrator's probe timeout.
const probeTimeout = 3 * time.Second

// temporalHealth is the part of the Temporal client readiness needs.
type temporalHealth interface {
	CheckHealth(ctx context.Context, req *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

// Probes answer an orchestrator's probes: /healthz (liveness: the process
// serves HTTP) and /readyz (ready: the worker polls its task queue, its
// NATS connection is up, Temporal's frontend answers a health check, and
// the streams are as nats.streams says). A worker that is not ready keeps
// running and recovers by itself (NATS reconnects forever, the SDK
// re-polls): readiness tells the orchestrator and the operator, it does
// not restart anything.
type Probes struct {
	Temporal temporalHealth
	NATS     *nats.Conn
	JS       jetstream.JetStream
	Streams  config.Streams

	polling  atomic.Bool
	stopping atomic.Bool
}

// Polling records that the SDK worker started polling.
func (p *Probes) Polling() { p.polling.Store(true) }

// Stopping records that the worker is shutting down: it is not ready
// from then on.
func (p *Probes) Stopping() { p.stopping.Store(true) }

// Ready returns nil when the worker is ready, else why not.
func (p *Probes) Ready(ctx context.Context) error {
	switch {
	case p.stopping.Load():
		return errors.New("shutting down")
	case !p.polling.Load():
		return errors.New("the worker is not polling its task queue yet")
	case !p.NATS.IsConnected():
		if err := p.NATS.LastError(); err != nil {
			return fmt.Errorf("NATS: not connected (%s: %v); the worker reconnects by itself", p.NATS.Status(), err)
		}
		return fmt.Errorf("NATS: not connected (%s); the worker reconnects by itself", p.NATS.Status())
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, err := p.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("Temporal: %w", err)
	}
	if err := streams.Check(ctx, p.JS, p.Streams); err != nil {
		return fmt.Errorf("NATS streams: %w", err)
	}
	return nil
}

// Handler serves /healthz and /readyz, and everything else with next (nil:
// not found).
func (p *Probes) Handler(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := p.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if next != nil {
		mux.Handle("/", next)
	}
	return mux
}

// serveOps serves the Prometheus metrics on cfg.Metrics and the probes on
// cfg.Health.Listen, or on the metrics address when health has none. It
// listens before it returns, so a taken address fails the start.
func serveOps(ctx context.Context, g *errgroup.Group, cfg *config.Config, metrics http.Handler, p *Probes) error {
	type endpoint struct {
		what, addr string
		h          http.Handler
	}
	var eps []endpoint
	switch {
	case cfg.Health != nil:
		eps = append(eps, endpoint{"health", cfg.Health.Listen, p.Handler(nil)})
		if cfg.Metrics != "" {
			eps = append(eps, endpoint{"metrics", cfg.Metrics, metrics})
		}
	case cfg.Metrics != "":
		eps = append(eps, endpoint{"metrics", cfg.Metrics, p.Handler(metrics)})
	}
	// Listen on every address first: a taken one fails the start with
	// nothing left serving.
	var lns []net.Listener
	for _, ep := range eps {
		ln, err := net.Listen("tcp", ep.addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("%s on %s: %w", ep.what, ep.addr, err)
		}
		lns = append(lns, ln)
	}
	for i, ep := range eps {
		g.Go(func() error {
			if err := serveUntil(ctx, lns[i], ep.h, "", ""); err != nil {
				return fmt.Errorf("%s on %s: %w", ep.what, ep.addr, err)
			}
			return nil
		})
	}
	return nil
}
