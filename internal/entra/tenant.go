// Package entra is ssprflow's view of an Entra ID tenant: the SSPR
// configuration as one snapshot, changes to it, the SSPR group, and
// registration coverage. Adapters (Microsoft Graph through msgraph-sdk-go, and
// the portal's PasswordReset API) implement Tenant; nothing outside this
// package sees an SDK type.
package entra

import "context"

// Scope is who SSPR is enabled for.
type Scope string

// SSPR scopes (the portal's enablementType 0, 1, 2).
const (
	ScopeNone     Scope = "none"
	ScopeSelected Scope = "selected"
	ScopeAll      Scope = "all"
)

// Field names a single SSPR setting. Changes, diffs and restores work per field.
type Field string

// The settings ssprflow manages. Which surface holds each, under which key,
// and where an admin finds it are in the settings table (fields.go).
const (
	FieldScope           Field = "scope"
	FieldGroup           Field = "group" // the selected group's object id
	FieldMethodsRequired Field = "methodsRequired"
	// FieldMethodPrefix starts the per-method SSPR flags, one field per plan
	// method, e.g. "method.email" (MethodField).
	FieldMethodPrefix        Field = "method."
	FieldRegistrationOnLogin Field = "registration.requireOnSignIn"
	FieldReconfirmDays       Field = "registration.reconfirmDays"
	FieldNotifyUsers         Field = "notifications.users"
	FieldNotifyAdmins        Field = "notifications.admins"
	FieldHelpdeskCustomized  Field = "helpdesk.customized"
	FieldHelpdeskContact     Field = "helpdesk.contact"
	FieldWritebackEnabled    Field = "writeback.enabled"
	FieldUnlockEnabled       Field = "writeback.unlock"
	// FieldPolicyPrefix starts the Graph authentication methods policy
	// fields, e.g. "policy.email" = "enabled" (PolicyField).
	FieldPolicyPrefix Field = "policy."
)

// Settings is the SSPR configuration as field -> canonical string value
// ("true"/"false", decimal integers, scope names, group ids). A flat map keeps
// diff, apply and restore generic and small enough for workflow history.
type Settings map[Field]string

// Snapshot is the tenant's SSPR configuration at one moment.
type Snapshot struct {
	Settings Settings `json:"settings"`
	// GroupName is the display name of the SSPR group, for people.
	GroupName string `json:"groupName,omitempty"`
	// MigrationState is the authentication methods policy migration state
	// (preMigration, migrationInProgress, migrationComplete).
	MigrationState string `json:"migrationState,omitempty"`
	// Unreadable names the fields that could not be read, and why (no
	// portal credential, a refused sign-in). Their value in Settings is
	// not the tenant's: a diff must say "could not read", not "change".
	Unreadable map[Field]string `json:"unreadable,omitempty"`
}

// Change sets one field from one value to another.
type Change struct {
	Field Field  `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
	// Portal is true when the field is only writable through the portal API
	// (or by a human in manual mode).
	Portal bool `json:"portal,omitempty"`
}

// Group is an Entra security group.
type Group struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// AddResult reports what adding members did.
type AddResult struct {
	// Added are user ids this call made members.
	Added []string `json:"added,omitempty"`
	// AlreadyMember are user ids that were members before.
	AlreadyMember []string `json:"alreadyMember,omitempty"`
	// NotFound are UPNs with no user in the tenant.
	NotFound []string `json:"notFound,omitempty"`
}

// Coverage is SSPR registration in a population (a group or the tenant).
type Coverage struct {
	Total      int `json:"total"`
	Enabled    int `json:"enabled"`
	Registered int `json:"registered"`
	Capable    int `json:"capable"`
}

// Percent is the share of Total registered for SSPR, 0-100.
func (c Coverage) Percent() float64 {
	if c.Total == 0 {
		return 0
	}
	return 100 * float64(c.Registered) / float64(c.Total)
}

// Tenant is an Entra tenant as the rollout sees it. Implementations are safe
// to call again after a failure: every method is idempotent.
type Tenant interface {
	// Snapshot reads the whole SSPR configuration.
	Snapshot(ctx context.Context) (Snapshot, error)
	// Apply writes changes. Setting a field to the value it already has is a
	// no-op. Portal fields return ErrManual when the tenant is in manual mode.
	Apply(ctx context.Context, changes []Change) error
	// FindGroup returns the security group with that display name, or
	// ErrNotFound.
	FindGroup(ctx context.Context, name string) (Group, error)
	// CreateGroup creates a security group.
	CreateGroup(ctx context.Context, name string) (Group, error)
	// DeleteGroup deletes a group (compensation of CreateGroup).
	DeleteGroup(ctx context.Context, id string) error
	// AddMembers adds users (by UPN) to a group in batches.
	AddMembers(ctx context.Context, groupID string, upns []string) (AddResult, error)
	// Members lists a group's members' UPNs (lower case). The rollout reads
	// it before adding members, so it can record exactly whom it adds.
	Members(ctx context.Context, groupID string) ([]string, error)
	// RemoveMembers removes users from a group; each entry is a user id or a
	// UPN (resolved to its id). Users not in the group, or not in the
	// tenant, are ignored.
	RemoveMembers(ctx context.Context, groupID string, users []string) error
	// Coverage reads registration coverage of a group's members, or of the
	// whole tenant when groupID is empty.
	Coverage(ctx context.Context, groupID string) (Coverage, error)

	// Organisation-scale member selection and bulk membership writes. The
	// adapter batches and paces these by Graph's documented budgets; a
	// caller never needs more than one page or one batch in memory.

	// CountUsers returns the number of users in the tenant, for choosing
	// between per-user lookups and one paged scan by request cost.
	CountUsers(ctx context.Context) (int, error)
	// LookupUsers finds users by UPN or object id (JSON batches of 20): fn
	// is called once per key, in order, with found false for a key no user
	// has.
	LookupUsers(ctx context.Context, keys []string, fn func(key string, u User, found bool) error) error
	// EachUser pages through the tenant's users, or those a Graph $filter
	// selects ("" for all), calling fn for each.
	EachUser(ctx context.Context, filter string, fn func(User) error) error
	// EachGroupMember pages through a group's user members; transitive
	// includes the users of nested groups.
	EachGroupMember(ctx context.Context, groupID string, transitive bool, fn func(User) error) error
	// EachAdmin calls fn with the object id of every user holding an
	// activated directory role.
	EachAdmin(ctx context.Context, fn func(userID string) error) error
	// BindMembers makes at most MaxBind users (object ids) members of a
	// group: one members@odata.bind PATCH, or one add each when some
	// already are members (which then count as Already, not as an error).
	BindMembers(ctx context.Context, groupID string, ids []string) (BindResult, error)
	// UnbindMembers removes at most MaxBind users (object ids) from a group
	// in one JSON batch; users who are not members are not an error.
	UnbindMembers(ctx context.Context, groupID string, ids []string) (removed int, err error)
}

// MaxBind is Graph's limit of members@odata.bind entries per request, and
// of requests per JSON batch.
const MaxBind = 20

// User is a directory user as member selection sees it.
type User struct {
	ID       string `json:"id"`
	UPN      string `json:"upn"`
	Guest    bool   `json:"guest,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
}

// BindResult reports one bulk add: object ids added, already members, and
// not in the tenant (deleted since they were selected).
type BindResult struct {
	Added    []string `json:"added,omitempty"`
	Already  []string `json:"already,omitempty"`
	NotFound []string `json:"notFound,omitempty"`
}

// Organization is the tenant itself: its id (the one key for "this tenant",
// whichever domain a plan names it by), its name and domains, and whether
// it holds the licence SSPR for synced users needs.
type Organization struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName,omitempty"`
	Domains     []string `json:"domains,omitempty"`
	// Licences are the enabled service plans that SSPR with writeback
	// needs (AAD_PREMIUM, AAD_PREMIUM_P2), by name; empty means none.
	Licences []string `json:"licences,omitempty"`
	// LicenceError says why licences could not be read ("" when they were).
	LicenceError string `json:"licenceError,omitempty"`
}

// Organizer reads the tenant's organization (GET /organization and
// /subscribedSkus). It is separate from Tenant so that fakes need not
// implement it; the tenant lock and the preflight use it when present.
type Organizer interface {
	Organization(ctx context.Context) (Organization, error)
}

// PermissionReader says which Graph permissions the worker's credential
// holds (the token's roles or scopes), for the preflight's check.
type PermissionReader interface {
	GrantedPermissions(ctx context.Context) ([]string, error)
}
