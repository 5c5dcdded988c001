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
	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// TenantFactory returns the Tenant for a plan's tenant and policy mode. The
// worker builds it from its own configuration (Graph and portal
// credentials), so a plan can only name a tenant, never authenticate to one.
type TenantFactory func(ctx context.Context, tenant string, mode plan.PolicyMode) (entra.Tenant, error)

// DirectoryDialer connects to the domain controller of the worker's
// directory profile that d names (d.Profile), as that profile's bind
// identity. The worker builds it from its own configuration, so a plan can
// only name a directory profile, never choose where the worker connects or
// which secret it sends; d's other fields are the rollout's choices (scope,
// rights).
type DirectoryDialer func(ctx context.Context, d *plan.Directory) (Directory, error)

// Directory is what the rollout needs from on-premises AD DS.
type Directory interface {
	// Connector resolves the plan's connector account.
	Connector(ctx context.Context) (Account, error)
	// Scopes returns the DNs the rights go on (the plan's scope, or the
	// domain root, plus AdminSDHolder when the plan asks for it).
	Scopes(ctx context.Context) ([]string, error)
	// MissingACEs returns the writeback ACEs not yet on dn, as bytes.
	MissingACEs(ctx context.Context, dn string, connectorSID string) ([][]byte, error)
	// Grant adds exactly these ACEs to dn (ACEs already present are not
	// added again) and returns how many it added.
	Grant(ctx context.Context, dn string, aces [][]byte) (int, error)
	// Revoke removes one copy of each of these ACEs from dn, nothing else.
	Revoke(ctx context.Context, dn string, aces [][]byte) (int, error)
	// Coverage counts objects that will never inherit the rights.
	Coverage(ctx context.Context) (DirectoryCoverage, error)
	// PasswordAge reports every effective minimum password age that is not 0.
	PasswordAge(ctx context.Context, groups []string) (PasswordAge, error)
	// Close releases the connection.
	Close() error
}

// Account is a resolved AD account.
type Account struct {
	Name string `json:"name"`
	DN   string `json:"dn"`
	SID  string `json:"sid"`
}

// DirectoryCoverage summarises objects outside the rights' reach.
type DirectoryCoverage struct {
	Protected   int      `json:"protected"`
	AdminCount  int      `json:"adminCount"`
	Examples    []string `json:"examples,omitempty"`
	Remediation []string `json:"remediation,omitempty"`
}

// PasswordAge is the minimum-password-age verification result.
type PasswordAge struct {
	OK       bool     `json:"ok"`
	Findings []string `json:"findings,omitempty"`
}

// EventPublisher publishes rollout events and approval requests.
type EventPublisher interface {
	PublishEvent(ctx context.Context, in EventInput) error
	PublishApprovalRequest(ctx context.Context, in approval.Request) error
}

// Activities is the set of rollout activities with their dependencies.
type Activities struct {
	Tenants   TenantFactory
	Directory DirectoryDialer
	Events    EventPublisher
	Logger    *slog.Logger
}

func (a *Activities) log() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

func (a *Activities) tenant(ctx context.Context, p *plan.Rollout) (entra.Tenant, error) {
	if a.Tenants == nil {
		return nil, permanent("TenantUnavailable", errors.New("this worker has no tenant configured"))
	}
	t, err := a.Tenants(ctx, p.Metadata.Tenant, p.Spec.SSPRPolicy.Mode)
	if err != nil {
		// Building a client needs no network: a failure is the worker's
		// configuration (unknown tenant, missing secret), which retrying
		// cannot fix.
		return nil, permanent("TenantUnavailable", fmt.Errorf("connect to tenant %s: %w", p.Metadata.Tenant, err))
	}
	return t, nil
}

// directory connects to the DC and keeps the activity alive while the
// caller works; Close on the returned Directory stops the heartbeats.
func (a *Activities) directory(ctx context.Context, p *plan.Rollout) (Directory, error) {
	stop := keepAlive(ctx, "directory")
	d, err := a.dial(ctx, p)
	if err != nil {
		stop()
		return nil, err
	}
	return &aliveDirectory{Directory: d, stop: stop}, nil
}

type aliveDirectory struct {
	Directory
	stop func()
}

func (d *aliveDirectory) Close() error {
	d.stop()
	return d.Directory.Close()
}

func (a *Activities) dial(ctx context.Context, p *plan.Rollout) (Directory, error) {
	if p.Spec.Directory == nil {
		return nil, permanent("NoDirectory", errors.New("the plan has no directory section"))
	}
	if a.Directory == nil {
		return nil, permanent("DirectoryUnavailable", errors.New("this worker has no directory access configured"))
	}
	d, err := a.Directory(ctx, p.Spec.Directory)
	if err != nil {
		err = fmt.Errorf("connect to the directory: %w", err)
		// Temporal reads retryability from the returned error itself, not
		// from what it wraps: keep the dialer's permanent verdict.
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.NonRetryable() {
			return nil, permanent(appErr.Type(), err)
		}
		return nil, classify(err)
	}
	return d, nil
}

// Error type names of permanent failures; the workflow's retry policies
// list them as non-retryable.
const (
	ErrTypePermanent  = "Permanent"
	ErrTypeValidation = "PlanInvalid"
	ErrTypeConflict   = "PolicyConflict"
)

// NonRetryable lists every permanent error type the activities return.
var NonRetryable = []string{ErrTypePermanent, ErrTypeValidation, ErrTypeConflict,
	"TenantUnavailable", "NoDirectory", "DirectoryUnavailable", "GroupMissing", "MembersMissing",
	"PasswordAge", "ConnectorMismatch", "Licence"}

func permanent(kind string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), kind, err)
}

// classify marks errors that retrying cannot fix as non-retryable. Adapters
// say which errors are permanent (403, 404, 400, a bad credential); anything
// else — throttling, timeouts, a DC failing over — is retried by Temporal.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	if entra.IsPermanent(err) || isPermanentDirectory(err) {
		return permanent(ErrTypePermanent, err)
	}
	return err
}

// isPermanentDirectory: an LDAP error the directory package marks as not
// retryable (insufficient rights, no such object, a bad bind).
func isPermanentDirectory(err error) bool {
	var e *ad.Error
	return errors.As(err, &e) && !ad.IsRetryable(err)
}

var errNoEvents = errors.New("this worker has no NATS connection: approvals cannot be requested")

// keepAlive heartbeats every few seconds until stop is called, so a long
// call that has no progress of its own to report (a paged directory scan, a
// report over a large tenant) still shows the worker is alive, and a dead
// worker's attempt is retried after the heartbeat timeout instead of the
// start-to-close timeout.
func keepAlive(ctx context.Context, detail string) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	activity.RecordHeartbeat(ctx, detail)
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
				activity.RecordHeartbeat(ctx, detail)
			}
		}
	}()
	return func() { close(done) }
}
