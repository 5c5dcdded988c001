package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/writeback"
)

// After a rollout succeeds (or on `ssprflow watch start`), a Temporal
// Schedule runs DriftCheck on an interval: a read-only comparison of the
// tenant and the domain with the plan. Drift becomes an event (and so a
// notification) with the differences; `ssprflow watch status` lists the
// last checks. Nothing is changed here: remediation is a rollout of its
// own, behind an approval (RolloutInput.Remediate).

// DriftCheckWorkflowName is the drift check's registered name.
const DriftCheckWorkflowName = "DriftCheck"

// StateClean and StateDrift are a drift check's SsprflowState.
const (
	StateClean Status = "clean"
	StateDrift Status = "drift"
)

// WatchStage is a drift check's SsprflowStage.
const WatchStage = "watch"

// WatchScheduleID is the id of the tenant plan's watch schedule.
func WatchScheduleID(tenantToken, planName string) string {
	return "sspr-watch/" + tenantToken + "/" + planName
}

// WatchTarget is the plan as the watch keeps it: stages without members
// (the check needs the SSPR group's name and the final scope), so the
// schedule's action is the same size for ten users or a million.
func WatchTarget(p plan.Rollout) plan.Rollout {
	p.Spec.Stages = append([]plan.Stage(nil), p.Spec.Stages...)
	for i := range p.Spec.Stages {
		s := &p.Spec.Stages[i]
		s.Members, s.Select, s.MemberList = nil, nil, nil
	}
	return p
}

// DriftResult is one drift check.
type DriftResult struct {
	Tenant    string    `json:"tenant"`
	Plan      string    `json:"plan"`
	CheckedAt time.Time `json:"checkedAt"`
	activities.DriftReport
	// Writeback is what the sync server's agent said ("" without an agent).
	Writeback string `json:"writeback,omitempty"`
}

// Drifted reports whether the check found anything.
func (r DriftResult) Drifted() bool { return len(r.Items) > 0 }

// DriftCheck compares the tenant and the domain with the plan.
func DriftCheck(ctx workflow.Context, in activities.DriftInput) (DriftResult, error) {
	p := in.Plan
	res := DriftResult{Tenant: p.Metadata.Tenant, Plan: p.Metadata.Name, CheckedAt: workflow.Now(ctx)}
	_ = workflow.UpsertTypedSearchAttributes(ctx, searchUpdates(p.Metadata.Tenant, p.Metadata.Name, WatchStage, StatusRunning)...)
	dctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         retry(5*time.Second, 2*time.Minute, 5),
	})
	info := workflow.GetInfo(ctx)
	emit := func(kind approval.EventKind, outcome, detail string) {
		ev := activities.EventInput{
			ID:     info.WorkflowExecution.ID + "-" + info.WorkflowExecution.RunID,
			Tenant: p.TenantToken(), Rollout: p.Metadata.Name, WorkflowID: info.WorkflowExecution.ID,
			Kind: kind, Stage: WatchStage, Outcome: outcome, Detail: detail, At: res.CheckedAt,
		}
		if err := workflow.ExecuteActivity(shortCtx(ctx), activityEmit, ev).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("drift event not published", "error", err)
		}
	}
	if err := workflow.ExecuteActivity(dctx, a.CheckDrift, in).Get(ctx, &res.DriftReport); err != nil {
		// A watch that cannot look is said as loudly as drift: an expired
		// credential must not leave the tenant unwatched for weeks.
		_ = workflow.UpsertTypedSearchAttributes(ctx, searchUpdates(p.Metadata.Tenant, p.Metadata.Name, WatchStage, StatusFailed)...)
		emit(approval.KindDriftFailed, string(StatusFailed), "the drift check could not read the tenant or the domain: "+errText(err))
		return res, err
	}
	if wb := p.Spec.Writeback; wb.Enabled() && wb.AgentQueue != "" {
		res.Writeback, res.Items = agentHealth(ctx, wb, res.CheckedAt, res.Items)
	}
	state, kind, detail := StateClean, approval.KindDriftClear, fmt.Sprintf("no drift: %d setting(s), %d scope(s) as planned", res.Settings, res.Scopes)
	if res.Drifted() {
		parts := make([]string, 0, len(res.Items))
		for _, it := range res.Items {
			parts = append(parts, it.Detail)
		}
		state, kind, detail = StateDrift, approval.KindDriftDetected, fmt.Sprintf("%d drift(s): %s", len(res.Items), strings.Join(parts, "; "))
	}
	if len(res.Unreadable) > 0 {
		detail += fmt.Sprintf(" (%d managed setting(s) could not be read)", len(res.Unreadable))
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, searchUpdates(p.Metadata.Tenant, p.Metadata.Name, WatchStage, state)...)
	emit(kind, string(state), detail)
	return res, nil
}

// agentHealth asks the sync server's agent for writeback's state and its
// recent health events; an agent that does not answer is drift too.
func agentHealth(ctx workflow.Context, wb plan.Writeback, now time.Time, items []activities.DriftItem) (string, []activities.DriftItem) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              wb.AgentQueue,
		ScheduleToStartTimeout: 2 * time.Minute,
		StartToCloseTimeout:    5 * time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 2},
	})
	mode := agentMode(wb.Mode)
	var st writeback.StatusResult
	if err := workflow.ExecuteActivity(actx, writeback.ActivityStatusWriteback, writeback.StatusInput{Mode: mode}).Get(ctx, &st); err != nil {
		return "", append(items, activities.DriftItem{Kind: activities.DriftWriteback, Field: wb.AgentQueue, Want: "answering", Found: "no answer",
			Detail: fmt.Sprintf("the writeback agent on queue %s did not answer: %s", wb.AgentQueue, errText(err))})
	}
	if !st.Enabled && !st.Unknown {
		return "writeback disabled", append(items, activities.DriftItem{Kind: activities.DriftWriteback, Field: wb.AgentQueue, Want: "enabled", Found: "disabled",
			Detail: "password writeback is disabled on the sync server"})
	}
	var v writeback.VerifyResult
	in := writeback.VerifyInput{Mode: mode, Since: now.Add(-24 * time.Hour)}
	if err := workflow.ExecuteActivity(actx, writeback.ActivityVerifyWriteback, in).Get(ctx, &v); err != nil {
		return "", append(items, activities.DriftItem{Kind: activities.DriftWriteback, Field: wb.AgentQueue, Want: "healthy", Found: "unknown",
			Detail: "could not read writeback's health events: " + errText(err)})
	}
	if !v.Healthy {
		return "unhealthy", append(items, activities.DriftItem{Kind: activities.DriftWriteback, Field: wb.AgentQueue, Want: "healthy", Found: "unhealthy",
			Detail: "writeback is not healthy on the sync server: " + strings.Join(v.Problems, "; ")})
	}
	return fmt.Sprintf("healthy (%d event(s) in 24 h)", len(v.Events)), items
}

// afterEnd leaves a succeeded rollout watched for drift, and stops the
// watch of a reverted one. A watch that cannot be set up is logged, never
// the rollout's failure.
func (r *rollout) afterEnd(ctx workflow.Context, status Status) {
	if status != StatusSucceeded && status != StatusReverted {
		return
	}
	if workflow.GetVersion(ctx, "drift-watch", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	in := activities.DriftWatchInput{Plan: r.plan}
	var err error
	if status == StatusReverted {
		err = workflow.ExecuteActivity(shortCtx(ctx), a.StopWatch, in).Get(ctx, nil)
	} else {
		err = workflow.ExecuteActivity(shortCtx(ctx), a.EnsureWatch, in).Get(ctx, nil)
	}
	if err != nil {
		r.logger.Warn("drift watch not updated", "error", err)
	}
}
