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
	"github.com/ssprflow/ssprflow/internal/attest"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

// ErrAlreadyRunning means the tenant plan has a rollout running.
var ErrAlreadyRunning = errors.New("already running")

// StartRollout starts the rollout workflow for a validated plan. With keys
// (the start service), the start is signed: startedBy is the person an
// authenticated identity (via, e.g. "nats:ops1") belongs to. Without keys
// (a direct start on Temporal, for administrators), startedBy is recorded
// as typed in and shown as unverified.
func StartRollout(ctx context.Context, c client.Client, p *plan.Rollout, startedBy, via string, keys *attest.Keyring, queue string) (string, error) {
	id := workflows.WorkflowID(p.TenantToken(), p.Metadata.Name)
	in := workflows.RolloutInput{Plan: *p, StartedBy: startedBy, StartedVia: via}
	if keys != nil {
		in = workflows.SignStart(keys, id, in)
	}
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
	}, workflows.RolloutWorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return id, fmt.Errorf("rollout %s is %w: watch it with 'ssprflow rollout status %s' or cancel it first", id, ErrAlreadyRunning, id)
	}
	if err != nil {
		return id, fmt.Errorf("start rollout: %w", err)
	}
	return id, nil
}

// People maps an authenticated NATS user to the person it belongs to.
type People func(natsUser string) (config.Person, bool)

// ErrUnknownIdentity means an authenticated identity belongs to nobody the
// worker knows: it may neither start nor decide.
var ErrUnknownIdentity = errors.New("not mapped to a person")

// Starter starts rollouts requested over NATS; the operator is the person
// the requesting NATS user belongs to, and the start is signed.
type Starter struct {
	Client client.Client
	Queue  string
	Keys   *attest.Keyring
	People People
}

// Start implements approval.Starter: the plan is validated here, and must
// be the tenant and rollout its subject names.
func (s *Starter) Start(ctx context.Context, tenant, rollout, operator string, req approval.StartRequest) (string, error) {
	person, ok := s.People(operator)
	if !ok {
		return "", fmt.Errorf("NATS user %q is %w in the worker configuration (people: - id: ... nats: [%s])", operator, ErrUnknownIdentity, operator)
	}
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
	return StartRollout(ctx, s.Client, p, person.ID, "nats:"+operator, s.Keys, s.Queue)
}
