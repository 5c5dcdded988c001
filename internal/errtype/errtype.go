// Package errtype is the one list of error types ssprflow's rollout fails
// with: the Temporal application error types that callers branch on and
// retry policies are derived from. It imports nothing, so adapters,
// activities and the workflow can all name their failures from it.
//
// The writeback agent's types (internal/writeback, ErrType*) are its own:
// the agent raises them non-retryable, in its own worker.
package errtype

// Type is the type of an application error.
type Type string

// Types the activities raise, all permanent: retrying cannot fix them.
const (
	// Permanent: an adapter says retrying cannot help (403, 404, 400, a bad
	// credential).
	Permanent Type = "Permanent"
	// TenantUnavailable: the worker has no usable configuration for the
	// plan's tenant.
	TenantUnavailable Type = "TenantUnavailable"
	// NoDirectory: a directory step ran for a plan without a directory.
	NoDirectory Type = "NoDirectory"
	// DirectoryUnavailable: the worker's directory profile is missing or
	// unreadable.
	DirectoryUnavailable Type = "DirectoryUnavailable"
	// GroupMissing: the SSPR group does not exist and the plan forbids
	// creating it.
	GroupMissing Type = "GroupMissing"
	// MembersMissing: members named by the plan do not exist.
	MembersMissing Type = "MembersMissing"
	// PasswordAge: a minimum password age is not 0 and the plan requires 0.
	PasswordAge Type = "PasswordAge"
	// Licence: the registration report is not readable (licence or
	// permission).
	Licence Type = "Licence"
	// TenantBusy: another rollout holds the tenant lock and the start did
	// not ask to queue.
	TenantBusy Type = "TenantBusy"
)

// Types the workflow fails with itself; no retry policy needs them.
const (
	// PolicyConflict: a setting did not read back as planned.
	PolicyConflict Type = "PolicyConflict"
	// WritebackUnhealthy: the agent enabled writeback but it is not healthy.
	WritebackUnhealthy Type = "WritebackUnhealthy"
	// AgentMissing: no writeback agent picked the step up in time.
	AgentMissing Type = "AgentMissing"
	// CronRefused: a rollout was started on a cron schedule.
	CronRefused Type = "CronRefused"
	// ResumeForged: a start carried resume state.
	ResumeForged Type = "ResumeForged"
	// RolloutFailed: the rollout did not succeed; the details hold its state.
	RolloutFailed Type = "RolloutFailed"
)

// raisedByActivities are the types retry policies must not retry.
var raisedByActivities = []Type{Permanent, TenantUnavailable, NoDirectory, DirectoryUnavailable,
	GroupMissing, MembersMissing, PasswordAge, Licence, TenantBusy}

// NonRetryable lists the types the activities raise, for a retry policy's
// NonRetryableErrorTypes.
func NonRetryable() []string {
	out := make([]string, len(raisedByActivities))
	for i, t := range raisedByActivities {
		out[i] = string(t)
	}
	return out
}
