// Package activities holds the rollout's activities: every call that touches
// a tenant, a domain controller or NATS. Activities are methods on
// Activities, whose fields are the clients the worker builds once; each one
// is idempotent, so a retry or a restarted worker never applies a change
// twice. Credentials are resolved here from the worker's configuration and
// never travel as arguments.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// TenantFactory returns the Tenant for a plan's tenant and policy mode. The
// worker builds it from its own configuration (Graph and portal
// credentials), so a plan can only name a tenant, never authenticate to one.
type TenantFactory func(ctx context.Context, tenant string, mode plan.PolicyMode) (entra.Tenant, error)

// Activities is the set of rollout activities with their dependencies.
type Activities struct {
	Tenants   TenantFactory
	Directory DirectoryDialer
	Events    EventPublisher
	// Blobs holds plans, member lists and rosters by digest.
	Blobs Blobs
	// Locker asks a tenant's lock workflow for the lock.
	Locker TenantLocker
	// Watch starts a plan's drift watch; nil starts none.
	Watch Watches
	// Rollouts reads a finished rollout, for its revert.
	Rollouts RolloutReader
	Logger   *slog.Logger
}

func (a *Activities) log() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

func (a *Activities) tenant(ctx context.Context, p *plan.Rollout) (entra.Tenant, error) {
	if a.Tenants == nil {
		return nil, permanent(errtype.TenantUnavailable, errors.New("this worker has no tenant configured"))
	}
	t, err := a.Tenants(ctx, p.Metadata.Tenant, p.Spec.SSPRPolicy.Mode)
	if err != nil {
		// Building a client needs no network: a failure is the worker's
		// configuration (unknown tenant, missing secret), which retrying
		// cannot fix.
		return nil, permanent(errtype.TenantUnavailable, fmt.Errorf("connect to tenant %s: %w", p.Metadata.Tenant, err))
	}
	return t, nil
}

// keepAlive heartbeats every few seconds until stop is called, so a long
// call that has no progress of its own to report (a paged directory scan, a
// report over a large tenant) still shows the worker is alive, and a dead
// worker's attempt is retried after the heartbeat timeout instead of the
// start-to-close timeout.
func keepAlive(ctx context.Context, detail string) (stop func()) {
	return keepAliveWith(ctx, func() any { return detail })
}

// keepAliveWith heartbeats details() every 5 s until stop: for activities
// whose progress may stall on something other than their own work (a
// request waiting for Graph's next budget window can wait 2.5 minutes).
// Without it the attempt times out while it waits, a second attempt starts,
// and the first, still waiting, later sends what the second sends too.
func keepAliveWith(ctx context.Context, details func() any) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	activity.RecordHeartbeat(ctx, details())
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, details())
			}
		}
	}()
	return func() { close(done) }
}
