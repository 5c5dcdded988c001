package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// An approver needs the current request id of a gate to bind a decision
// to it, and may not read the approvals stream. The worker answers instead:
// a request on PendingSubject(tenant, rollout, user) — the last token is
// the asking NATS user, bound to the connection by the server's
// permissions — gets a PendingReply on the asker's own inbox.

// PendingGate is one open gate or manual task of a rollout.
type PendingGate struct {
	Gate         string    `json:"gate"`
	Stage        string    `json:"stage"`
	NextStage    string    `json:"nextStage,omitempty"`
	Task         bool      `json:"task,omitempty"`
	RequestID    string    `json:"requestId"`
	Attempt      int       `json:"attempt,omitempty"`
	Instructions []string  `json:"instructions,omitempty"`
	Quorum       int       `json:"quorum"`
	Approvals    int       `json:"approvals"`
	Decided      []string  `json:"decided,omitempty"`
	ExpiresAt    time.Time `json:"expiresAt"`
	// MayDecide says whether the asking person may decide it; Why says why
	// not.
	MayDecide bool   `json:"mayDecide"`
	Why       string `json:"why,omitempty"`
}

// PendingReply answers a pending request.
type PendingReply struct {
	WorkflowID string        `json:"workflowId,omitempty"`
	Status     string        `json:"status,omitempty"`
	Person     string        `json:"person,omitempty"`
	Gates      []PendingGate `json:"gates,omitempty"`
	Error      string        `json:"error,omitempty"`
}

// PendingLister tells what a rollout waits for, as seen by one NATS user.
type PendingLister interface {
	Pending(ctx context.Context, tenant, rollout, user string) (PendingReply, error)
}

// ServePending answers pending requests until ctx ends. Several workers may
// serve (queue group). A request whose reply subject is not the asker's own
// inbox is refused and logged, never answered.
func ServePending(ctx context.Context, nc *nats.Conn, l PendingLister, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sub, err := nc.QueueSubscribe(PendingSubjects, "ssprflow-pending", func(m *nats.Msg) {
		tenant, rollout, user, err := ParsePendingSubject(m.Subject)
		if err != nil {
			logger.Warn("pending request refused", "error", err)
			return
		}
		if !ReplyAllowed(m.Reply, user) {
			logger.Warn("pending request refused: reply subject is not the requester's inbox", "user", user, "reply", truncate(m.Reply, 200))
			return
		}
		qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		reply, err := l.Pending(qctx, tenant, rollout, user)
		cancel()
		if err != nil {
			reply = PendingReply{Error: err.Error()}
		}
		b, _ := json.Marshal(reply)
		if err := m.Respond(b); err != nil {
			logger.Warn("answer pending request", "error", err)
		}
	})
	if err != nil {
		return fmt.Errorf("subscribe to pending requests: %w", err)
	}
	<-ctx.Done()
	return sub.Unsubscribe()
}

// RequestPending asks a worker what the rollout waits for, as user. nc must
// be the user's own connection, with nats.CustomInboxPrefix(InboxPrefix(user)).
func RequestPending(ctx context.Context, nc *nats.Conn, tenant, rollout, user string, wait time.Duration) (PendingReply, error) {
	subj, err := PendingSubject(tenant, rollout, user)
	if err != nil {
		return PendingReply{}, err
	}
	m, err := askWorker(ctx, nc, subj, nil, wait)
	switch {
	case errors.Is(err, ErrNotPermitted):
		return PendingReply{}, fmt.Errorf("%w: NATS user %q may not ask as %q", ErrNotPermitted, nc.Opts.User, user)
	case errors.Is(err, errNoWorker):
		return PendingReply{}, fmt.Errorf("no ssprflow worker answered within %s: is a worker running? (%v)", wait, err)
	case err != nil:
		return PendingReply{}, fmt.Errorf("ask what %s/%s waits for: %w", tenant, rollout, err)
	}
	var r PendingReply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		return PendingReply{}, fmt.Errorf("%w: pending reply: %v", ErrMalformed, err)
	}
	if r.Error != "" {
		return r, errors.New(r.Error)
	}
	return r, nil
}
