package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/attest"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/workflows"
)

// Decider hands approval decisions from NATS to the rollout workflow as a
// Temporal update. The update id is the decision id, so a redelivered
// decision is de-duplicated by Temporal (and by the workflow's own Seen list
// across continue-as-new); the validator's rejection comes back as a final
// verdict, not an error, so the bridge acks it instead of retrying.
type Decider struct {
	Client client.Client
	// Keys sign each decision for the workflow's validator; People maps
	// the NATS user that published it to a person.
	Keys   *attest.Keyring
	People People
	// Timeout bounds one decision (default 20 s).
	Timeout time.Duration
}

func (d *Decider) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return 20 * time.Second
}

// Decide implements approval.Decider.
func (d *Decider) Decide(ctx context.Context, tenant, rollout string, dec approval.Decision) (approval.Verdict, error) {
	// Bounded below the bridge's ack wait: a workflow nobody is polling must
	// not stall approvals for every other rollout; the bridge retries later.
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	id := workflows.WorkflowID(tenant, rollout)
	// The subject's last token is the authenticated NATS user; the
	// workflow sees the person it belongs to, and through which identity.
	user := dec.Approver
	person, ok := d.People(user)
	if !ok {
		return approval.Verdict{DecisionID: dec.ID, Reason: fmt.Sprintf("NATS user %q is %v in the worker configuration: ask an administrator to add you under people:", user, ErrUnknownIdentity)}, nil
	}
	return d.DecideAs(ctx, id, person, "nats:"+user, dec)
}

// DecideAs applies a decision of an authenticated person (via names the
// identity: "nats:alice", "entra:<object id>") to a rollout: signed for the
// workflow's validator, which applies the same rules to every path.
func (d *Decider) DecideAs(ctx context.Context, id string, person config.Person, via string, dec approval.Decision) (approval.Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	dec.Approver, dec.Via = person.ID, via
	dec = workflows.SignDecision(d.Keys, id, dec)
	h, err := d.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateID:     dec.Approver + "/" + dec.ID,
		UpdateName:   workflows.UpdateDecide,
		Args:         []interface{}{dec},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return classifyUpdateError(dec, id, err)
	}
	var res workflows.DecideResult
	if err := h.Get(ctx, &res); err != nil {
		return classifyUpdateError(dec, id, err)
	}
	reason := fmt.Sprintf("gate %s: %s (%d/%d approvals)", res.Gate, res.GateState, res.Approvals, res.Quorum)
	if res.Duplicate {
		reason = "duplicate decision, already applied; " + reason
	}
	return approval.Verdict{DecisionID: dec.ID, Accepted: true, Reason: reason, GateState: res.GateState}, nil
}

func classifyUpdateError(dec approval.Decision, id string, err error) (approval.Verdict, error) {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return approval.Verdict{DecisionID: dec.ID, Reason: "no running rollout " + id}, nil
	}
	if isRejection(err) {
		return approval.Verdict{DecisionID: dec.ID, Reason: err.Error()}, nil
	}
	return approval.Verdict{}, err
}

// isRejection tells a validator's or handler's refusal (an application
// error: final) from a transport problem (retry later).
func isRejection(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr)
}
