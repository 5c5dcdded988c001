package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/dial"
	"github.com/ssprflow/ssprflow/internal/natsproc"
	"github.com/ssprflow/ssprflow/internal/streams"
)

// fakeTemporal answers Temporal's health check; down makes it fail.
type fakeTemporal struct{ down atomic.Bool }

func (f *fakeTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	if f.down.Load() {
		return nil, errors.New("connection refused")
	}
	return &client.CheckHealthResponse{}, nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls /readyz until it answers code, and returns the body.
func waitFor(t *testing.T, url string, code int, within time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		got, body := get(t, url)
		if got == code {
			return body, time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("/readyz still %d %q after %v, want %d", got, body, within, code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReadyzFollowsNATS: the worker's probes over its own NATS connection
// (dial.NATS, which reconnects forever) to a real nats-server process:
// ready; the server is SIGKILLed and /readyz turns 503 naming NATS while
// /healthz stays 200; the server comes back on the same port and store, the
// connection reconnects by itself and /readyz is 200 again. Temporal's
// health check and the streams check are part of the same answer.
func TestReadyzFollowsNATS(t *testing.T) {
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", natsproc.FreePort(t))
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("listen: %s\njetstream { store_dir: %q }\n", addr, filepath.Join(dir, "js"))), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := natsproc.Run(t, conf, addr, os.Environ())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, js, err := dial.NATS(ctx, config.NATS{URL: srv.URL()}, "health-test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := streams.Ensure(ctx, js, config.Streams{}); err != nil {
		t.Fatal(err)
	}
	temporal := &fakeTemporal{}
	p := &Probes{Temporal: temporal, NATS: nc, JS: js}
	hs := httptest.NewServer(p.Handler(http.NotFoundHandler()))
	defer hs.Close()

	if code, body := get(t, hs.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not polling") {
		t.Fatalf("before polling: %d %q", code, body)
	}
	p.Polling()
	waitFor(t, hs.URL+"/readyz", http.StatusOK, 5*time.Second)

	srv.Kill()
	body, took := waitFor(t, hs.URL+"/readyz", http.StatusServiceUnavailable, 10*time.Second)
	if !strings.Contains(body, "NATS: ") {
		t.Errorf("unready without naming NATS: %q", body)
	}
	t.Logf("NATS killed: /readyz 503 after %v: %s", took.Round(time.Millisecond), strings.TrimSpace(body))
	if code, _ := get(t, hs.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d while NATS is down: liveness must not restart a worker that waits for NATS", code)
	}

	srv.Restart()
	_, took = waitFor(t, hs.URL+"/readyz", http.StatusOK, 15*time.Second)
	t.Logf("NATS restarted: /readyz 200 after %v", took.Round(time.Millisecond))

	temporal.down.Store(true)
	if code, body := get(t, hs.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "Temporal: connection refused") {
		t.Errorf("Temporal down: %d %q", code, body)
	}
	temporal.down.Store(false)

	// Someone edits a stream behind the worker's back: not ready, with the fix.
	s, err := js.Stream(ctx, "SSPRFLOW_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	edited := s.CachedInfo().Config
	edited.MaxAge = time.Hour
	if _, err := js.UpdateStream(ctx, edited); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, hs.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "nats stream edit SSPRFLOW_EVENTS --max-age 2160h0m0s") {
		t.Errorf("stream edited: %d %q", code, body)
	}

	p.Stopping()
	if code, body := get(t, hs.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Errorf("stopping: %d %q", code, body)
	}
	if code, _ := get(t, hs.URL+"/metrics"); code != http.StatusNotFound {
		t.Errorf("other paths go to the next handler: %d", code)
	}
}

// TestServeOps: without health.listen the probes share the metrics
// address with /metrics; with it they have their own, and a taken address
// fails the start.
func TestServeOps(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "ssprflow_test_total", Help: "test"}))
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	free := func() string { return fmt.Sprintf("127.0.0.1:%d", natsproc.FreePort(t)) }
	for _, tc := range []struct {
		name    string
		cfg     *config.Config
		probeAt func(*config.Config) string
	}{
		{"probes on metrics", &config.Config{Metrics: free()}, func(c *config.Config) string { return c.Metrics }},
		{"probes on health.listen", &config.Config{Metrics: free(), Health: &config.Health{Listen: free()}}, func(c *config.Config) string { return c.Health.Listen }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			g, gctx := errgroup.WithContext(ctx)
			if err := serveOps(gctx, g, tc.cfg, metrics, &Probes{Temporal: &fakeTemporal{}}); err != nil {
				t.Fatal(err)
			}
			if code, body := get(t, "http://"+tc.cfg.Metrics+"/metrics"); code != http.StatusOK || !strings.Contains(body, "ssprflow_test_total") {
				t.Errorf("/metrics: %d %.200q", code, body)
			}
			if code, body := get(t, "http://"+tc.probeAt(tc.cfg)+"/healthz"); code != http.StatusOK || body != "ok\n" {
				t.Errorf("/healthz: %d %q", code, body)
			}
			if code, body := get(t, "http://"+tc.probeAt(tc.cfg)+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not polling") {
				t.Errorf("/readyz: %d %q", code, body)
			}
			// The address is taken now: a second worker on it fails to start.
			g2, g2ctx := errgroup.WithContext(ctx)
			if err := serveOps(g2ctx, g2, tc.cfg, metrics, &Probes{}); err == nil || !strings.Contains(err.Error(), "address already in use") {
				t.Errorf("second serveOps on the same addresses: %v", err)
			}
			cancel()
			if err := g.Wait(); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
}
