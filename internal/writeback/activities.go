package writeback

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
)

// DefaultPollInterval is how often VerifyWriteback re-reads the event log.
const DefaultPollInterval = 15 * time.Second

// Activities enable, restore and verify password writeback on the sync server
// the agent runs on. Build it once where the worker starts.
type Activities struct {
	Runner Runner
	// Mode is the sync engine on this host.
	Mode Mode
	// CloudSyncCredential returns the tenant admin credential Cloud Sync's
	// cmdlet needs, from the agent's own configuration (see CredentialFromEnv,
	// CredentialFromFile); never from activity input.
	CloudSyncCredential func(ctx context.Context) (user, password string, err error)
	Logger              *slog.Logger
	// PollInterval for VerifyWriteback; zero means DefaultPollInterval.
	PollInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Register registers the writeback activities, and only those, by their
// exported names.
func Register(r worker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.EnableWriteback, activity.RegisterOptions{Name: ActivityEnableWriteback})
	r.RegisterActivityWithOptions(a.RestoreWriteback, activity.RegisterOptions{Name: ActivityRestoreWriteback})
	r.RegisterActivityWithOptions(a.VerifyWriteback, activity.RegisterOptions{Name: ActivityVerifyWriteback})
	r.RegisterActivityWithOptions(a.StatusWriteback, activity.RegisterOptions{Name: ActivityStatusWriteback})
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// mode resolves the requested mode against the agent's.
func (a *Activities) mode(requested Mode) (Mode, error) {
	m := a.Mode
	if m == "" {
		m = requested
	}
	if !m.Valid() {
		return "", fmt.Errorf("%w: agent mode %q is not %q or %q", ErrBadInput, m, ModeEntraConnect, ModeCloudSync)
	}
	if requested != "" && requested != m {
		return "", fmt.Errorf("%w: the rollout asked for %q but this agent manages %q; check the plan's sync mode and task queue", ErrModeMismatch, requested, m)
	}
	if a.Runner == nil {
		return "", fmt.Errorf("%w: agent has no PowerShell runner", ErrBadInput)
	}
	return m, nil
}

// fail turns err into an activity error: permanent problems become
// non-retryable application errors with a type name; others are retried.
func (a *Activities) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if typ := permanentType(err); typ != "" {
		a.logger().Error("writeback: permanent failure", "op", op, "type", typ, "err", err)
		// The message carries the whole story; a cause would only repeat it.
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", op, err), typ, nil)
	}
	a.logger().Warn("writeback: failure, will retry", "op", op, "err", err)
	return fmt.Errorf("%s: %w", op, err)
}

// onEngine runs the half of an activity for the sync engine the agent
// manages, once the mode the rollout asked for is checked against it, and
// makes its error an activity error (see fail).
func onEngine[In, R any](ctx context.Context, a *Activities, op string, requested Mode, in In, cloudSync, entraConnect func(context.Context, In) (R, error)) (R, error) {
	m, err := a.mode(requested)
	if err != nil {
		var zero R
		return zero, a.fail(op, err)
	}
	run := entraConnect
	if m == ModeCloudSync {
		run = cloudSync
	}
	res, err := run(ctx, in)
	return res, a.fail(op, err)
}

// connectors lists the Entra Connect server's connectors and picks the AAD
// one.
func (a *Activities) connectors(ctx context.Context) ([]Connector, Connector, error) {
	conns, err := ListConnectors(ctx, a.Runner)
	if err != nil {
		return nil, Connector{}, err
	}
	aad, err := FindAADConnector(conns)
	return conns, aad, err
}

// EnableWriteback turns password writeback on. It reads first and changes
// nothing when writeback is already on; the result says what it was before so
// compensation can restore it. On Entra Connect it also checks that the sync
// engine's AD DS connector account is the one the AD step granted rights to
// (a mismatch fails with ErrTypeAccountMismatch before anything changes).
func (a *Activities) EnableWriteback(ctx context.Context, in EnableInput) (EnableResult, error) {
	return onEngine(ctx, a, "enable writeback", in.Mode, in, a.enableCloudSync, a.enableEntraConnect)
}

func (a *Activities) enableEntraConnect(ctx context.Context, in EnableInput) (EnableResult, error) {
	conns, aad, err := a.connectors(ctx)
	if err != nil {
		return EnableResult{}, err
	}
	res := EnableResult{Connector: aad.Name}
	accounts := ADConnectorAccounts(conns)
	if len(accounts) > 0 {
		res.SyncConnectorAccount = accounts[0]
	}
	if in.ExpectedConnectorAccount != "" {
		matched := ""
		for _, acct := range accounts {
			if AccountsMatch(in.ExpectedConnectorAccount, acct) {
				matched = acct
				break
			}
		}
		if matched == "" {
			return res, &AccountMismatchError{Expected: in.ExpectedConnectorAccount, Actual: accounts}
		}
		res.SyncConnectorAccount = matched
	}
	activity.RecordHeartbeat(ctx, "read")
	prev, err := GetPasswordWriteback(ctx, a.Runner, aad.Name)
	if err != nil {
		return res, err
	}
	res.PreviousEnabled = prev
	if prev {
		a.logger().Info("writeback: already enabled, nothing to do", "connector", aad.Name)
		return res, nil
	}
	now, err := SetPasswordWriteback(ctx, a.Runner, aad.Name, true)
	if err != nil {
		return res, err
	}
	if !now {
		return res, fmt.Errorf("connector %q still reports writeback disabled after Set-ADSyncAADPasswordResetConfiguration -Enable $true", aad.Name)
	}
	res.Changed = true
	a.logger().Info("writeback: enabled", "connector", aad.Name, "syncAccount", res.SyncConnectorAccount)
	return res, nil
}

func (a *Activities) cloudSyncCredential(ctx context.Context) (string, string, error) {
	if a.CloudSyncCredential == nil {
		return "", "", fmt.Errorf("%w: the agent was started without a Cloud Sync tenant admin credential (env or file)", ErrCredentialMissing)
	}
	u, p, err := a.CloudSyncCredential(ctx)
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrCredentialMissing, err)
	}
	if u == "" || p == "" {
		return "", "", fmt.Errorf("%w: empty user or password in the agent's configuration", ErrCredentialMissing)
	}
	return u, p, nil
}

func (a *Activities) enableCloudSync(ctx context.Context, in EnableInput) (EnableResult, error) {
	if in.ExpectedConnectorAccount != "" {
		// Cloud Sync's agent uses a gMSA chosen at install; there is no
		// connector account to read back here.
		a.logger().Info("writeback: cloud sync has no connector account to compare", "expected", in.ExpectedConnectorAccount)
	}
	prev, known, err := CloudSyncWriteback(ctx, a.Runner)
	if err != nil {
		return EnableResult{}, err
	}
	res := EnableResult{PreviousEnabled: prev, PreviousUnknown: !known}
	if known && prev {
		a.logger().Info("writeback: cloud sync writeback already enabled, nothing to do")
		return res, nil
	}
	user, pass, err := a.cloudSyncCredential(ctx)
	if err != nil {
		return res, err
	}
	if err := SetCloudSyncWriteback(ctx, a.Runner, true, user, pass); err != nil {
		return res, err
	}
	res.Changed = true
	if !known {
		res.PreviousEnabled = false
		a.logger().Warn("writeback: cloud sync previous state unknown (no Get-AADCloudSyncPasswordWritebackConfiguration); a restore needs a human")
	}
	a.logger().Info("writeback: cloud sync writeback enabled")
	return res, nil
}

// RestoreWriteback puts writeback back to PreviousEnabled (compensation). It
// reads first and changes nothing when the state already matches.
func (a *Activities) RestoreWriteback(ctx context.Context, in RestoreInput) (RestoreResult, error) {
	return onEngine(ctx, a, "restore writeback", in.Mode, in, a.restoreCloudSync, a.restoreEntraConnect)
}

func (a *Activities) restoreCloudSync(ctx context.Context, in RestoreInput) (RestoreResult, error) {
	st, err := a.statusCloudSync(ctx, StatusInput{})
	if err != nil {
		return RestoreResult{}, err
	}
	if !st.Unknown && st.Enabled == in.PreviousEnabled {
		return RestoreResult{Enabled: st.Enabled}, nil
	}
	user, pass, err := a.cloudSyncCredential(ctx)
	if err != nil {
		return RestoreResult{}, err
	}
	if err := SetCloudSyncWriteback(ctx, a.Runner, in.PreviousEnabled, user, pass); err != nil {
		return RestoreResult{}, err
	}
	a.logger().Info("writeback: cloud sync writeback restored", "enabled", in.PreviousEnabled)
	return RestoreResult{Changed: true, Enabled: in.PreviousEnabled}, nil
}

func (a *Activities) restoreEntraConnect(ctx context.Context, in RestoreInput) (RestoreResult, error) {
	st, err := a.statusEntraConnect(ctx, StatusInput{})
	if err != nil {
		return RestoreResult{}, err
	}
	if st.Enabled == in.PreviousEnabled {
		return RestoreResult{Enabled: st.Enabled, Connector: st.Connector}, nil
	}
	now, err := SetPasswordWriteback(ctx, a.Runner, st.Connector, in.PreviousEnabled)
	if err != nil {
		return RestoreResult{Enabled: st.Enabled, Connector: st.Connector}, err
	}
	if now != in.PreviousEnabled {
		return RestoreResult{Enabled: now, Connector: st.Connector}, fmt.Errorf("connector %q reports writeback %t after setting it to %t", st.Connector, now, in.PreviousEnabled)
	}
	a.logger().Info("writeback: restored", "connector", st.Connector, "enabled", now)
	return RestoreResult{Changed: true, Enabled: now, Connector: st.Connector}, nil
}

// VerifyWriteback reads the Application log for PasswordResetService events
// and ADSync 6329 since in.Since, polling (and heartbeating) until a healthy
// event or a failure appears or in.Wait has passed. A failure or a timeout is
// reported in the result (Healthy false, Problems), not as an error; errors
// are for failing to read the log.
func (a *Activities) VerifyWriteback(ctx context.Context, in VerifyInput) (VerifyResult, error) {
	const op = "verify writeback"
	if _, err := a.mode(in.Mode); err != nil {
		return VerifyResult{}, a.fail(op, err)
	}
	start := a.now()
	since := in.Since
	if since.IsZero() {
		since = start.Add(-time.Hour)
	}
	wait := min(max(in.Wait, 0), MaxVerifyWait)
	deadline := start.Add(wait)
	// Answer before the activity's own timeout rather than be cut off by it.
	if d, ok := ctx.Deadline(); ok && d.Add(-verifyMargin).Before(deadline) {
		deadline = d.Add(-verifyMargin)
	}
	poll := a.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	for attempt := 1; ; attempt++ {
		events, err := ReadWritebackEvents(ctx, a.Runner, since)
		if err != nil {
			return VerifyResult{}, a.fail(op, err)
		}
		res := Evaluate(events)
		activity.RecordHeartbeat(ctx, attempt)
		if res.Healthy || len(res.Problems) > 0 {
			a.logger().Info("writeback: verified", "healthy", res.Healthy, "events", len(events), "problems", len(res.Problems))
			return res, nil
		}
		remaining := deadline.Sub(a.now())
		if remaining <= 0 {
			res.Problems = append(res.Problems, fmt.Sprintf(
				"no healthy PasswordResetService event (31004, 31005, 31015 or 31019) since %s within %s: "+
					"check that the sync service runs, that writeback is enabled, and that the server reaches *.servicebus.windows.net and *.passwordreset.microsoftonline.com on TCP 443",
				since.UTC().Format(time.RFC3339), wait))
			a.logger().Warn("writeback: no healthy event in time", "waited", wait)
			return res, nil
		}
		if err := sleepWithHeartbeat(ctx, min(poll, remaining), attempt); err != nil {
			return res, a.fail(op, fmt.Errorf("cancelled while waiting for a healthy writeback event: %w", err))
		}
	}
}

// verifyMargin is kept between the end of polling and the activity deadline.
const verifyMargin = 2 * time.Second

// heartbeatEvery keeps heartbeats flowing while sleeping between polls, so a
// HeartbeatTimeout shorter than the poll interval does not fail the activity.
const heartbeatEvery = 5 * time.Second

func sleepWithHeartbeat(ctx context.Context, d time.Duration, attempt int) error {
	t := time.NewTimer(d)
	defer t.Stop()
	hb := time.NewTicker(heartbeatEvery)
	defer hb.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-hb.C:
			activity.RecordHeartbeat(ctx, attempt)
		case <-t.C:
			return nil
		}
	}
}
