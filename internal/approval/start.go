package approval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ssprflow/ssprflow/internal/dial"
)

// Starting a rollout goes through NATS too, for the same reason decisions
// do: the subject's last token is the operator's NATS user, which the
// server's permissions tie to the connection, so "who started this
// rollout" — the input of the self-approval rule — is authenticated, not
// typed in.

// StartSubjects matches every start request:
// ssprflow.<tenant>.<rollout>.start.<operator>.
const StartSubjects = Prefix + ".*.*.start.*"

// MaxStartRequest bounds a start request (a plan file).
const MaxStartRequest = 1 << 20

// StartRequest asks the worker to start a rollout.
type StartRequest struct {
	// Plan is the plan file's bytes (YAML), validated by the worker.
	Plan []byte `json:"plan,omitempty"`
	// PlanBlob is instead the digest of the plan's bytes in the blob store
	// (internal/blob), for a plan too large for one message.
	PlanBlob string `json:"planBlob,omitempty"`
	// File names the plan in error messages.
	File string `json:"file,omitempty"`
	// Files maps each member file the plan names (stages[].select.file, as
	// written) to the digest of its bytes in the blob store.
	Files map[string]string `json:"files,omitempty"`
	// Queue waits for the tenant lock when another rollout holds it.
	Queue bool `json:"queue,omitempty"`
}

// StartReply answers a StartRequest.
type StartReply struct {
	WorkflowID string `json:"workflowId,omitempty"`
	Error      string `json:"error,omitempty"`
	// Note says what the rollout waits for (the tenant lock), if anything.
	Note string `json:"note,omitempty"`
}

// Starter starts a rollout for an authenticated operator.
type Starter interface {
	Start(ctx context.Context, tenant, rollout, operator string, req StartRequest) (StartReply, error)
}

// ServeStarts answers start requests until ctx ends. Several workers may
// serve; each request goes to one of them (queue group). A request is
// answered only on the operator's own inbox (see serve).
func ServeStarts(ctx context.Context, nc *nats.Conn, s Starter, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return serve(ctx, nc, "start", 40*time.Second, logger, func(ctx context.Context, r request) any {
		var reply StartReply
		var req StartRequest
		err := decodeRequest(r.Data, MaxStartRequest, "start", &req)
		if err == nil {
			reply, err = s.Start(ctx, r.Tenant, r.Rollout, r.User, req)
		}
		if err != nil {
			reply.Error = err.Error()
		}
		logger.Info("start request", "tenant", r.Tenant, "rollout", r.Rollout, "operator", r.User, "workflowId", reply.WorkflowID, "error", reply.Error)
		return reply
	})
}

// RequestStart asks a worker to start a rollout as operator and returns its
// answer. nc must be the operator's own connection.
func RequestStart(ctx context.Context, nc *nats.Conn, tenant, rollout, operator string, req StartRequest, wait time.Duration) (StartReply, error) {
	var reply StartReply
	if err := ask(ctx, nc, "start", tenant, rollout, operator, req, wait, "start rollouts", &reply); err != nil {
		return StartReply{}, err
	}
	return reply, nil
}

// errNoWorker means no worker answered a request within its wait.
var errNoWorker = errors.New("no worker answered")

// askWorker sends a request to the worker's services and waits for the
// answer. No responders is immediate: a worker that is starting or
// restarting has not subscribed yet, so it asks again until wait ends
// (nobody received the request, so asking again cannot act twice). Errors
// wrap ErrNotPermitted (the server refused the publish) or errNoWorker.
func askWorker(ctx context.Context, nc *nats.Conn, subj string, data []byte, wait time.Duration) (*nats.Msg, error) {
	rctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		m, err := nc.RequestWithContext(rctx, subj, data)
		// A refused publish is reported asynchronously; without this check
		// it would look like a missing worker.
		if err != nil && dial.PermissionError(nc, subj) != nil {
			return nil, fmt.Errorf("%w: publish to %s", ErrNotPermitted, subj)
		}
		switch {
		case err == nil:
			return m, nil
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			return nil, fmt.Errorf("%w: %v", errNoWorker, err)
		case !errors.Is(err, nats.ErrNoResponders):
			return nil, err
		}
		select {
		case <-rctx.Done():
			return nil, fmt.Errorf("%w: %v", errNoWorker, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
