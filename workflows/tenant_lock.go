package workflows

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
)

// The tenant lock: one workflow per tenant id holds which rollout may
// change the tenant, and a queue of rollouts that asked to wait. Rollouts
// ask in their preflight (LockTenant, an update-with-start, so the first
// asker creates the lock); the lock watches its holder's run and passes
// the lock on when that run closes, however it closes — so a terminated
// rollout cannot leave the tenant locked.

// TenantLockWorkflowName is the lock workflow's registered name.
const TenantLockWorkflowName = "ssprflow.TenantLock"

// UpdateAcquire asks for the lock (activities.LockRequest ->
// activities.LockReply).
const UpdateAcquire = "acquire"

// SignalTenantGranted tells a queued rollout that it holds the lock now.
const SignalTenantGranted = "tenant-lock-granted"

// SignalTenantRelease is a holder's release (its activities.LockRequest).
const SignalTenantRelease = "release"

// QueryLock returns the lock's TenantLockState.
const QueryLock = "lock"

// TenantLockID is the lock workflow's id for a tenant id.
func TenantLockID(tenantID string) string { return "sspr-tenant-lock/" + tenantID }

// TenantLockInput names the tenant.
type TenantLockInput struct {
	TenantID string `json:"tenantId"`
	// Tenant is how the first asker's plan named it, for people.
	Tenant string `json:"tenant,omitempty"`
}

// TenantLockState is the lock's holder and queue.
type TenantLockState struct {
	TenantID string                   `json:"tenantId"`
	Holder   *activities.LockRequest  `json:"holder,omitempty"`
	Queue    []activities.LockRequest `json:"queue,omitempty"`
	History  []activities.LockRequest `json:"-"`
}

// watchWindow bounds one watch of the holder; the lock asks again, so a
// weeks-long rollout adds a few events a day to the lock's history.
const watchWindow = 6 * time.Hour

// TenantLock is the lock workflow. It ends when nobody holds or waits.
//
// The holder changes in one place (release): on its release signal, when
// its watch sees its run closed, or when a new run of the same workflow id
// asks (Temporal runs one execution per workflow id at a time, so a new
// run means the old one has closed, even if its release is still on the
// way). The watch always follows the current holder.
func TenantLock(ctx workflow.Context, in TenantLockInput) error {
	st := TenantLockState{TenantID: in.TenantID}
	if err := workflow.SetQueryHandler(ctx, QueryLock, func() (TenantLockState, error) { return st, nil }); err != nil {
		return err
	}
	same := func(a, b activities.LockRequest) bool { return a.WorkflowID == b.WorkflowID && a.RunID == b.RunID }
	changed := workflow.NewBufferedChannel(ctx, 1)
	poke := func() { changed.SendAsync(true) }
	// release hands the lock from r (if r holds it) to the next waiter that
	// can still be told; queued runs that have gone are skipped.
	release := func(ctx workflow.Context, r activities.LockRequest, why string) {
		if st.Holder == nil || !same(*st.Holder, r) {
			return
		}
		workflow.GetLogger(ctx).Info("tenant lock released", "holder", r.WorkflowID, "why", why)
		st.Holder = nil
		for st.Holder == nil && len(st.Queue) > 0 {
			next := st.Queue[0]
			st.Queue = st.Queue[1:]
			if err := workflow.SignalExternalWorkflow(ctx, next.WorkflowID, "", SignalTenantGranted, next.RunID).Get(ctx, nil); err == nil {
				st.Holder = &next
			}
		}
		poke()
	}
	releases := workflow.GetSignalChannel(ctx, SignalTenantRelease)
	drain := func(ctx workflow.Context) {
		var r activities.LockRequest
		for releases.ReceiveAsync(&r) {
			release(ctx, r, "released")
		}
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAcquire,
		func(ctx workflow.Context, req activities.LockRequest) (activities.LockReply, error) {
			drain(ctx) // a release that arrived first counts first
			if st.Holder != nil && st.Holder.WorkflowID == req.WorkflowID && st.Holder.RunID != req.RunID {
				release(ctx, *st.Holder, "a new run of the same rollout started")
			}
			if st.Holder == nil {
				st.Holder = &req
				poke()
				return activities.LockReply{Verdict: activities.LockGranted}, nil
			}
			if same(*st.Holder, req) {
				return activities.LockReply{Verdict: activities.LockGranted}, nil
			}
			for i, q := range st.Queue {
				if same(q, req) {
					return activities.LockReply{Verdict: activities.LockQueued, Holder: *st.Holder, Position: i + 1}, nil
				}
			}
			if !req.Queue {
				return activities.LockReply{Verdict: activities.LockRefused, Holder: *st.Holder}, nil
			}
			st.Queue = append(st.Queue, req)
			return activities.LockReply{Verdict: activities.LockQueued, Holder: *st.Holder, Position: len(st.Queue)}, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(req activities.LockRequest) error {
			if req.WorkflowID == "" || req.RunID == "" {
				return fmt.Errorf("a lock request names the rollout's workflow id and run id")
			}
			return nil
		}})
	if err != nil {
		return err
	}
	var la *activities.LockActivities
	watchCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: watchWindow + 10*time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumInterval: time.Minute},
	})
	// The lock starts with an acquire (update-with-start): wait for it.
	if err := workflow.Await(ctx, func() bool { return st.Holder != nil }); err != nil {
		return err
	}
	for {
		drain(ctx)
		if st.Holder == nil {
			// Let an acquire being handled finish first: it may take the lock.
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return err
			}
			drain(ctx)
			if st.Holder == nil && len(st.Queue) == 0 {
				return nil
			}
			if st.Holder == nil {
				continue
			}
		}
		// Watch the holder until it closes, releases, or is replaced.
		watched := *st.Holder
		wctx, cancelWatch := workflow.WithCancel(watchCtx)
		watch := workflow.ExecuteActivity(wctx, la.WatchRollout, activities.WatchInput{
			WorkflowID: watched.WorkflowID, RunID: watched.RunID, For: watchWindow})
		var res activities.WatchResult
		var watchErr error
		watchDone := false
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(watch, func(f workflow.Future) { watchDone, watchErr = true, f.Get(ctx, &res) })
		sel.AddReceive(releases, func(c workflow.ReceiveChannel, _ bool) {
			var r activities.LockRequest
			c.Receive(ctx, &r)
			release(ctx, r, "released")
		})
		sel.AddReceive(changed, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.Select(ctx)
		if !watchDone {
			cancelWatch()
			_ = watch.Get(ctx, nil) // wait for the cancelled watch to end
			continue
		}
		cancelWatch()
		if watchErr != nil {
			return watchErr
		}
		if res.Closed {
			release(ctx, watched, "its run closed: "+res.Status)
		}
	}
}

// AcquireTenantLock asks tenantID's lock workflow for the lock, starting
// the lock workflow when none runs (update-with-start).
func AcquireTenantLock(ctx context.Context, c client.Client, taskQueue, tenantID, tenant string, req activities.LockRequest) (activities.LockReply, error) {
	start := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       TenantLockID(tenantID),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, TenantLockWorkflowName, TenantLockInput{TenantID: tenantID, Tenant: tenant})
	h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     req.RunID, // a retried activity asks once
			UpdateName:   UpdateAcquire,
			Args:         []any{req},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return activities.LockReply{}, err
	}
	var reply activities.LockReply
	err = h.Get(ctx, &reply)
	return reply, err
}

// AwaitTenantLock waits up to wait for a just-started rollout's tenant
// lock verdict. A refused lock is returned as the error (the rollout has
// failed at preflight, changing nothing); a queued one as the note; a
// verdict not reached in time is a note too, not an error.
func AwaitTenantLock(ctx context.Context, c client.Client, workflowID string, wait time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		var st State
		v, err := c.QueryWorkflow(ctx, workflowID, "", QueryState)
		if err == nil && v.Get(&st) == nil {
			switch {
			case st.TenantLock == activities.LockGranted:
				return "", nil
			case strings.HasPrefix(st.TenantLock, activities.LockRefused):
				return "", fmt.Errorf("rollout %s refused: %s", workflowID, strings.TrimPrefix(st.TenantLock, activities.LockRefused+": "))
			case st.TenantLock != "":
				return "waiting for the tenant lock: " + st.TenantLock, nil
			case st.Status != StatusRunning && st.Status != StatusWaiting:
				return "", fmt.Errorf("rollout %s %s at preflight: %s", workflowID, st.Status, st.LastError)
			}
		}
		select {
		case <-ctx.Done():
			return "the tenant lock's verdict is not in yet: see 'ssprflow rollout status " + workflowID + "'", nil
		case <-time.After(300 * time.Millisecond):
		}
	}
}
