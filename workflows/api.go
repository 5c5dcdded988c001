// Package workflows holds ssprflow's Temporal workflows. Code here is
// deterministic and free of I/O: everything that touches a tenant, a domain
// controller, NATS or a sync server runs in an activity.
package workflows

import (
	"strings"
	"time"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/attest"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// TaskQueue is the task queue of the main ssprflow worker.
const TaskQueue = "ssprflow"

// Names of the rollout workflow's handlers.
const (
	// QueryState returns the full State.
	QueryState = "state"
	// UpdateDecide takes an approver's approval.Decision for an open gate or
	// a manual task. An update (not a signal) because its validator rejects
	// invalid decisions before they reach history, and the caller — the
	// NATS bridge, then the approver's CLI — gets the verdict synchronously.
	UpdateDecide = "decide"
	// UpdateOperate takes an operator's OperatorAction for a paused rollout.
	UpdateOperate = "operate"
)

// RolloutInput starts a rollout. It holds no secret: the plan carries only
// references to credentials.
type RolloutInput struct {
	Plan plan.Rollout `json:"plan"`
	// StartedBy is who started the rollout (for the self-approval rule).
	StartedBy string `json:"startedBy"`
	// StartedVia is the authenticated identity the start came through, such
	// as "nats:ops1"; StartedBy is then the person it belongs to.
	StartedVia string `json:"startedVia,omitempty"`
	// Attestation is the start service's signature of the start (see
	// StartClaim). Without a valid one — a direct start on Temporal, which
	// should be limited to administrators — StartedBy is shown as typed in.
	Attestation attest.Signature `json:"attestation,omitzero"`
	// AttestedAt is when the start service signed the start; it must be
	// within MaxStartSkew of the workflow's start.
	AttestedAt time.Time `json:"attestedAt,omitzero"`
	// Resume carries the state across continue-as-new; nil on a fresh start.
	Resume *State `json:"resume,omitempty"`
	// QueueForTenant waits for the tenant lock when another rollout holds
	// it, instead of failing at preflight.
	QueueForTenant bool `json:"queueForTenant,omitempty"`
	// RevertRunID makes this run a revert of that finished run of the same
	// workflow id (see revert.go); Remediate makes it a remediation.
	RevertRunID string `json:"revertRunId,omitempty"`
	Remediate   bool   `json:"remediate,omitempty"`
}

// Status is the overall state of a rollout.
type Status string

// Rollout statuses.
const (
	StatusRunning    Status = "running"
	StatusWaiting    Status = "waiting"   // at a gate or a manual task
	StatusPaused     Status = "paused"    // failure policy "pause": waiting for an operator
	StatusSucceeded  Status = "succeeded" // every stage done
	StatusRolledBack Status = "rolled-back"
	StatusFailed     Status = "failed" // stopped; see steps for what needs a human
	StatusCancelled  Status = "cancelled"
	// StatusTerminated: the workflow was terminated (or timed out) on
	// Temporal, outside ssprflow: nothing was undone. Set by readers from
	// Temporal's own execution status; the workflow never reports it.
	StatusTerminated Status = "terminated"
)

// Ended reports whether a rollout in status s has finished for good.
func (s Status) Ended() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusRolledBack, StatusCancelled, StatusTerminated, StatusReverted:
		return true
	}
	return false
}

// StepStatus is the state of one step.
type StepStatus string

// Step statuses. The final report says, step by step, one of these.
const (
	StepPending     StepStatus = "pending"
	StepRunning     StepStatus = "running"
	StepWaiting     StepStatus = "waiting"
	StepApplied     StepStatus = "applied"
	StepVerified    StepStatus = "verified"
	StepUnchanged   StepStatus = "unchanged" // already as the plan wants
	StepSkipped     StepStatus = "skipped"
	StepFailed      StepStatus = "failed"
	StepCompensated StepStatus = "compensated"
	StepConflict    StepStatus = "conflict"
	StepNeedsHuman  StepStatus = "needs-human"
)

// Step is one step of the rollout as people see it.
type Step struct {
	Stage     string     `json:"stage"`
	Name      StepName   `json:"name"`
	Status    StepStatus `json:"status"`
	Attempt   int32      `json:"attempt,omitempty"`
	StartedAt time.Time  `json:"startedAt,omitempty"`
	EndedAt   time.Time  `json:"endedAt,omitempty"`
	Detail    string     `json:"detail,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// GateStatus is the state of a gate.
type GateStatus string

// Gate statuses.
const (
	GatePending  GateStatus = "pending"
	GateSoaking  GateStatus = "soaking"
	GateMetrics  GateStatus = "waiting-metrics"
	GateApproval GateStatus = "waiting-approval"
	GatePassed   GateStatus = "passed"
	GateRejected GateStatus = "rejected"
	GateExpired  GateStatus = "expired"
	GateFailed   GateStatus = "failed"
)

// Closed reports whether a gate with this status has been decided.
func (s GateStatus) Closed() bool {
	switch s {
	case GatePassed, GateRejected, GateExpired, GateFailed:
		return true
	}
	return false
}

// Gate is a gate's state, or a manual task's (Task true). A gate is keyed
// by its stage, a task by its stage and step (see gateOf and taskOf); Name,
// which decisions name, is unique because a task's name holds a "_" and a
// stage's cannot.
type Gate struct {
	Name  string `json:"name"`
	Stage string `json:"stage"`
	Task  bool   `json:"task,omitempty"`
	// Step is the step a task belongs to (empty for a gate, and for tasks
	// of runs from before tasks were keyed by step).
	Step      StepName   `json:"step,omitempty"`
	Status    GateStatus `json:"status"`
	Quorum    int        `json:"quorum,omitempty"`
	Decisions []Decision `json:"decisions,omitempty"`
	// Coverage is the last registration coverage read (percent).
	Coverage      float64   `json:"coverage,omitempty"`
	MinCoverage   float64   `json:"minCoverage,omitempty"`
	OpenedAt      time.Time `json:"openedAt,omitempty"`
	SoakUntil     time.Time `json:"soakUntil,omitempty"`
	ExpiresAt     time.Time `json:"expiresAt,omitempty"`
	ClosedAt      time.Time `json:"closedAt,omitempty"`
	Instructions  []string  `json:"instructions,omitempty"`
	RequestID     string    `json:"requestId,omitempty"`
	RequestedOnce bool      `json:"requestedOnce,omitempty"`
	// Warned is set once the gate said it is about to expire.
	Warned  bool `json:"warned,omitempty"`
	Attempt int  `json:"attempt,omitempty"`
}

// Decision is a recorded approval decision.
type Decision struct {
	ID       string `json:"id"`
	Approver string `json:"approver"`
	// Via is the authenticated identity the person decided through.
	Via     string    `json:"via,omitempty"`
	Verdict Verdict   `json:"verdict"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// ChangeKind says what a change record undoes. Each kind is declared in
// the step file that records it, and has one undo (undoers in program.go).
type ChangeKind string

// Change is what one step changed, recorded BEFORE the change is made so a
// crash in between still leaves enough to undo it. Small and secret-free.
type Change struct {
	Seq   int        `json:"seq"`
	Stage string     `json:"stage"`
	Step  StepName   `json:"step"`
	Kind  ChangeKind `json:"kind"`
	// Tenant settings: the field changes (From is the value to restore).
	Settings []SettingChange `json:"settings,omitempty"`
	// Group: the group id and name.
	GroupID   string `json:"groupId,omitempty"`
	GroupName string `json:"groupName,omitempty"`
	// Members: UPNs that were not members before (rollouts started before
	// rosters); Roster: the stored roster whose "+" entries the step adds.
	Members []string      `json:"members,omitempty"`
	Roster  *plan.ListRef `json:"roster,omitempty"`
	// AD: the DN and the exact ACEs (hex) ssprflow adds there.
	DN   string   `json:"dn,omitempty"`
	ACEs []string `json:"aces,omitempty"`
	// Writeback agent: the queue and the state before.
	Queue           string `json:"queue,omitempty"`
	PreviousEnabled bool   `json:"previousEnabled,omitempty"`
	// Outcome of compensation, when it ran.
	Compensation *CompensationResult `json:"compensation,omitempty"`
}

// SettingChange is one tenant field change (a copy of entra.Change, kept
// here so history's shape does not depend on the adapter package).
type SettingChange struct {
	Field  string `json:"field"`
	From   string `json:"from"`
	To     string `json:"to"`
	Portal bool   `json:"portal,omitempty"`
}

// CompensationStatus is how undoing one change went.
type CompensationStatus string

// Compensation outcomes.
const (
	CompensationDone       CompensationStatus = "compensated"
	CompensationConflict   CompensationStatus = "conflict"
	CompensationNeedsHuman CompensationStatus = "needs-human"
)

// CompensationResult reports undoing one change.
type CompensationResult struct {
	Status CompensationStatus `json:"status"`
	Detail string             `json:"detail,omitempty"`
}

// OperatorAction is an operator's decision for a paused rollout.
type OperatorAction struct {
	Action Action `json:"action"`
	By     string `json:"by,omitempty"`
}

// Action is what an operator chose for a paused rollout.
type Action string

// Operator actions.
const (
	ActionRetry    Action = "retry"
	ActionRollback Action = "rollback"
	ActionAbort    Action = "abort"
)

// Actions lists the operator actions, for usage text and validation.
var Actions = []Action{ActionRetry, ActionRollback, ActionAbort}

// Verdict is an approver's answer to a gate or a manual task.
type Verdict string

// Verdicts, as approval.Decision carries them.
const (
	VerdictApprove Verdict = approval.VerdictApprove
	VerdictReject  Verdict = approval.VerdictReject
)

// State is everything a rollout knows: returned by the state query, carried
// across continue-as-new, and returned as the final result.
type State struct {
	WorkflowID string `json:"workflowId"`
	// RunID is the first run's id: with WorkflowID it names this rollout
	// among reruns of the same plan (event and request ids use it).
	RunID     string `json:"runId"`
	Tenant    string `json:"tenant"`
	Plan      string `json:"plan"`
	StartedBy string `json:"startedBy"`
	// StartedVia: see RolloutInput.
	StartedVia string `json:"startedVia,omitempty"`
	// Approvers are the people who may decide gates (the plan's list).
	Approvers []string `json:"approvers,omitempty"`
	// StartedByVerified is true when the start service attested StartedBy.
	StartedByVerified bool   `json:"startedByVerified,omitempty"`
	Status            Status `json:"status"`
	Stage             string `json:"stage"`
	// Next is the index of the next operation of the rollout's program; it
	// is what lets a continued-as-new run resume where the last one stopped.
	Next      int        `json:"next"`
	Steps     []Step     `json:"steps"`
	Gates     []Gate     `json:"gates,omitempty"`
	Changes   []Change   `json:"changes,omitempty"`
	LastError string     `json:"lastError,omitempty"`
	GroupID   string     `json:"groupId,omitempty"`
	GroupName string     `json:"groupName,omitempty"`
	StartedAt time.Time  `json:"startedAt"`
	EndedAt   time.Time  `json:"endedAt,omitempty"`
	Coverage  []Coverage `json:"coverage,omitempty"`
	Preflight *Preflight `json:"preflight,omitempty"`
	Seq       int        `json:"seq"`
	Runs      int        `json:"runs"`
	// Seen holds approver/decision-id keys already applied, so a duplicate is harmless
	// even after continue-as-new reset Temporal's own update de-duplication.
	Seen []string `json:"seen,omitempty"`
	// Pending is set while paused: what failed.
	Pending string `json:"pending,omitempty"`
	// TenantID is the tenant's id as Graph returned it at preflight: the
	// key of the tenant lock.
	TenantID string `json:"tenantId,omitempty"`
	// TenantLock is the lock's verdict (granted, queued, refused) and,
	// when another rollout held it, which.
	TenantLock string `json:"tenantLock,omitempty"`
	// RevertOf is the run a revert undoes; ToRevert are that run's changes,
	// which become this run's Changes (and are undone) only once the revert
	// is approved: a revert cancelled or refused before undoes nothing.
	// Remediation marks a remediation.
	RevertOf    string   `json:"revertOf,omitempty"`
	ToRevert    []Change `json:"toRevert,omitempty"`
	Remediation bool     `json:"remediation,omitempty"`
	// Summary says in a sentence how a revert ended.
	Summary string `json:"summary,omitempty"`
}

// StepStatus is the status of step name in stage, or "" when the rollout's
// program has no such step.
func (s State) StepStatus(stage string, name StepName) StepStatus {
	for _, st := range s.Steps {
		if st.Stage == stage && st.Name == name {
			return st.Status
		}
	}
	return ""
}

// Coverage is a registration coverage reading.
type Coverage struct {
	Stage      string    `json:"stage"`
	Scope      string    `json:"scope"` // group name or "tenant"
	Total      int       `json:"total"`
	Registered int       `json:"registered"`
	Capable    int       `json:"capable"`
	Percent    float64   `json:"percent"`
	At         time.Time `json:"at"`
}

// Preflight is what the read-only preflight found.
type Preflight struct {
	Changes        []SettingChange `json:"changes"`
	GroupExists    bool            `json:"groupExists"`
	MigrationState string          `json:"migrationState,omitempty"`
	CurrentScope   string          `json:"currentScope,omitempty"`
	Licensed       bool            `json:"licensed"`
	Connector      string          `json:"connector,omitempty"`
	ConnectorSID   string          `json:"connectorSid,omitempty"`
	MissingACEs    int             `json:"missingAces"`
	Protected      int             `json:"protectedObjects"`
	AdminCount     int             `json:"adminCountAccounts"`
	Warnings       []string        `json:"warnings,omitempty"`
	Notes          []string        `json:"notes,omitempty"`
}

// DecisionFrom converts an approval decision into the recorded form.
func DecisionFrom(d approval.Decision) Decision {
	return Decision{ID: d.ID, Approver: d.Approver, Via: d.Via, Verdict: Verdict(d.Verdict), Comment: d.Comment, At: d.At}
}

// WorkflowID is the id of the rollout of a plan in a tenant: one rollout per
// tenant plan at a time. The tenant is its subject token (plan.TenantToken),
// so the id, the NATS subjects and the CLI all name a rollout the same way.
func WorkflowID(tenantToken, rollout string) string {
	return "sspr/" + tenantToken + "/" + rollout
}

// ParseWorkflowID splits a rollout's workflow id, or accepts the short form
// "tenant/rollout".
func ParseWorkflowID(id string) (tenantToken, rollout string, ok bool) {
	id = strings.TrimPrefix(id, "sspr/")
	t, r, ok := strings.Cut(id, "/")
	if !ok || t == "" || r == "" || strings.Contains(r, "/") {
		return "", "", false
	}
	return t, r, true
}
