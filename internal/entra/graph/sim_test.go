package graph

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// sim is a started simulator and clients for it.
type sim struct {
	srv  *entrasim.Server
	base string
}

func startSim(t testing.TB, opts entrasim.Options) *sim {
	t.Helper()
	srv, err := entrasim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	base, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &sim{srv: srv, base: base}
}

type clientOpt func(*Config)

func withToken(tok string) clientOpt       { return func(c *Config) { c.Credential = StaticToken(tok) } }
func withMode(m plan.PolicyMode) clientOpt { return func(c *Config) { c.Mode = m } }
func withoutPortal() clientOpt             { return func(c *Config) { c.PortalCredential = nil } }
func withoutPacing() clientOpt             { return func(c *Config) { c.Budget = &Budget{} } }
func withMaxWait(d time.Duration) clientOpt {
	return func(c *Config) { c.MaxRetryWait = d }
}

func (s *sim) client(t testing.TB, opts ...clientOpt) *Client {
	t.Helper()
	cfg := Config{
		BaseURL:          s.base + "/v1.0",
		PortalURL:        s.base,
		Credential:       StaticToken(s.srv.Token()),
		PortalCredential: StaticToken(s.srv.PortalToken()),
		Mode:             plan.PolicyModePortalAPI,
		MaxRetryWait:     30 * time.Second,
	}
	if os.Getenv("SSPRFLOW_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// mustSnapshot reads the tenant's SSPR configuration or fails the test.
func mustSnapshot(t testing.TB, ctx context.Context, c *Client) entra.Snapshot {
	t.Helper()
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// mustGroup creates a security group or fails the test.
func mustGroup(t testing.TB, ctx context.Context, c *Client, name string) entra.Group {
	t.Helper()
	g, err := c.CreateGroup(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
