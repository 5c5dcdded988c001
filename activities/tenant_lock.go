package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// One rollout changes a tenant at a time: the SSPR policy and the
// authentication methods policy are tenant-wide, so two plans (or one plan
// naming the tenant by domain and again by id) must not interleave. The
// lock is keyed by the tenant id Graph returns, never by what a plan
// typed, and held by a lock workflow per tenant (workflows.TenantLock).

// LockRequest asks the tenant's lock workflow for the lock.
type LockRequest struct {
	WorkflowID string    `json:"workflowId"`
	RunID      string    `json:"runId"`
	Plan       string    `json:"plan"`
	StartedBy  string    `json:"startedBy,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	// Queue waits for the lock instead of refusing.
	Queue bool `json:"queue,omitempty"`
}

// Lock verdicts.
const (
	LockGranted = "granted"
	LockQueued  = "queued"
	LockRefused = "refused"
)

// LockReply is the lock workflow's answer.
type LockReply struct {
	Verdict string `json:"verdict"`
	// Holder is the rollout holding the lock (when not granted).
	Holder LockRequest `json:"holder,omitzero"`
	// Position is this rollout's place in the queue (1 = next).
	Position int `json:"position,omitempty"`
}

// TenantLocker asks tenantID's lock workflow for the lock (wired by the
// worker: the lock workflow lives in package workflows).
type TenantLocker func(ctx context.Context, tenantID, tenant string, req LockRequest) (LockReply, error)

// LockTenantInput resolves the plan's tenant and asks for its lock.
type LockTenantInput struct {
	Plan    plan.Rollout `json:"plan"`
	Request LockRequest  `json:"request"`
}

// LockTenantResult is the tenant's id and the lock's verdict.
type LockTenantResult struct {
	TenantID   string    `json:"tenantId"`
	TenantName string    `json:"tenantName,omitempty"`
	Reply      LockReply `json:"reply"`
}

// LockTenant resolves the plan's tenant to its id (GET /organization) and
// asks that tenant's lock workflow for the lock. Asking twice for one run
// is answered the same (the lock workflow knows its holder and queue).
func (a *Activities) LockTenant(ctx context.Context, in LockTenantInput) (LockTenantResult, error) {
	var res LockTenantResult
	if a.Locker == nil {
		return res, permanent(errtype.TenantUnavailable, errors.New("this worker has no tenant lock configured"))
	}
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return res, err
	}
	org, ok := t.(entra.Organizer)
	if !ok {
		return res, permanent(errtype.TenantUnavailable, errors.New("this tenant adapter cannot read the organization (tenant id)"))
	}
	o, err := org.Organization(ctx)
	if err != nil {
		return res, classify(fmt.Errorf("resolve tenant %s to its id: %w", in.Plan.Metadata.Tenant, err))
	}
	res.TenantID, res.TenantName = o.ID, o.DisplayName
	res.Reply, err = a.Locker(ctx, o.ID, in.Plan.Metadata.Tenant, in.Request)
	if err != nil {
		return res, fmt.Errorf("tenant lock %s: %w", o.ID, err)
	}
	return res, nil
}

// WatchInput names the run holding a lock.
type WatchInput struct {
	WorkflowID string `json:"workflowId"`
	// RunID is the rollout's first run id: a rollout continues as new, so
	// its current run is the one whose first run this is.
	RunID string `json:"runId"`
	// For bounds one attempt; the lock workflow asks again (a heartbeat
	// keeps a long watch alive across worker restarts).
	For time.Duration `json:"for"`
}

// WatchResult says whether the run has closed.
type WatchResult struct {
	Closed bool   `json:"closed"`
	Status string `json:"status,omitempty"`
}

// LockActivities are the tenant lock workflow's activities.
type LockActivities struct {
	Client client.Client
	// Poll is how often the holder's run is described (default 5 s).
	Poll time.Duration
}

// WatchRollout returns when the run has closed (any way: succeeded,
// failed, cancelled, terminated, timed out) or in.For has passed. A run
// that does not exist counts as closed: nothing holds the tenant.
func (l *LockActivities) WatchRollout(ctx context.Context, in WatchInput) (WatchResult, error) {
	poll := l.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	deadline := time.Now().Add(in.For)
	// A stopping worker ends the watch at once ("not closed yet"): the lock
	// workflow asks again, and another worker watches, instead of the stop
	// waiting out the whole shutdown bound.
	var stopping <-chan struct{}
	if activity.IsActivity(ctx) {
		stopping = activity.GetWorkerStopChannel(ctx)
	}
	for {
		d, err := l.Client.DescribeWorkflowExecution(ctx, in.WorkflowID, "")
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			return WatchResult{Closed: true, Status: "not found"}, nil
		case err != nil:
			return WatchResult{}, fmt.Errorf("describe %s: %w", in.WorkflowID, err)
		}
		info := d.GetWorkflowExecutionInfo()
		if in.RunID != "" && info.GetFirstRunId() != in.RunID {
			// The id was reused by a later rollout of the same plan: ours ended.
			return WatchResult{Closed: true, Status: "replaced"}, nil
		}
		if st := info.GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return WatchResult{Closed: true, Status: st.String()}, nil
		}
		activity.RecordHeartbeat(ctx)
		if in.For > 0 && time.Now().After(deadline) {
			return WatchResult{}, nil
		}
		select {
		case <-ctx.Done():
			return WatchResult{}, ctx.Err()
		case <-stopping:
			return WatchResult{}, nil
		case <-time.After(poll):
		}
	}
}
