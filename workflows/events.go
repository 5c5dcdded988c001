package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
)

// activityEmit is the registered name of activities.Activities.Emit. Local
// activities are called by name so the worker's own instance (with its NATS
// connection) runs them.
const activityEmit = "Emit"

// emit publishes an event through a local activity; a lost event is logged,
// never fatal. step is a step's name, "gate", or a gate's name.
func (r *rollout) emit(ctx workflow.Context, kind approval.EventKind, stage, step, outcome, detail string) {
	r.st.Seq++
	ev := activities.EventInput{
		ID:         fmt.Sprintf("%s-%s-%d", r.st.WorkflowID, r.st.RunID, r.st.Seq),
		Tenant:     r.plan.TenantToken(),
		Rollout:    r.plan.Metadata.Name,
		WorkflowID: r.st.WorkflowID,
		Kind:       kind, Stage: stage, Step: step, Outcome: outcome, Detail: detail,
		At: workflow.Now(ctx),
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3, InitialInterval: 200 * time.Millisecond},
	})
	if err := workflow.ExecuteLocalActivity(lctx, activityEmit, ev).Get(ctx, nil); err != nil {
		r.logger.Warn("event not published", "kind", kind, "error", err)
	}
}

// The kinds of the events that report an outcome. Each kind is the
// outcome's family and value ("step.applied"); the fallback keeps that rule
// for an outcome without a constant yet.
var (
	stepKinds = map[StepStatus]approval.EventKind{
		StepApplied: approval.KindStepApplied, StepVerified: approval.KindStepVerified, StepUnchanged: approval.KindStepUnchanged,
	}
	compensationKinds = map[CompensationStatus]approval.EventKind{
		CompensationDone: approval.KindStepCompensated, CompensationConflict: approval.KindStepConflict,
		CompensationNeedsHuman: approval.KindStepNeedsHuman,
	}
	rolloutKinds = map[Status]approval.EventKind{
		StatusSucceeded: approval.KindRolloutSucceeded, StatusFailed: approval.KindRolloutFailed,
		StatusRolledBack: approval.KindRolloutRolledBack, StatusCancelled: approval.KindRolloutCancelled,
	}
)

func stepKind(s StepStatus) approval.EventKind {
	if k, ok := stepKinds[s]; ok {
		return k
	}
	return approval.EventKind("step." + string(s))
}

func compensationKind(s CompensationStatus) approval.EventKind {
	if k, ok := compensationKinds[s]; ok {
		return k
	}
	return approval.EventKind("step." + string(s))
}

func rolloutKind(s Status) approval.EventKind {
	if k, ok := rolloutKinds[s]; ok {
		return k
	}
	return approval.EventKind("rollout." + string(s))
}
