package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// UpsertWatch creates the tenant plan's watch schedule, or points the one
// that exists at this plan and interval: one watch per tenant plan,
// however often it is asked for. The first check runs at once.
func UpsertWatch(ctx context.Context, c client.Client, p plan.Rollout, every time.Duration, queue string) (string, error) {
	if queue == "" {
		queue = TaskQueue
	}
	tenant, name := p.TenantToken(), p.Metadata.Name
	id := WatchScheduleID(tenant, name)
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	action := &client.ScheduleWorkflowAction{
		ID:                    "sspr-drift/" + tenant + "/" + name,
		Workflow:              DriftCheckWorkflowName,
		Args:                  []any{activities.DriftInput{Plan: WatchTarget(p)}},
		TaskQueue:             queue,
		WorkflowRunTimeout:    2 * time.Hour,
		TypedSearchAttributes: SearchAttributes(p.Metadata.Tenant, name, WatchStage, StatusRunning),
	}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: id, Spec: spec, Action: action,
		// A check still running when the next is due is not doubled.
		Overlap:            enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		TriggerImmediately: true,
		Note:               "ssprflow drift watch of " + p.Metadata.Tenant + "/" + name,
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		err = c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				s := in.Description.Schedule
				s.Spec, s.Action = &spec, action
				return &client.ScheduleUpdate{Schedule: &s}, nil
			},
		})
		if err == nil {
			// As a new schedule does: the first check with this plan now.
			err = c.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP})
		}
	}
	if err != nil {
		return id, fmt.Errorf("watch schedule %s: %w", id, err)
	}
	return id, nil
}

// StopWatch deletes the tenant plan's watch schedule; a watch that does
// not exist is not an error.
func StopWatch(ctx context.Context, c client.Client, tenantToken, planName string) error {
	err := c.ScheduleClient().GetHandle(ctx, WatchScheduleID(tenantToken, planName)).Delete(ctx)
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("stop watch: %w", err)
	}
	return nil
}
