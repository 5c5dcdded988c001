package entra

import (
	"sort"
	"strconv"
	"strings"

	"github.com/ssprflow/ssprflow/internal/plan"
)

// Graph authentication method configuration ids used by SSPR, as the policy
// names them in @odata.type (the service returns them capitalised).
const (
	PolicyEmail                  = "email"
	PolicySMS                    = "sms"
	PolicyVoice                  = "voice"
	PolicyMicrosoftAuthenticator = "microsoftAuthenticator"
	PolicySoftwareOath           = "softwareOath"
)

// PolicyMethods lists the policy methods SSPR maps to, in a fixed order.
var PolicyMethods = []string{PolicyEmail, PolicySMS, PolicyVoice, PolicyMicrosoftAuthenticator, PolicySoftwareOath}

// Policy states as Graph spells them.
const (
	StateEnabled  = "enabled"
	StateDisabled = "disabled"
)

// FieldVoiceOfficePhone is the voice configuration's isOfficePhoneAllowed
// ("true"/"false"), what the legacy "office phone" method maps to.
const FieldVoiceOfficePhone Field = "policy.voice.isOfficePhoneAllowed"

// MethodField is the portal flag field of a plan method, e.g. "method.email".
func MethodField(m plan.Method) Field { return FieldMethodPrefix + Field(m) }

// PolicyField is the Graph policy state field of a method configuration, e.g.
// "policy.email".
func PolicyField(method string) Field { return FieldPolicyPrefix + Field(method) }

// IsPortal reports whether a field is only writable through the portal API
// (or by hand); the others live in Graph's authentication methods policy.
func (f Field) IsPortal() bool { return !strings.HasPrefix(string(f), string(FieldPolicyPrefix)) }

// fieldOrder ranks fields the way the portal's blades are ordered, so that
// diffs, instructions and reports read top to bottom.
var fieldOrder = func() map[Field]int {
	order := []Field{FieldScope, FieldGroup, FieldMethodsRequired}
	for _, m := range plan.AllMethods {
		order = append(order, MethodField(m))
	}
	for _, m := range PolicyMethods {
		order = append(order, PolicyField(m))
	}
	order = append(order, FieldVoiceOfficePhone,
		FieldRegistrationOnLogin, FieldReconfirmDays, FieldNotifyUsers, FieldNotifyAdmins,
		FieldHelpdeskCustomized, FieldHelpdeskContact, FieldWritebackEnabled, FieldUnlockEnabled)
	rank := make(map[Field]int, len(order))
	for i, f := range order {
		rank[f] = i
	}
	return rank
}()

// SortFields orders fields in the portal's order; unknown fields go last,
// alphabetically.
func SortFields(fields []Field) {
	sort.SliceStable(fields, func(i, j int) bool { return fieldLess(fields[i], fields[j]) })
}

func fieldLess(a, b Field) bool {
	ra, oka := fieldOrder[a]
	rb, okb := fieldOrder[b]
	switch {
	case oka && okb:
		return ra < rb
	case oka != okb:
		return oka
	default:
		return a < b
	}
}

// Diff returns the changes that turn current into desired: one per field of
// desired whose value differs, in the portal's order. Fields absent from
// desired are left alone.
func Diff(current Snapshot, desired Settings) []Change {
	fields := make([]Field, 0, len(desired))
	for f := range desired {
		fields = append(fields, f)
	}
	SortFields(fields)
	var changes []Change
	for _, f := range fields {
		from, to := current.Settings[f], desired[f]
		if from == to {
			continue
		}
		changes = append(changes, Change{Field: f, From: from, To: to, Portal: f.IsPortal()})
	}
	return changes
}

// Portal returns the changes that need the portal API (or a human).
func Portal(changes []Change) []Change {
	var out []Change
	for _, c := range changes {
		if c.Portal {
			out = append(out, c)
		}
	}
	return out
}

// DesiredSettings is the configuration a rollout wants at a stage: SSPR for
// scope (and groupID when scope is selected), and everything else from the
// plan, with the portal's defaults for omitted values.
//
// Graph authentication method policies are only ever switched on, never off:
// the policy is tenant-wide and also governs MFA and passwordless sign-in, so
// a method the plan does not list for SSPR may still be in use elsewhere. The
// per-method portal flags (method.*) express the SSPR selection exactly.
func DesiredSettings(r *plan.Rollout, groupID string, scope Scope) Settings {
	s := Settings{FieldScope: string(scope)}
	if scope == ScopeSelected {
		s[FieldGroup] = groupID
	}
	spec := r.Spec
	required := spec.MethodsRequired
	if required == 0 {
		required = 1
	}
	s[FieldMethodsRequired] = strconv.Itoa(required)

	chosen := make(map[plan.Method]bool, len(spec.Methods))
	for _, m := range spec.Methods {
		chosen[m] = true
	}
	for _, m := range plan.AllMethods {
		s[MethodField(m)] = strconv.FormatBool(chosen[m])
	}
	enable := func(method string) { s[PolicyField(method)] = StateEnabled }
	if chosen[plan.MethodEmail] {
		enable(PolicyEmail)
	}
	if chosen[plan.MethodMobilePhone] {
		enable(PolicySMS)
		enable(PolicyVoice)
	}
	if chosen[plan.MethodOfficePhone] {
		enable(PolicyVoice)
		s[FieldVoiceOfficePhone] = "true"
	}
	if chosen[plan.MethodMobileAppNotification] || chosen[plan.MethodMobileAppCode] {
		enable(PolicyMicrosoftAuthenticator)
	}
	if chosen[plan.MethodMobileAppCode] {
		enable(PolicySoftwareOath)
	}
	// securityQuestions has no Graph policy: the portal flag is all there is.

	s[FieldRegistrationOnLogin] = strconv.FormatBool(boolOr(spec.Registration.RequireOnSignIn, true))
	s[FieldReconfirmDays] = strconv.Itoa(intOr(spec.Registration.ReconfirmDays, 180))
	s[FieldNotifyUsers] = strconv.FormatBool(boolOr(spec.Notifications.NotifyUsersOnReset, true))
	s[FieldNotifyAdmins] = strconv.FormatBool(boolOr(spec.Notifications.NotifyAdminsOnAdminReset, false))

	contact := spec.Helpdesk.Email
	if contact == "" {
		contact = spec.Helpdesk.URL
	}
	s[FieldHelpdeskCustomized] = strconv.FormatBool(contact != "")
	if contact != "" {
		s[FieldHelpdeskContact] = contact
	}

	if spec.Writeback.Mode != plan.WritebackNone && spec.Writeback.Mode != "" {
		s[FieldWritebackEnabled] = "true"
		s[FieldUnlockEnabled] = strconv.FormatBool(boolOr(spec.Writeback.UnlockAccounts, true))
	}
	return s
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}
