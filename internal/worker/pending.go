package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/workflows"
)

// Pending answers approvers' "what does this rollout wait for?" from the
// rollout's own state, so a decision can be bound to the current request
// without reading the approvals stream.
type Pending struct {
	Client client.Client
	People People
	// SelfApproval is the worker's policy (to explain MayDecide).
	SelfApproval bool
	Logger       *slog.Logger
}

// Pending implements approval.PendingLister.
func (p *Pending) Pending(ctx context.Context, tenant, rollout, user string) (approval.PendingReply, error) {
	person, ok := p.People(user)
	if !ok {
		return approval.PendingReply{}, fmt.Errorf("NATS user %q is %w in the worker configuration: ask an administrator to add you under people:", user, ErrUnknownIdentity)
	}
	id := workflows.WorkflowID(tenant, rollout)
	// One answer for "no such rollout", "not yours" and "cannot read":
	// nobody learns more about a rollout they have no part in, and the
	// detail (Temporal or codec errors) stays in the worker's log.
	refused := fmt.Errorf("rollout %s: nothing waits for %s there (no such rollout, or you are neither its approver nor its starter)", id, person.ID)
	v, err := p.Client.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err != nil {
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			p.logger().Warn("pending request: read rollout", "workflowId", id, "error", err)
		}
		return approval.PendingReply{}, refused
	}
	var st workflows.State
	if err := v.Get(&st); err != nil {
		p.logger().Warn("pending request: decode rollout state", "workflowId", id, "error", err)
		return approval.PendingReply{}, refused
	}
	if !slices.Contains(st.Approvers, person.ID) && st.StartedBy != person.ID {
		return approval.PendingReply{}, refused
	}
	return PendingFor(st, person.ID, p.SelfApproval), nil
}

func (p *Pending) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

// PendingFor lists the open gates and tasks of st as person sees them.
func PendingFor(st workflows.State, person string, selfApproval bool) approval.PendingReply {
	return approval.PendingReply{WorkflowID: st.WorkflowID, Status: string(st.Status), Person: person, Gates: st.PendingFor(person, selfApproval)}
}
