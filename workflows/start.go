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

// ErrAlreadyRunning means the tenant plan has a rollout running.
var ErrAlreadyRunning = errors.New("already running")

// StartRollout starts the rollout workflow for a validated plan. With keys
// (the start service), the start is signed: startedBy is the person an
// authenticated identity (via, e.g. "nats:ops1") belongs to. Without keys
// (a direct start on Temporal, for administrators), startedBy is recorded
// as typed in and shown as unverified.
func StartRollout(ctx context.Context, c client.Client, p *plan.Rollout, startedBy, via string, keys *attest.Keyring, queue string) (string, error) {
	id := WorkflowID(p.TenantToken(), p.Metadata.Name)
	in := RolloutInput{Plan: *p, StartedBy: startedBy, StartedVia: via}
	if keys != nil {
		in = SignStart(keys, id, in)
	}
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             queue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: SearchAttributes(p.Metadata.Tenant, p.Metadata.Name, PreflightStage, StatusRunning),
	}, RolloutWorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return id, fmt.Errorf("rollout %s is %w: watch it with 'ssprflow rollout status %s' or cancel it first", id, ErrAlreadyRunning, id)
	}
	if err != nil {
		return id, fmt.Errorf("start rollout: %w", err)
	}
	return id, nil
}
