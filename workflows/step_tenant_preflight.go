package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/errtype"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
)

// tenantPreflight reads the tenant (changing nothing) and keeps in
// State.Preflight what the whole rollout would change there.
func (r *rollout) tenantPreflight(ctx workflow.Context, _ op) (StepStatus, string, error) {
	// The lock comes first: what preflight reads (and records as the
	// "before" of every change) holds only while no other rollout writes.
	locked := false
	if workflow.GetVersion(ctx, "tenant-lock", workflow.DefaultVersion, 1) == 1 {
		if err := r.lockTenant(ctx); err != nil {
			return "", "", err
		}
		locked = true
	}
	var res activities.TenantPreflightResult
	// coverageCtx: preflight reads the tenant-wide registration report.
	if err := workflow.ExecuteActivity(coverageCtx(ctx), a.TenantPreflight, activities.TenantPreflightInput{Plan: r.plan}).Get(ctx, &res); err != nil {
		return "", "", err
	}
	pf := r.preflight()
	pf.Changes = settingChanges(res.Changes)
	pf.GroupExists = res.GroupExists
	pf.MigrationState = res.MigrationState
	pf.CurrentScope = res.Snapshot.Settings[entra.FieldScope]
	pf.Licensed = res.Licensed
	pf.Notes = append(pf.Notes, fmt.Sprintf("tenant: %d users, %d registered for SSPR before the rollout", res.TenantUsers, res.Registered))
	if locked {
		pf.Notes = append(pf.Notes, "tenant lock held (tenant id "+r.st.TenantID+"): no other rollout changes this tenant until this one ends")
	}
	pf.Warnings = append(pf.Warnings, res.Warnings...)
	if res.Snapshot.Settings[entra.FieldScope] == string(entra.ScopeAll) && !r.plan.EndsWithAll() {
		pf.Warnings = append(pf.Warnings, "SSPR is already enabled for All users; this plan would narrow it to a group")
	}
	return StepVerified, fmt.Sprintf("%d field(s) would change; group exists: %t", len(res.Changes), res.GroupExists), nil
}

// preflight is what the preflight steps found, created on first use.
func (r *rollout) preflight() *Preflight {
	if r.st.Preflight == nil {
		r.st.Preflight = &Preflight{}
	}
	return r.st.Preflight
}

// lockTenant takes the tenant lock (see tenant_lock.go): granted goes on,
// refused fails the preflight naming the rollout that holds the tenant,
// queued waits for the lock's grant.
func (r *rollout) lockTenant(ctx workflow.Context) error {
	req := activities.LockRequest{WorkflowID: r.st.WorkflowID, RunID: r.lockRunID(ctx), Plan: r.plan.Metadata.Name,
		StartedBy: r.st.StartedBy, StartedAt: r.st.StartedAt, Queue: r.queueForTenant}
	var res activities.LockTenantResult
	if err := workflow.ExecuteActivity(tenantCtx(ctx), a.LockTenant, activities.LockTenantInput{Plan: r.plan, Request: req}).Get(ctx, &res); err != nil {
		return err
	}
	r.st.TenantID = res.TenantID
	h := res.Reply.Holder
	name := res.TenantName
	if name == "" {
		name = r.plan.Metadata.Tenant
	}
	held := fmt.Sprintf("tenant %s (id %s) is being changed by rollout %s (plan %s, started by %s at %s)",
		name, res.TenantID, h.WorkflowID, h.Plan, h.StartedBy, h.StartedAt.UTC().Format(time.RFC3339))
	switch res.Reply.Verdict {
	case activities.LockGranted:
		r.st.TenantLock = activities.LockGranted
		return nil
	case activities.LockQueued:
		r.st.TenantLock = fmt.Sprintf("%s (position %d): %s", activities.LockQueued, res.Reply.Position, held)
		r.st.Status = StatusWaiting
		r.upsert(ctx)
		r.emit(ctx, approval.KindStepProgress, PreflightStage, string(StepTenantPreflight), "queued", held)
		workflow.GetSignalChannel(ctx, SignalTenantGranted).Receive(ctx, nil)
		if ctx.Err() != nil {
			return temporal.NewCanceledError()
		}
		r.st.TenantLock = activities.LockGranted
		r.st.Status = StatusRunning
		r.upsert(ctx)
		return nil
	default:
		r.st.TenantLock = activities.LockRefused + ": " + held + ": wait for it to end, or start again with --queue to run after it"
		return temporal.NewNonRetryableApplicationError(strings.TrimPrefix(r.st.TenantLock, activities.LockRefused+": "),
			string(errtype.TenantBusy), nil)
	}
}

// releaseTenant hands the tenant lock back as the rollout ends, so the
// next rollout need not wait for the lock's watch to notice.
func (r *rollout) releaseTenant(ctx workflow.Context) {
	if r.st.TenantLock != activities.LockGranted || r.st.TenantID == "" {
		return
	}
	req := activities.LockRequest{WorkflowID: r.st.WorkflowID, RunID: r.lockRunID(ctx)}
	// Waited for: once it returns the release is in the lock's history, and
	// an acquire after it counts it first. A lock that has ended already
	// (its watch saw a cancel first) is no harm.
	_ = workflow.SignalExternalWorkflow(ctx, TenantLockID(r.st.TenantID), "", SignalTenantRelease, req).Get(ctx, nil)
}

// lockRunID names this rollout to the lock: its first run's id (the
// rollout continues as new; the test environment has no first run id).
func (r *rollout) lockRunID(ctx workflow.Context) string {
	if r.st.RunID != "" {
		return r.st.RunID
	}
	return workflow.GetInfo(ctx).WorkflowExecution.RunID
}
