package writeback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// AgentOptions configure the agent on the sync server.
type AgentOptions struct {
	// TaskQueue is this host's own task queue (one per sync server).
	TaskQueue string
	Mode      Mode
	// Runner runs the scripts: PowerShell{} on the host, or a simulated sync
	// server (internal/writebacksim) for the local demo.
	Runner Runner
	// CloudSyncCredential is required in ModeCloudSync (CredentialFromEnv,
	// CredentialFromFile).
	CloudSyncCredential func(ctx context.Context) (user, password string, err error)
	Logger              *slog.Logger
	// PollInterval for VerifyWriteback; zero means DefaultPollInterval.
	PollInterval time.Duration
	// WorkerOptions are passed to worker.New (concurrency limits, identity...).
	WorkerOptions worker.Options
}

// Validate reports the first invalid option.
func (o AgentOptions) Validate() error {
	switch {
	case o.TaskQueue == "":
		return fmt.Errorf("agent options: %w: TaskQueue is empty (give each sync server its own queue)", ErrBadInput)
	case !o.Mode.Valid():
		return fmt.Errorf("agent options: %w: Mode %q is not %q or %q", ErrBadInput, o.Mode, ModeEntraConnect, ModeCloudSync)
	case o.Runner == nil:
		return fmt.Errorf("agent options: %w: Runner is nil", ErrBadInput)
	case o.Mode == ModeCloudSync && o.CloudSyncCredential == nil:
		return fmt.Errorf("agent options: %w: Cloud Sync mode needs CloudSyncCredential (from the agent's env or a credential file)", ErrCredentialMissing)
	}
	return nil
}

// NewActivities builds the activities an agent with these options serves.
func (o AgentOptions) NewActivities() *Activities {
	return &Activities{Runner: o.Runner, Mode: o.Mode, CloudSyncCredential: o.CloudSyncCredential,
		Logger: o.Logger, PollInterval: o.PollInterval}
}

// RunAgent starts a Temporal worker that serves only the writeback activities
// on opts.TaskQueue and runs until ctx is cancelled. The caller owns c.
func RunAgent(ctx context.Context, c client.Client, opts AgentOptions) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("run agent: %w: nil Temporal client", ErrBadInput)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := worker.New(c, opts.TaskQueue, opts.WorkerOptions)
	Register(w, opts.NewActivities())
	if err := w.Start(); err != nil {
		return fmt.Errorf("run agent: start worker on %q: %w", opts.TaskQueue, err)
	}
	logger.Info("writeback agent: serving", "taskQueue", opts.TaskQueue, "mode", opts.Mode)
	<-ctx.Done()
	w.Stop()
	logger.Info("writeback agent: stopped", "taskQueue", opts.TaskQueue)
	if err := ctx.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("run agent: %w", err)
	}
	return nil
}
