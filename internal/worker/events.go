package worker

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
)

// Events publishes rollout events and approval requests on JetStream.
type Events struct {
	JS jetstream.JetStream
}

// PublishEvent implements activities.EventPublisher.
func (e *Events) PublishEvent(ctx context.Context, in activities.EventInput) error {
	data := map[string]string{
		"workflowId": in.WorkflowID, "rollout": in.Rollout, "stage": in.Stage, "step": in.Step,
		"outcome": in.Outcome, "detail": in.Detail,
	}
	for k, v := range in.Data {
		data[k] = v
	}
	ev := approval.NewEvent(in.Kind, "ssprflow/"+in.WorkflowID, in.Stage+"/"+in.Step, data)
	ev.ID, ev.Time = in.ID, in.At
	return approval.PublishEvent(ctx, e.JS, in.Tenant, in.Rollout, ev)
}

// PublishApprovalRequest implements activities.EventPublisher.
func (e *Events) PublishApprovalRequest(ctx context.Context, req approval.Request) error {
	return approval.PublishRequest(ctx, e.JS, req)
}
