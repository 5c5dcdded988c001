package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/attest"
)

// RolloutWorkflowName is the rollout workflow's registered name.
const RolloutWorkflowName = "RolloutWorkflow"

// A revert and a remediation are runs of the rollout's own workflow id,
// under workflow types of their own: a worker from before them has no such
// type and fails the task until a worker that knows it picks it up, instead
// of running the plan's whole rollout.
const (
	RevertWorkflowName    = "RevertRollout"
	RemediateWorkflowName = "RemediateRollout"
)

// workflowType is the workflow type a run with this input must have.
func workflowType(in RolloutInput) string {
	switch {
	case in.RevertRunID != "":
		return RevertWorkflowName
	case in.Remediate:
		return RemediateWorkflowName
	}
	return RolloutWorkflowName
}

// Purposes of the signatures the workflow checks (see attest).
const (
	DecisionPurpose = "ssprflow/decision/v1"
	StartPurpose    = "ssprflow/start/v1"
)

// Trust is what the worker tells the rollout workflow about the claims it
// receives. Anyone with access to Temporal can send an update or start a
// workflow; only the worker's approval bridge and start service hold the
// keys that sign decisions and starts, so only what came through them
// (authenticated NATS users, mapped to people) counts.
//
// The workflow consults Trust only in update validators (never replayed)
// and inside a side effect (recorded once), so rotating keys never changes
// how a recorded history replays.
type Trust interface {
	// VerifyDecision checks the signature of d for the rollout workflowID.
	VerifyDecision(workflowID string, d approval.Decision) error
	// VerifyStart checks the start service's signature of in.
	VerifyStart(workflowID string, in RolloutInput) error
	// AllowSelfApproval is the worker's policy: may the person who started a
	// rollout decide its gates? A plan cannot change it.
	AllowSelfApproval() bool
	// AllowUnverifiedStarts is the worker's policy for rollouts started
	// directly on Temporal: their starter is typed in, so the self-approval
	// rule cannot hold, and by default they accept no decision.
	AllowUnverifiedStarts() bool
}

// KeyringTrust is the worker's Trust: signatures under Keys, and the
// worker's self-approval policy.
type KeyringTrust struct {
	Keys            *attest.Keyring
	SelfApproval    bool
	UnverifiedStart bool
}

// VerifyDecision implements Trust.
func (t KeyringTrust) VerifyDecision(workflowID string, d approval.Decision) error {
	return t.Keys.Verify(DecisionPurpose, d.Signature, DecisionClaim(workflowID, d)...)
}

// VerifyStart implements Trust.
func (t KeyringTrust) VerifyStart(workflowID string, in RolloutInput) error {
	return t.Keys.Verify(StartPurpose, in.Attestation, StartClaim(workflowID, in)...)
}

// AllowSelfApproval implements Trust.
func (t KeyringTrust) AllowSelfApproval() bool { return t.SelfApproval }

// AllowUnverifiedStarts implements Trust.
func (t KeyringTrust) AllowUnverifiedStarts() bool { return t.UnverifiedStart }

// MaxStartSkew bounds how far a start's signing time may lie from the
// workflow's start time, so a start attestation copied out of an old
// history cannot make a later run look authenticated.
const MaxStartSkew = 5 * time.Minute

// SignDecision returns d signed for workflowID.
func SignDecision(k *attest.Keyring, workflowID string, d approval.Decision) approval.Decision {
	d.Signature = k.Sign(DecisionPurpose, DecisionClaim(workflowID, d)...)
	return d
}

// SignStart returns in signed for workflowID, now.
func SignStart(k *attest.Keyring, workflowID string, in RolloutInput) RolloutInput {
	in.AttestedAt = time.Now().UTC()
	in.Attestation = k.Sign(StartPurpose, StartClaim(workflowID, in)...)
	return in
}

// DecisionClaim lists what a decision's signature covers: the rollout, the
// request it answers, who decided through which identity, what and when.
func DecisionClaim(workflowID string, d approval.Decision) []string {
	return []string{workflowID, d.ID, d.Gate, d.RequestID, d.Approver, d.Via, d.Verdict, d.Comment, d.At.UTC().Format(time.RFC3339Nano)}
}

// StartClaim lists what a start's signature covers: the rollout, who
// started it through which identity, and a digest of the exact plan.
func StartClaim(workflowID string, in RolloutInput) []string {
	b, _ := json.Marshal(in.Plan) // a plan always marshals: plain data
	sum := sha256.Sum256(b)
	claim := []string{workflowID, in.StartedBy, in.StartedVia, hex.EncodeToString(sum[:]), in.AttestedAt.UTC().Format(time.RFC3339Nano)}
	// What the run does, when it is not the plan's own rollout; appended
	// only then, so earlier starts verify as they were signed.
	if in.RevertRunID != "" {
		claim = append(claim, "revert:"+in.RevertRunID)
	}
	if in.Remediate {
		claim = append(claim, "remediate")
	}
	return claim
}

// refuseAll is the Trust of a workflow registered without one (replay
// tests, tools): it believes no decision and no start.
type refuseAll struct{}

var errNoTrust = errors.New("this worker was started without signing keys")

func (refuseAll) VerifyDecision(string, approval.Decision) error { return errNoTrust }
func (refuseAll) VerifyStart(string, RolloutInput) error         { return errNoTrust }
func (refuseAll) AllowSelfApproval() bool                        { return false }
func (refuseAll) AllowUnverifiedStarts() bool                    { return false }

// Register registers the rollout workflow on w under RolloutWorkflowName,
// believing what t attests.
func Register(w sdkworker.WorkflowRegistry, t Trust) {
	if t == nil {
		t = refuseAll{}
	}
	run := func(ctx workflow.Context, in RolloutInput) (State, error) { return runRollout(ctx, in, t) }
	for _, name := range []string{RolloutWorkflowName, RevertWorkflowName, RemediateWorkflowName} {
		w.RegisterWorkflowWithOptions(run, workflow.RegisterOptions{Name: name})
	}
	w.RegisterWorkflowWithOptions(TenantLock, workflow.RegisterOptions{Name: TenantLockWorkflowName})
	w.RegisterWorkflowWithOptions(DriftCheck, workflow.RegisterOptions{Name: DriftCheckWorkflowName})
}

// errResumeForged: RolloutInput.Resume carries a rollout's whole state,
// decisions included; only the workflow's own continue-as-new may pass it.
var errResumeForged = fmt.Errorf("a rollout resumes only from its own continue-as-new: a start (or cron or retry run) with resume state is refused")

// errCron: a rollout is one change, never a schedule (and a cron run would
// carry its first run's input again).
var errCron = fmt.Errorf("a rollout cannot run on a cron schedule: start it once")
