// Package plan defines ssprflow's rollout plan: the YAML document an operator
// writes (apiVersion ssprflow/v1, kind Rollout), its defaults, and its
// validation. Every setting of the portal walkthrough has a field here; an
// omitted field takes the portal's default.
//
// A Rollout never holds a secret, nor names one: it does not choose what the
// worker reads or where it connects. Endpoints, bind identities and their
// secret references live in the worker's configuration, which a plan can
// only name (spec.directory.profile). That is why a Rollout may travel in
// workflow history as it is.
package plan

import "time"

// APIVersion and Kind identify a plan document.
const (
	APIVersion = "ssprflow/v1"
	Kind       = "Rollout"
)

// Rollout is a whole plan document.
type Rollout struct {
	APIVersion string   `yaml:"apiVersion" json:"apiVersion"`
	Kind       string   `yaml:"kind" json:"kind"`
	Metadata   Metadata `yaml:"metadata" json:"metadata"`
	Spec       Spec     `yaml:"spec" json:"spec"`
}

// Metadata names the rollout and the tenant it targets.
type Metadata struct {
	// Name is the plan's name; with Tenant it forms the workflow id, so one
	// rollout per tenant plan runs at a time.
	Name string `yaml:"name" json:"name"`
	// Tenant is the Entra tenant id (GUID) or its initial domain.
	Tenant string `yaml:"tenant" json:"tenant"`
	// Description is free text for people.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// Spec is everything the rollout configures.
type Spec struct {
	SSPRPolicy      SSPRPolicy    `yaml:"ssprPolicy" json:"ssprPolicy"`
	MethodsRequired int           `yaml:"methodsRequired" json:"methodsRequired"`
	Methods         []Method      `yaml:"methods" json:"methods"`
	Registration    Registration  `yaml:"registration" json:"registration"`
	Notifications   Notifications `yaml:"notifications" json:"notifications"`
	Helpdesk        Helpdesk      `yaml:"helpdesk" json:"helpdesk"`
	Directory       *Directory    `yaml:"directory,omitempty" json:"directory,omitempty"`
	Writeback       Writeback     `yaml:"writeback" json:"writeback"`
	Stages          []Stage       `yaml:"stages" json:"stages"`
	// DefaultGate applies to every stage that has no gate of its own (not to
	// the final stage, which has nothing after it).
	DefaultGate *Gate      `yaml:"defaultGate,omitempty" json:"defaultGate,omitempty"`
	Approvers   []Approver `yaml:"approvers" json:"approvers"`
	// FailurePolicy says what happens when a step fails or a gate rejects.
	FailurePolicy FailurePolicy `yaml:"failurePolicy" json:"failurePolicy"`
	// MissingMembers says what a stage does with member UPNs that do not
	// exist in the tenant: stop (default) or continue (reported either way).
	MissingMembers MissingMembersPolicy `yaml:"missingMembers" json:"missingMembers"`
	// Exclude keeps people out of every stage's selection.
	Exclude Exclude `yaml:"exclude,omitempty" json:"exclude,omitempty"`
}

// PolicyMode says how settings the Graph API lacks are changed.
type PolicyMode string

// Policy modes.
const (
	// PolicyModeManual turns each portal-only change into a human task with
	// exact instructions, then re-reads and verifies. The default: the portal
	// API is undocumented.
	PolicyModeManual PolicyMode = "manual"
	// PolicyModePortalAPI writes the portal's PasswordReset API directly.
	PolicyModePortalAPI PolicyMode = "portal-api"
)

// SSPRPolicy selects how portal-only settings are written.
type SSPRPolicy struct {
	// Mode is manual (default) or portal-api.
	Mode PolicyMode `yaml:"mode" json:"mode"`
}

// Method is an SSPR authentication method as the portal names it.
type Method string

// The portal's SSPR methods.
const (
	MethodEmail                 Method = "email"
	MethodMobilePhone           Method = "mobilePhone"
	MethodOfficePhone           Method = "officePhone"
	MethodMobileAppCode         Method = "mobileAppCode"
	MethodMobileAppNotification Method = "mobileAppNotification"
	MethodSecurityQuestions     Method = "securityQuestions"
)

// AllMethods lists the valid methods in the portal's order.
var AllMethods = []Method{MethodEmail, MethodMobilePhone, MethodOfficePhone,
	MethodMobileAppCode, MethodMobileAppNotification, MethodSecurityQuestions}

// Registration is the portal's Registration blade.
type Registration struct {
	// RequireOnSignIn asks users to register when they sign in (default true).
	RequireOnSignIn *bool `yaml:"requireOnSignIn,omitempty" json:"requireOnSignIn,omitempty"`
	// ReconfirmDays is the re-confirmation cadence, 0-730 (default 180, 0 = never).
	ReconfirmDays *int `yaml:"reconfirmDays,omitempty" json:"reconfirmDays,omitempty"`
}

// Notifications is the portal's Notifications blade.
type Notifications struct {
	// NotifyUsersOnReset emails users when their password is reset (default true).
	NotifyUsersOnReset *bool `yaml:"notifyUsersOnReset,omitempty" json:"notifyUsersOnReset,omitempty"`
	// NotifyAdminsOnAdminReset emails all admins when another admin resets (default false).
	NotifyAdminsOnAdminReset *bool `yaml:"notifyAdminsOnAdminReset,omitempty" json:"notifyAdminsOnAdminReset,omitempty"`
}

// Helpdesk is the portal's Customization blade. Set at most one of Email and URL;
// both empty leaves the helpdesk link uncustomized.
type Helpdesk struct {
	// Email is a plain address such as helpdesk@contoso.com.
	Email string `yaml:"email,omitempty" json:"email,omitempty"`
	// URL must be https://; an http:// link is refused.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
}

// Directory is the on-premises AD DS the connector account writes back to.
// The plan names one of the worker's directory profiles and makes the
// rollout's choices; how to reach and bind to the DC, and the connector
// account, are the profile's (config.Directory).
type Directory struct {
	// Profile names a directory profile of the worker's configuration
	// (directories: - profile: NAME).
	Profile string `yaml:"profile" json:"profile"`
	// Scope lists DNs to grant on; empty means the domain root.
	Scope []string `yaml:"scope,omitempty" json:"scope,omitempty"`
	// AdminSDHolder also grants on CN=AdminSDHolder (not recommended: lets
	// writeback reset administrators' passwords).
	AdminSDHolder bool `yaml:"adminSDHolder,omitempty" json:"adminSDHolder,omitempty"`
	// ChangePassword and UnexpirePassword add the optional rights.
	ChangePassword   bool `yaml:"changePassword,omitempty" json:"changePassword,omitempty"`
	UnexpirePassword bool `yaml:"unexpirePassword,omitempty" json:"unexpirePassword,omitempty"`
	// RequireMinPasswordAgeZero fails verification when any effective minimum
	// password age is not 0 (default true).
	RequireMinPasswordAgeZero *bool `yaml:"requireMinPasswordAgeZero,omitempty" json:"requireMinPasswordAgeZero,omitempty"`
}

// WritebackMode names the sync engine that writes passwords back.
type WritebackMode string

// Writeback modes.
const (
	WritebackConnect   WritebackMode = "connect"
	WritebackCloudSync WritebackMode = "cloudsync"
	WritebackNone      WritebackMode = "none"
)

// Writeback enables password writeback on the sync server and the tenant.
type Writeback struct {
	Mode WritebackMode `yaml:"mode" json:"mode"`
	// AgentQueue is the task queue of the ssprflow agent on the sync server.
	// Empty means manual: the operator runs the wizard step when asked.
	AgentQueue string `yaml:"agentQueue,omitempty" json:"agentQueue,omitempty"`
	// AgentTimeout bounds how long the step waits for the agent (default 1h).
	AgentTimeout Duration `yaml:"agentTimeout,omitempty" json:"agentTimeout,omitempty"`
	// UnlockAccounts enables "Allow users to unlock accounts" (default true).
	UnlockAccounts *bool `yaml:"unlockAccounts,omitempty" json:"unlockAccounts,omitempty"`
}

// Enabled reports whether the rollout turns password writeback on: a mode
// other than none (an omitted mode is none until WithDefaults picks one).
func (w Writeback) Enabled() bool { return w.Mode != "" && w.Mode != WritebackNone }

// GroupRef names the SSPR "Selected" group.
type GroupRef struct {
	Name string `yaml:"name" json:"name"`
	// Create makes the group when it does not exist (default true).
	Create *bool `yaml:"create,omitempty" json:"create,omitempty"`
}

// Stage is one step of the widening: the pilot (with the SSPR group), waves
// that add members to that group, and a final "all".
type Stage struct {
	Name string `yaml:"name" json:"name"`
	// Group is set on the first stage only: the SSPR "Selected" group.
	Group *GroupRef `yaml:"group,omitempty" json:"group,omitempty"`
	// Members are UPNs added to the SSPR group in this stage.
	Members []string `yaml:"members,omitempty" json:"members,omitempty"`
	// Select chooses members the way admins do: existing groups, a file, a
	// Graph $filter, or a share of the users not yet added.
	Select *Selection `yaml:"select,omitempty" json:"select,omitempty"`
	// MemberList is filled by the worker when it accepts the plan (never
	// written in YAML): the stage's inline members or selected file, stored
	// once by content digest so no member list travels in history.
	MemberList *ListRef `yaml:"-" json:"memberList,omitempty"`
	// All switches SSPR to "All"; only the final stage, which must be named "all".
	All bool `yaml:"all,omitempty" json:"all,omitempty"`
	// Gate must pass before the next stage starts.
	Gate *Gate `yaml:"gate,omitempty" json:"gate,omitempty"`
}

// Selection is how a stage chooses its members; exactly one field is set.
type Selection struct {
	// Groups are display names of existing security groups; their
	// transitive user members are selected.
	Groups []string `yaml:"groups,omitempty" json:"groups,omitempty"`
	// File is a path relative to the plan file: one UPN or object id per
	// line, or a CSV with a userPrincipalName or id column.
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	// Filter is a Graph $filter on /users, e.g. "department eq 'Sales'".
	Filter string `yaml:"filter,omitempty" json:"filter,omitempty"`
	// Percent (0-100] of the in-scope users not yet in the SSPR group,
	// chosen deterministically.
	Percent float64 `yaml:"percent,omitempty" json:"percent,omitempty"`
}

// The ways a Selection chooses, as Kind names them.
const (
	SelectGroups  = "groups"
	SelectFile    = "file"
	SelectFilter  = "filter"
	SelectPercent = "percent"
)

// Kind names which way the selection chooses: SelectGroups, SelectFile,
// SelectFilter or SelectPercent (the first set, in that order; a valid
// selection sets exactly one), or "" when none is set.
func (s Selection) Kind() string {
	switch {
	case len(s.Groups) > 0:
		return SelectGroups
	case s.File != "":
		return SelectFile
	case s.Filter != "":
		return SelectFilter
	case s.Percent != 0:
		return SelectPercent
	}
	return ""
}

// ListRef is a member list stored by content digest (internal/blob).
type ListRef struct {
	// Digest is "sha256:<64 hex>" of the stored bytes.
	Digest string `json:"digest"`
	// Count is the number of entries.
	Count int `json:"count"`
	// Source is "members" or the file name, for messages.
	Source string `json:"source,omitempty"`
}

// Selects reports whether the stage adds members (inline, selected or
// stored).
func (s Stage) Selects() bool {
	return len(s.Members) > 0 || s.MemberList != nil || (s.Select != nil && s.Select.Kind() != "")
}

// Exclude keeps people out of every stage's selection.
type Exclude struct {
	// Groups are display names of security groups whose transitive members
	// are never added (break-glass accounts).
	Groups []string `yaml:"groups,omitempty" json:"groups,omitempty"`
	// Admins excludes holders of directory roles (default false: SSPR for
	// administrators is governed by its own policy).
	Admins *bool `yaml:"admins,omitempty" json:"admins,omitempty"`
	// Guests excludes B2B guests (default true: SSPR does not apply to them).
	Guests *bool `yaml:"guests,omitempty" json:"guests,omitempty"`
	// Disabled excludes disabled accounts (default true).
	Disabled *bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
}

// ExcludeAdmins reports whether directory role holders are left out
// (DefaultExcludeAdmins unless set).
func (e Exclude) ExcludeAdmins() bool { return boolOr(e.Admins, DefaultExcludeAdmins) }

// ExcludeGuests reports whether guests are left out (DefaultExcludeGuests
// unless set).
func (e Exclude) ExcludeGuests() bool { return boolOr(e.Guests, DefaultExcludeGuests) }

// ExcludeDisabled reports whether disabled accounts are left out
// (DefaultExcludeDisabled unless set).
func (e Exclude) ExcludeDisabled() bool { return boolOr(e.Disabled, DefaultExcludeDisabled) }

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// Gate is what must hold before the rollout moves past a stage.
type Gate struct {
	// Soak is how long to wait after the stage before evaluating metrics.
	Soak Duration `yaml:"soak,omitempty" json:"soak,omitempty"`
	// MinRegistrationPercent is the minimum share (0-100) of users in scope
	// registered for SSPR.
	MinRegistrationPercent float64 `yaml:"minRegistrationPercent,omitempty" json:"minRegistrationPercent,omitempty"`
	// MetricTimeout bounds how long the gate waits for the metric to be met
	// (default: Timeout).
	MetricTimeout Duration `yaml:"metricTimeout,omitempty" json:"metricTimeout,omitempty"`
	// Approvals is the quorum of distinct approvers (0 = no approval).
	Approvals int `yaml:"approvals,omitempty" json:"approvals,omitempty"`
	// Timeout bounds how long the gate waits for approvals (default 72h;
	// zero means the default); on expiry the failure policy applies.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// Approver is a person allowed to decide gates. ID is the NATS user they
// authenticate as.
type Approver struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
}

// FailurePolicy says what the rollout does on failure or rejection.
type FailurePolicy string

// Failure policies.
const (
	// RollbackStage undoes the failed stage only and stops.
	RollbackStage FailurePolicy = "rollback-stage"
	// RollbackAll undoes everything the rollout changed (default).
	RollbackAll FailurePolicy = "rollback-all"
	// Pause waits for an operator's retry, rollback or abort.
	Pause FailurePolicy = "pause"
)

// MissingMembersPolicy says what to do with member UPNs not in the tenant.
type MissingMembersPolicy string

// Missing-members policies.
const (
	MissingMembersStop     MissingMembersPolicy = "stop"
	MissingMembersContinue MissingMembersPolicy = "continue"
)

// Duration is a time.Duration written as "90s", "30m", "72h" or "7d". It
// encodes to YAML and JSON as such a string (see String), so a Rollout
// round-trips through Temporal's JSON payloads exactly.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
