package worker

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

// ErrAlreadyRunning means the tenant plan has a rollout running.
var ErrAlreadyRunning = errors.New("already running")

// StartRollout starts the rollout workflow for a validated plan. verified
// says startedBy was authenticated (a NATS start request), not typed in.
func StartRollout(ctx context.Context, c client.Client, p *plan.Rollout, startedBy string, verified bool, queue string) (string, error) {
	id := workflows.WorkflowID(p.TenantToken(), p.Metadata.Name)
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             queue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(workflows.SATenant).ValueSet(p.Metadata.Tenant),
			temporal.NewSearchAttributeKeyKeyword(workflows.SAPlan).ValueSet(p.Metadata.Name),
			temporal.NewSearchAttributeKeyKeyword(workflows.SAStage).ValueSet(workflows.PreflightStage),
			temporal.NewSearchAttributeKeyKeyword(workflows.SAState).ValueSet(string(workflows.StatusRunning)),
		),
	}, workflows.RolloutWorkflow, workflows.RolloutInput{Plan: *p, StartedBy: startedBy, StartedByVerified: verified})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return id, fmt.Errorf("rollout %s is %w: watch it with 'ssprflow rollout status %s' or cancel it first", id, ErrAlreadyRunning, id)
	}
	if err != nil {
		return id, fmt.Errorf("start rollout: %w", err)
	}
	return id, nil
}

// Starter starts rollouts requested over NATS; the operator is the NATS
// user the request came from.
type Starter struct {
	Client client.Client
	Queue  string
}

// Start implements approval.Starter: the plan is validated here, and must
// be the tenant and rollout its subject names.
func (s *Starter) Start(ctx context.Context, tenant, rollout, operator string, req approval.StartRequest) (string, error) {
	name := req.File
	if name == "" {
		name = "plan"
	}
	p, err := plan.Load(name, req.Plan)
	if err != nil {
		return "", err
	}
	if p.TenantToken() != tenant || p.Metadata.Name != rollout {
		return "", fmt.Errorf("the request's subject names %s/%s but the plan is %s/%s", tenant, rollout, p.TenantToken(), p.Metadata.Name)
	}
	return StartRollout(ctx, s.Client, p, operator, true, s.Queue)
}
