package activities

import (
	"context"
	"errors"
	"time"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/errtype"
)

// EventPublisher publishes rollout events and approval requests.
type EventPublisher interface {
	PublishEvent(ctx context.Context, in EventInput) error
	PublishApprovalRequest(ctx context.Context, in approval.Request) error
}

var errNoEvents = errors.New("this worker has no NATS connection: approvals cannot be requested")

// EventInput is one rollout event. The workflow chooses the id, so a
// retried publish is de-duplicated by JetStream.
type EventInput struct {
	ID         string             `json:"id"`
	Tenant     string             `json:"tenant"` // subject token
	Rollout    string             `json:"rollout"`
	WorkflowID string             `json:"workflowId"`
	Kind       approval.EventKind `json:"kind"` // e.g. step.applied, gate.passed
	Stage      string             `json:"stage,omitempty"`
	Step       string             `json:"step,omitempty"`
	Outcome    string             `json:"outcome,omitempty"`
	Detail     string             `json:"detail,omitempty"`
	Data       map[string]string  `json:"data,omitempty"`
	At         time.Time          `json:"at"`
}

// Emit publishes a rollout event. Events are an audit trail for people and
// tools; the workflow runs Emit as a local activity and does not fail a
// rollout because NATS is briefly away.
func (a *Activities) Emit(ctx context.Context, in EventInput) error {
	if a.Events == nil {
		return nil
	}
	return a.Events.PublishEvent(ctx, in)
}

// RequestApproval publishes an approval request with a deterministic id, so
// a retry does not make a second request.
func (a *Activities) RequestApproval(ctx context.Context, in approval.Request) error {
	if a.Events == nil {
		return permanent(errtype.Permanent, errNoEvents)
	}
	return classify(a.Events.PublishApprovalRequest(ctx, in))
}
