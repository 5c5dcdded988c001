package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/writeback"
)

// ChangeWriteback is the writeback step's change on the sync server: the
// agent's queue and whether writeback was on before (no queue: an operator
// enabled it).
const ChangeWriteback ChangeKind = "writeback-agent"

// writeback enables password writeback on the sync server (through the
// agent on its own task queue, or by an operator when no agent is deployed)
// and then the tenant's writeback and unlock toggles. The agent's
// activities and adapter are internal/writeback; the tenant half runs
// through activities/settings.go.
func (r *rollout) writeback(ctx workflow.Context, o op) (StepStatus, string, error) {
	wb := r.plan.Spec.Writeback
	var details []string
	if wb.AgentQueue == "" {
		// Recorded first like every change: a rollback must ask a person to
		// undo what a person did.
		if !r.recorded(o, ChangeWriteback) {
			r.record(Change{Stage: o.stage, Step: o.step, Kind: ChangeWriteback})
		}
		if err := r.task(ctx, o, wizardInstructions(wb.Mode)); err != nil {
			return "", "", err
		}
		details = append(details, "sync server: enabled by the operator (not verifiable without an agent: deploy one to verify)")
	} else {
		d, err := r.agentWriteback(ctx, o)
		if err != nil {
			return "", "", err
		}
		details = append(details, d)
	}
	status, detail, err := r.settings(ctx, o, activities.WritebackFields, entra.ScopeSelected)
	if err != nil {
		return "", "", err
	}
	details = append(details, "tenant: "+detail)
	if status == StepUnchanged && strings.Contains(details[0], "already") {
		return StepUnchanged, strings.Join(details, "; "), nil
	}
	return StepVerified, strings.Join(details, "; "), nil
}

func (r *rollout) agentWriteback(ctx workflow.Context, o op) (string, error) {
	wb := r.plan.Spec.Writeback
	s := r.step(o.stage, o.step)
	s.Status, s.Detail = StepWaiting, "waiting for agent on queue "+wb.AgentQueue
	actx := agentCtx(ctx, wb.AgentQueue, wb.AgentTimeout.D())
	// The connector account is the worker's directory profile's, which
	// the directory preflight resolved (a plan only names the profile).
	expected := ""
	if r.plan.Spec.Directory != nil && r.st.Preflight != nil {
		expected = r.st.Preflight.Connector
	}
	mode := agentMode(wb.Mode)
	var cur writeback.StatusResult
	if err := workflow.ExecuteActivity(actx, writeback.ActivityStatusWriteback, writeback.StatusInput{Mode: mode}).Get(ctx, &cur); err != nil {
		return "", agentError(wb.AgentQueue, wb.AgentTimeout.D(), err)
	}
	s.Status, s.Detail = StepRunning, "agent on "+wb.AgentQueue+" answered"
	detail := "sync server: writeback already enabled"
	if !cur.Enabled {
		r.record(Change{Stage: o.stage, Step: o.step, Kind: ChangeWriteback, Queue: wb.AgentQueue, PreviousEnabled: false})
		var res writeback.EnableResult
		in := writeback.EnableInput{Mode: mode, ExpectedConnectorAccount: expected}
		if err := workflow.ExecuteActivity(actx, writeback.ActivityEnableWriteback, in).Get(ctx, &res); err != nil {
			return "", agentError(wb.AgentQueue, wb.AgentTimeout.D(), err)
		}
		detail = fmt.Sprintf("sync server: writeback enabled on connector %s", res.Connector)
	}
	var v writeback.VerifyResult
	vin := writeback.VerifyInput{Mode: mode, Since: r.st.StartedAt, Wait: 2 * time.Minute}
	if err := workflow.ExecuteActivity(actx, writeback.ActivityVerifyWriteback, vin).Get(ctx, &v); err != nil {
		return "", agentError(wb.AgentQueue, wb.AgentTimeout.D(), err)
	}
	if !v.Healthy {
		return "", temporal.NewNonRetryableApplicationError("writeback is not healthy on the sync server: "+strings.Join(v.Problems, "; "), string(errtype.WritebackUnhealthy), nil)
	}
	return detail + fmt.Sprintf(" (healthy: %d PasswordResetService event(s))", len(v.Events)), nil
}

// undoWriteback sets the sync server back through the agent; what an
// operator enabled, only an operator can undo.
func (r *rollout) undoWriteback(ctx workflow.Context, c Change) (CompensationResult, error) {
	if c.Queue == "" {
		return CompensationResult{Status: CompensationNeedsHuman, Detail: "turn password writeback off again on the sync server " +
			"(Entra Connect wizard > Customize synchronization options > Optional features: untick Password writeback; Cloud Sync: " +
			"Set-AADCloudSyncPasswordWritebackConfiguration -Enable $false), if it was off before this rollout"}, nil
	}
	wb := r.plan.Spec.Writeback
	actx := agentCtx(compensationCtx(ctx), c.Queue, wb.AgentTimeout.D())
	in := writeback.RestoreInput{Mode: agentMode(wb.Mode), PreviousEnabled: c.PreviousEnabled}
	if err := workflow.ExecuteActivity(actx, writeback.ActivityRestoreWriteback, in).Get(ctx, nil); err != nil {
		return CompensationResult{}, err
	}
	return CompensationResult{Status: CompensationDone, Detail: fmt.Sprintf("writeback set back to enabled=%t on %s", c.PreviousEnabled, c.Queue)}, nil
}

func agentError(queue string, wait time.Duration, err error) error {
	var to *temporal.TimeoutError
	if errors.As(err, &to) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"no ssprflow agent picked up the writeback step on task queue %q within %s: start `ssprflow-worker --agent writeback --task-queue %s` on the sync server",
			queue, wait, queue), string(errtype.AgentMissing), err)
	}
	return err
}

// wizardInstructions are the seed walkthrough's clicks for an operator.
func wizardInstructions(mode plan.WritebackMode) []string {
	if mode == plan.WritebackCloudSync {
		return []string{
			"On the Cloud Sync agent host, in PowerShell as administrator: Import-Module 'C:\\Program Files\\Microsoft Azure AD Connect Provisioning Agent\\Microsoft.CloudSync.Powershell.dll'",
			"Set-AADCloudSyncPasswordWritebackConfiguration -Enable $true -Credential (Get-Credential)",
			"Answer approve on this task when the command succeeded",
		}
	}
	return []string{
		"Sign in to the Entra Connect server and start the Entra Connect (Azure AD Connect) configuration wizard",
		"Welcome: Configure > Additional tasks: Customize synchronization options > Next",
		"Connect to Azure AD: enter a Global Administrator (or Hybrid Identity Administrator) credential > Next",
		"Connect directories and Domain/OU filtering: Next",
		"Optional features: tick Password writeback > Next",
		"Directory extensions: Next > Ready to configure: Configure, wait for it to finish > Exit",
		"Answer approve on this task when the wizard finished",
	}
}

// agentMode maps the plan's writeback mode to the agent's.
func agentMode(m plan.WritebackMode) writeback.Mode {
	if m == plan.WritebackCloudSync {
		return writeback.ModeCloudSync
	}
	return writeback.ModeEntraConnect
}
