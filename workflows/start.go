package workflows

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ssprflow/ssprflow/internal/attest"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// StartOptions say who starts a rollout and how.
type StartOptions struct {
	StartedBy string
	// Via is the authenticated identity the start came through ("nats:ops1").
	Via string
	// Keys sign the start (the start service); nil for a direct start.
	Keys *attest.Keyring
	// TaskQueue is the worker's task queue (default TaskQueue).
	TaskQueue string
	// QueueForTenant waits for the tenant lock instead of failing.
	QueueForTenant bool
	// RevertRunID and Remediate: see RolloutInput.
	RevertRunID string
	Remediate   bool
}

// ErrAlreadyRunning means the tenant plan has a rollout running.
var ErrAlreadyRunning = errors.New("already running")

// StartRollout starts the rollout workflow for a validated plan. With keys
// (the start service), the start is signed: startedBy is the person an
// authenticated identity (via, e.g. "nats:ops1") belongs to. Without keys
// (a direct start on Temporal, for administrators), startedBy is recorded
// as typed in and shown as unverified.
func StartRollout(ctx context.Context, c client.Client, p *plan.Rollout, o StartOptions) (string, error) {
	id := WorkflowID(p.TenantToken(), p.Metadata.Name)
	in := RolloutInput{Plan: *p, StartedBy: o.StartedBy, StartedVia: o.Via, QueueForTenant: o.QueueForTenant,
		RevertRunID: o.RevertRunID, Remediate: o.Remediate}
	if o.Keys != nil {
		in = SignStart(o.Keys, id, in)
	}
	queue := o.TaskQueue
	if queue == "" {
		queue = TaskQueue
	}
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             queue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: SearchAttributes(p.Metadata.Tenant, p.Metadata.Name, PreflightStage, StatusRunning),
	}, workflowType(in), in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return id, fmt.Errorf("rollout %s is %w: watch it with 'ssprflow rollout status %s' or cancel it first", id, ErrAlreadyRunning, id)
	}
	if err != nil {
		return id, fmt.Errorf("start rollout: %w", err)
	}
	return id, nil
}
