package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/internal/errtype"
)

// Every context that can change something sets WaitForCancellation: on a
// cancel, the workflow waits until the attempt in flight has really ended
// before it starts undoing, so compensation never races a change that is
// still landing.
//
// Retry policies are chosen per kind of call; all of them stop at once on
// the permanent error types of errtype (bad input, 403, a missing object),
// which then reach the failure policy.

// retry is a doubling backoff from initial to at most max, for attempts
// tries, that never retries a permanent error.
func retry(initial, max time.Duration, attempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{InitialInterval: initial, BackoffCoefficient: 2, MaximumInterval: max,
		MaximumAttempts: attempts, NonRetryableErrorTypes: errtype.NonRetryable()}
}

// tenantCtx: Graph and the portal API throttle; the adapter already honours
// Retry-After within one attempt, so Temporal's retries cover longer outages.
func tenantCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 3 * time.Minute,
		WaitForCancellation: true,
		RetryPolicy:         retry(time.Second, 2*time.Minute, 10),
	})
}

// membersCtx: a wave of 100,000 members is write-bound (3,000 writes per
// 2.5 min per app and tenant, 20 members a write): about 7 minutes of
// Graph's budget, more when other apps spend it. The activity heartbeats
// its offset (every 5 s), so a dead worker is noticed in 20 s and the next
// attempt, on another worker, resumes there: under 30 s in all (measured
// by internal/topology).
func membersCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    20 * time.Second,
		WaitForCancellation: true,
		RetryPolicy:         retry(2*time.Second, 2*time.Minute, 10),
	})
}

// coverageCtx: the registration report is page-bound (about 5 requests per
// 10 s per tenant in Graph), so it is given time and heartbeats.
func coverageCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    5 * time.Minute,
		RetryPolicy:         retry(5*time.Second, 5*time.Minute, 8),
	})
}

// directoryCtx: a DC can fail over or restart; retry for several minutes.
func directoryCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		WaitForCancellation: true,
		RetryPolicy:         retry(2*time.Second, time.Minute, 8),
	})
}

// shortCtx: validation and publishing to NATS.
func shortCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         retry(time.Second, 30*time.Second, 20),
	})
}

// compensationCtx: undo must try hard but end: after the attempts the change
// is reported as needing a human rather than retried forever.
func compensationCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         retry(2*time.Second, time.Minute, 6),
	})
}

// rosterUndoCtx: removing a wave's members is one write per member (Graph
// has no bulk remove), so a big wave's compensation takes as long as its
// write budget says; it heartbeats and resumes like membersCtx, and ends
// as "needs a human" after its attempts.
func rosterUndoCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 12 * time.Hour,
		HeartbeatTimeout:    20 * time.Second,
		RetryPolicy:         retry(2*time.Second, time.Minute, 10),
	})
}

// agentCtx routes to the writeback agent on the sync server. ScheduleToStart
// (the plan's agentTimeout) bounds how long the step waits for an agent to
// pick the task up, so a missing agent shows as a timeout naming the queue,
// never a silent hang. The agent raises its own permanent errors
// (writeback.ErrType*) as non-retryable.
func agentCtx(ctx workflow.Context, queue string, wait time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              queue,
		ScheduleToStartTimeout: wait,
		WaitForCancellation:    true,
		StartToCloseTimeout:    10 * time.Minute,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy:            retry(2*time.Second, time.Minute, 5),
	})
}
