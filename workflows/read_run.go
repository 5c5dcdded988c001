package workflows

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// Run is a closed run of a rollout as Temporal holds it.
type Run struct {
	RunID string
	Input RolloutInput
	State State
}

// ReadRun reads a closed run of the rollout id (runID "" is the latest):
// the input it started with (its first event, decoded with dc) and its
// final state (its result, or the details of its failure).
func ReadRun(ctx context.Context, c client.Client, dc converter.DataConverter, id, runID string) (Run, error) {
	desc, err := c.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return Run{}, fmt.Errorf("no rollout %s: %w", id, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	run := Run{RunID: info.GetExecution().GetRunId()}
	if info.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return run, fmt.Errorf("rollout %s is still running: let it finish, or cancel it (its changes are undone then)", id)
	}
	it := c.GetWorkflowHistory(ctx, id, run.RunID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	first, err := it.Next()
	if err != nil {
		return run, fmt.Errorf("read the history of %s: %w", id, err)
	}
	in := first.GetWorkflowExecutionStartedEventAttributes().GetInput()
	if in == nil || len(in.GetPayloads()) == 0 {
		return run, fmt.Errorf("%s run %s has no input: not a rollout", id, run.RunID)
	}
	if err := dc.FromPayload(in.GetPayloads()[0], &run.Input); err != nil {
		return run, fmt.Errorf("decode the input of %s run %s: %w", id, run.RunID, err)
	}
	gerr := c.GetWorkflow(ctx, id, run.RunID).Get(ctx, &run.State)
	if gerr != nil {
		var appErr *temporal.ApplicationError
		if !errors.As(gerr, &appErr) || !appErr.HasDetails() || appErr.Details(&run.State) != nil {
			return run, fmt.Errorf("%s run %s ended without a rollout state (terminated or timed out on Temporal?): %w", id, run.RunID, gerr)
		}
	}
	return run, nil
}
