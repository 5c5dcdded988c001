package approval

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// After a rollout: operators export a tenant as a plan, watch a plan for
// drift (and remediate it) and revert a finished rollout. Only the worker
// holds the tenant's and the directory's credentials and a Temporal client
// that starts workflows, so each is a request to a worker, as the
// operator: ssprflow.<tenant>.<rollout>.<verb>.<operator>, answered only
// on the operator's own inbox (serve). For export, <rollout> is "export".

// The verbs of the operations services.
const (
	VerbExport = "export"
	VerbWatch  = "watch"
	VerbRevert = "revert"
)

// OperationTimeout bounds a worker's handling of one request (an export
// reads the whole SSPR configuration and the directory); askers wait
// longer, as for diffs.
const (
	OperationTimeout = 60 * time.Second
	OperationWait    = OperationTimeout + 15*time.Second
)

// ExportRequest asks for the tenant's SSPR configuration as a plan.
type ExportRequest struct {
	// Tenant is the tenant as the worker configuration names it.
	Tenant string `json:"tenant"`
	// Directory is a directory profile to read the connector's rights and
	// password age from ("" for none).
	Directory string `json:"directory,omitempty"`
}

// ExportReply is the plan, as YAML with comments.
type ExportReply struct {
	Plan  string `json:"plan,omitempty"`
	Error string `json:"error,omitempty"`
}

// Watch actions.
const (
	WatchStart     = "start"
	WatchStop      = "stop"
	WatchRemediate = "remediate"
)

// WatchRequest starts or stops a plan's drift watch, or starts its
// remediation (behind an approval).
type WatchRequest struct {
	Action string `json:"action"`
	// Plan is the plan file's bytes (YAML); File names it in errors.
	Plan []byte `json:"plan"`
	File string `json:"file,omitempty"`
}

// WatchReply says what was done.
type WatchReply struct {
	ScheduleID string `json:"scheduleId,omitempty"`
	// WorkflowID is the remediation's.
	WorkflowID string        `json:"workflowId,omitempty"`
	Every      time.Duration `json:"every,omitempty"`
	Error      string        `json:"error,omitempty"`
}

// RevertRequest asks to revert the rollout of the subject's tenant and
// plan: its latest run, or RunID.
type RevertRequest struct {
	RunID string `json:"runId,omitempty"`
}

// RevertReply names the revert's run.
type RevertReply struct {
	WorkflowID string `json:"workflowId,omitempty"`
	RunID      string `json:"runId,omitempty"`
	// Reverts is the run being reverted.
	Reverts string `json:"reverts,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Operations serve the requests for an authenticated operator (the
// subject's last token, which NATS permissions bind to the sender).
type Operations interface {
	Export(ctx context.Context, operator string, req ExportRequest) (ExportReply, error)
	Watch(ctx context.Context, tenant, rollout, operator string, req WatchRequest) (WatchReply, error)
	Revert(ctx context.Context, tenant, rollout, operator string, req RevertRequest) (RevertReply, error)
}

// ServeOperations answers export, watch and revert requests until ctx ends.
func ServeOperations(ctx context.Context, nc *nats.Conn, o Operations, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	errs := make(chan error, 3)
	go func() {
		errs <- serve(ctx, nc, VerbExport, OperationTimeout, logger, func(ctx context.Context, r request) any {
			var req ExportRequest
			reply, err := ExportReply{}, decodeRequest(r.Data, MaxStartRequest, VerbExport, &req)
			if err == nil {
				reply, err = o.Export(ctx, r.User, req)
			}
			if err != nil {
				reply = ExportReply{Error: err.Error()}
			}
			logger.Info("export request", "tenant", req.Tenant, "directory", req.Directory, "operator", r.User, "error", reply.Error)
			return reply
		})
	}()
	go func() {
		errs <- serve(ctx, nc, VerbWatch, OperationTimeout, logger, func(ctx context.Context, r request) any {
			var req WatchRequest
			reply, err := WatchReply{}, decodeRequest(r.Data, MaxStartRequest, VerbWatch, &req)
			if err == nil {
				reply, err = o.Watch(ctx, r.Tenant, r.Rollout, r.User, req)
			}
			if err != nil {
				reply = WatchReply{Error: err.Error()}
			}
			logger.Info("watch request", "tenant", r.Tenant, "rollout", r.Rollout, "action", req.Action, "operator", r.User, "error", reply.Error)
			return reply
		})
	}()
	go func() {
		errs <- serve(ctx, nc, VerbRevert, OperationTimeout, logger, func(ctx context.Context, r request) any {
			var req RevertRequest
			reply, err := RevertReply{}, decodeRequest(r.Data, MaxStartRequest, VerbRevert, &req)
			if err == nil {
				reply, err = o.Revert(ctx, r.Tenant, r.Rollout, r.User, req)
			}
			if err != nil {
				reply = RevertReply{Error: err.Error()}
			}
			logger.Info("revert request", "tenant", r.Tenant, "rollout", r.Rollout, "operator", r.User, "error", reply.Error)
			return reply
		})
	}()
	var first error
	for range 3 {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// RequestExport asks a worker for the tenant's configuration as a plan.
// tenantToken is the tenant's subject token.
func RequestExport(ctx context.Context, nc *nats.Conn, tenantToken, operator string, req ExportRequest, wait time.Duration) (ExportReply, error) {
	var reply ExportReply
	if err := ask(ctx, nc, VerbExport, tenantToken, VerbExport, operator, req, wait, "export tenants", &reply); err != nil {
		return reply, err
	}
	if reply.Error != "" {
		return reply, errors.New(reply.Error)
	}
	return reply, nil
}

// RequestWatch asks a worker to start or stop a plan's watch, or to start
// its remediation.
func RequestWatch(ctx context.Context, nc *nats.Conn, tenant, rollout, operator string, req WatchRequest, wait time.Duration) (WatchReply, error) {
	var reply WatchReply
	if err := ask(ctx, nc, VerbWatch, tenant, rollout, operator, req, wait, "watch plans", &reply); err != nil {
		return reply, err
	}
	if reply.Error != "" {
		return reply, errors.New(reply.Error)
	}
	return reply, nil
}

// RequestRevert asks a worker to revert a finished rollout.
func RequestRevert(ctx context.Context, nc *nats.Conn, tenant, rollout, operator string, req RevertRequest, wait time.Duration) (RevertReply, error) {
	var reply RevertReply
	if err := ask(ctx, nc, VerbRevert, tenant, rollout, operator, req, wait, "revert rollouts", &reply); err != nil {
		return reply, err
	}
	if reply.Error != "" {
		return reply, errors.New(reply.Error)
	}
	return reply, nil
}
