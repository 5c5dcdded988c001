package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
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

// StartSubject returns ssprflow.<tenant>.<rollout>.start.<operator>.
func StartSubject(tenant, rollout, operator string) (string, error) {
	if err := checkTokens("tenant", tenant, "rollout", rollout, "operator", operator); err != nil {
		return "", err
	}
	return Prefix + "." + tenant + "." + rollout + ".start." + operator, nil
}

// ParseStartSubject splits a start subject.
func ParseStartSubject(subject string) (tenant, rollout, operator string, err error) {
	t := strings.Split(subject, ".")
	if len(t) != 5 || t[0] != Prefix || t[3] != "start" {
		return "", "", "", fmt.Errorf("%w: %q", ErrInvalidSubject, truncate(subject, 200))
	}
	if err := checkTokens("tenant", t[1], "rollout", t[2], "operator", t[4]); err != nil {
		return "", "", "", fmt.Errorf("%w: %w", ErrInvalidSubject, err)
	}
	return t[1], t[2], t[4], nil
}

// StartRequest asks the worker to start a rollout.
type StartRequest struct {
	// Plan is the plan file's bytes (YAML), validated by the worker.
	Plan []byte `json:"plan"`
	// File names the plan in error messages.
	File string `json:"file,omitempty"`
}

// StartReply answers a StartRequest.
type StartReply struct {
	WorkflowID string `json:"workflowId,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Starter starts a rollout for an authenticated operator.
type Starter interface {
	Start(ctx context.Context, tenant, rollout, operator string, req StartRequest) (workflowID string, err error)
}

// ServeStarts answers start requests until ctx ends. Several workers may
// serve; each request goes to one of them (queue group).
//
// A request is answered only on the operator's own inbox (ReplyAllowed with
// the subject's operator, whom the server's permissions bind to the
// connection): one whose reply subject is anything else is refused before
// anything starts, logged and not answered, so an operator cannot make the
// worker publish a worker-signed answer onto another rollout's subjects.
func ServeStarts(ctx context.Context, nc *nats.Conn, s Starter, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sub, err := nc.QueueSubscribe(StartSubjects, "ssprflow-start", func(m *nats.Msg) {
		reply := StartReply{}
		tenant, rollout, operator, err := ParseStartSubject(m.Subject)
		if err == nil && !ReplyAllowed(m.Reply, operator) {
			logger.Warn("start request refused: reply subject is not the requester's inbox",
				"tenant", tenant, "rollout", rollout, "operator", operator, "reply", truncate(m.Reply, 200), "want_prefix", InboxPrefix(operator)+".")
			return
		}
		var req StartRequest
		switch {
		case err != nil:
			// The subscription's filter makes this unreachable; never answer
			// on a reply subject that could not be checked.
			logger.Warn("start request refused", "error", err)
			return
		case len(m.Data) > MaxStartRequest:
			reply.Error = fmt.Sprintf("%v: start request of %d bytes (limit %d)", ErrTooLarge, len(m.Data), MaxStartRequest)
		default:
			if jerr := json.Unmarshal(m.Data, &req); jerr != nil {
				reply.Error = fmt.Sprintf("%v: %v", ErrMalformed, jerr)
				break
			}
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			reply.WorkflowID, err = s.Start(sctx, tenant, rollout, operator, req)
			cancel()
			if err != nil {
				reply.Error = err.Error()
			}
		}
		logger.Info("start request", "tenant", tenant, "rollout", rollout, "operator", operator, "workflowId", reply.WorkflowID, "error", reply.Error)
		b, _ := json.Marshal(reply)
		if err := m.Respond(b); err != nil {
			logger.Warn("answer start request", "error", err)
		}
	})
	if err != nil {
		return fmt.Errorf("subscribe to start requests: %w", err)
	}
	<-ctx.Done()
	return sub.Unsubscribe()
}

// ErrNoStarter means no worker answered a start request.
var ErrNoStarter = errors.New("no ssprflow worker answered the start request")

// RequestStart asks a worker to start a rollout as operator and returns its
// answer. nc must be the operator's own connection.
func RequestStart(ctx context.Context, nc *nats.Conn, tenant, rollout, operator string, req StartRequest, wait time.Duration) (StartReply, error) {
	subj, err := StartSubject(tenant, rollout, operator)
	if err != nil {
		return StartReply{}, err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return StartReply{}, err
	}
	m, err := askWorker(ctx, nc, subj, b, wait)
	switch {
	case errors.Is(err, ErrNotPermitted):
		return StartReply{}, fmt.Errorf("%w: %s may not start rollouts as %q", ErrNotPermitted, nc.Opts.User, operator)
	case errors.Is(err, errNoWorker):
		return StartReply{}, fmt.Errorf("%w within %s: is a worker running? (%v)", ErrNoStarter, wait, err)
	case err != nil:
		return StartReply{}, err
	}
	var reply StartReply
	if err := json.Unmarshal(m.Data, &reply); err != nil {
		return StartReply{}, fmt.Errorf("%w: start reply: %v", ErrMalformed, err)
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
		if err != nil && permissionError(nc, subj) != nil {
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
