package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// Metrics go through the workflow's metrics handler, which is replay-safe:
// a replayed step is not counted twice.

func countStep(ctx workflow.Context, step StepName, status StepStatus) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"step": string(step), "status": string(status)}).
		Counter("ssprflow_steps_total").Inc(1)
}

func countCompensation(ctx workflow.Context, kind ChangeKind, status CompensationStatus) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"kind": string(kind), "status": string(status)}).
		Counter("ssprflow_compensations_total").Inc(1)
}

func timeGateWait(ctx workflow.Context, d time.Duration) {
	workflow.GetMetricsHandler(ctx).Timer("ssprflow_gate_wait").Record(d)
}
