package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
)

// Every context that can change something sets WaitForCancellation: on a
// cancel, the workflow waits until the attempt in flight has really ended
// before it starts undoing, so compensation never races a change that is
// still landing.
//
// Retry policies are chosen per kind of call. Permanent errors (bad input,
// 403, a missing object, a policy conflict) are non-retryable everywhere and
// reach the failure policy at once.

// tenantCtx: Graph and the portal API throttle; the adapter already honours
// Retry-After within one attempt, so Temporal's retries cover longer outages.
func tenantCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 3 * time.Minute,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 2 * time.Minute,
			MaximumAttempts: 10, NonRetryableErrorTypes: activities.NonRetryable,
		},
	})
}

// membersCtx: adding thousands of members is long; it heartbeats.
func membersCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 2 * time.Minute,
			MaximumAttempts: 10, NonRetryableErrorTypes: activities.NonRetryable,
		},
	})
}

// coverageCtx: the registration report is page-bound (about 5 requests per
// 10 s per tenant in Graph), so it is given time and heartbeats.
func coverageCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			MaximumAttempts: 8, NonRetryableErrorTypes: activities.NonRetryable,
		},
	})
}

// directoryCtx: a DC can fail over or restart; retry for several minutes.
func directoryCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: 8, NonRetryableErrorTypes: activities.NonRetryable,
		},
	})
}

// shortCtx: validation and publishing to NATS.
func shortCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			MaximumAttempts: 20, NonRetryableErrorTypes: activities.NonRetryable,
		},
	})
}

// compensationCtx: undo must try hard but end: after the attempts the change
// is reported as needing a human rather than retried forever.
func compensationCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: 6, NonRetryableErrorTypes: activities.NonRetryable,
		},
	})
}

// agentCtx routes to the writeback agent on the sync server. ScheduleToStart
// bounds how long the step waits for an agent to pick the task up, so a
// missing agent shows as a timeout naming the queue, never a silent hang.
func agentCtx(ctx workflow.Context, queue string, wait time.Duration) workflow.Context {
	if wait <= 0 {
		wait = time.Hour
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              queue,
		ScheduleToStartTimeout: wait,
		WaitForCancellation:    true,
		StartToCloseTimeout:    10 * time.Minute,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: 5, NonRetryableErrorTypes: append([]string{"ConnectorMismatch", "ModuleMissing", "Permanent"}, activities.NonRetryable...),
		},
	})
}
