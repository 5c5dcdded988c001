package approval

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// An approver needs the current request id of a gate to bind a decision
// to it, and may not read the approvals stream. The worker answers instead:
// a request on ssprflow.<tenant>.<rollout>.pending.<user> — the last token is
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
	return serve(ctx, nc, "pending", 15*time.Second, logger, func(ctx context.Context, r request) any {
		reply, err := l.Pending(ctx, r.Tenant, r.Rollout, r.User)
		if err != nil {
			reply = PendingReply{Error: err.Error()}
		}
		return reply
	})
}

// RequestPending asks a worker what the rollout waits for, as user. nc must
// be the user's own connection, with nats.CustomInboxPrefix(InboxPrefix(user)).
func RequestPending(ctx context.Context, nc *nats.Conn, tenant, rollout, user string, wait time.Duration) (PendingReply, error) {
	var r PendingReply
	if err := ask(ctx, nc, "pending", tenant, rollout, user, nil, wait, "ask what rollouts wait for", &r); err != nil {
		return PendingReply{}, err
	}
	if r.Error != "" {
		return r, errors.New(r.Error)
	}
	return r, nil
}
