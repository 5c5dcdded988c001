package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/attest"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

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
	// Blobs holds plans and member lists sent by digest.
	Blobs PlanStore
}

// Start implements approval.Starter: the plan is validated here, and must
// be the tenant and rollout its subject names.
func (s *Starter) Start(ctx context.Context, tenant, rollout, operator string, req approval.StartRequest) (approval.StartReply, error) {
	person, p, err := requestedPlan(ctx, s.People, s.Blobs, tenant, rollout, operator, req)
	if err != nil {
		return approval.StartReply{}, err
	}
	id, err := workflows.StartRollout(ctx, s.Client, p, workflows.StartOptions{StartedBy: person.ID, Via: "nats:" + operator,
		Keys: s.Keys, TaskQueue: s.Queue, QueueForTenant: req.Queue})
	reply := approval.StartReply{WorkflowID: id}
	if err != nil {
		return reply, err
	}
	// The tenant lock is the preflight's first act: wait for its verdict so
	// that a refused start is refused to the person who asked.
	reply.Note, err = workflows.AwaitTenantLock(ctx, s.Client, id, lockVerdictWait)
	return reply, err
}

// lockVerdictWait bounds the wait for the tenant lock's verdict (the
// start request's deadline is 40 s).
const lockVerdictWait = 25 * time.Second

// requestedPlan checks a plan sent over NATS (start, diff): the asking NATS
// user must be a person the worker knows, and the plan must be valid and
// name the tenant and rollout of the request's subject, which the server's
// permissions checked for this user.
//
// Member lists (inline members, select.file) are then stored in the blob
// store and referenced by digest (storeMemberLists).
func requestedPlan(ctx context.Context, people People, store PlanStore, tenant, rollout, natsUser string, req approval.StartRequest) (config.Person, *plan.Rollout, error) {
	person, ok := people(natsUser)
	if !ok {
		return person, nil, fmt.Errorf("NATS user %q is %w in the worker configuration (people: - id: ... nats: [%s])", natsUser, ErrUnknownIdentity, natsUser)
	}
	name := req.File
	if name == "" {
		name = "plan"
	}
	raw, err := planBytes(ctx, store, req)
	if err != nil {
		return person, nil, err
	}
	p, err := plan.Load(name, raw)
	if err != nil {
		return person, nil, err
	}
	if p.TenantToken() != tenant || p.Metadata.Name != rollout {
		return person, nil, fmt.Errorf("the request's subject names %s/%s but the plan is %s/%s", tenant, rollout, p.TenantToken(), p.Metadata.Name)
	}
	if err := storeMemberLists(ctx, store, name, p, req.Files); err != nil {
		return person, nil, err
	}
	return person, p, nil
}
