package entra

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ssprflow/ssprflow/internal/plan"
)

// The settings table: one row per field ssprflow manages. It is the one
// place that says which step owns a field, which surface holds it and under
// which key, where an admin finds it in the Entra admin center, what a plan
// that omits it asks for, and the order diffs and instructions read in.
// DesiredSettings, Diff, Instructions and both adapters (internal/entra/graph)
// are driven by it; graph's TestEveryFieldRoundTrips checks that each row is
// read and written over HTTP against the simulator.

// Surface is where a field is read and written.
type Surface string

// Surfaces.
const (
	// SurfaceGraph is Microsoft Graph's authentication methods policy
	// (documented; application permissions).
	SurfaceGraph Surface = "graph"
	// SurfacePortal is the admin center's PasswordReset API (undocumented; a
	// delegated admin token), or a person in manual mode.
	SurfacePortal Surface = "portal"
)

// Step names the rollout step that owns a field; the names are the
// workflow's step names.
type Step string

// The settings steps.
const (
	StepMethods       Step = "methods"
	StepRegistration  Step = "registration"
	StepNotifications Step = "notifications"
	StepHelpdesk      Step = "helpdesk"
	StepWriteback     Step = "writeback"
	StepScope         Step = "scope"
)

// Kind is the type of a field's canonical value.
type Kind int

// Value kinds.
const (
	KindBool  Kind = iota // "true" or "false"
	KindInt               // a non-negative decimal integer
	KindText              // free text
	KindScope             // a Scope: none, selected or all
	KindGroup             // a group object id; "" for none
	KindState             // a Graph authenticationMethodState: enabled or disabled
)

// The portal's PasswordReset API objects (read and written whole).
const (
	ObjectResetPolicies  = "PasswordResetPolicies"
	ObjectOnPremPolicies = "OnPremisesPasswordResetPolicies"
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

// Policy states as Graph spells them.
const (
	StateEnabled  = "enabled"
	StateDisabled = "disabled"
)

// FieldVoiceOfficePhone is the voice configuration's isOfficePhoneAllowed
// ("true"/"false"), what the legacy "office phone" method maps to.
const FieldVoiceOfficePhone Field = "policy.voice.isOfficePhoneAllowed"

// FieldSpec is one row of the settings table.
type FieldSpec struct {
	Field   Field
	Step    Step
	Surface Surface
	// Object and Key locate the field on its surface: a PasswordReset API
	// object and its JSON key (portal), or an authentication method
	// configuration id and its property (Graph).
	Object, Key string
	Kind        Kind
	// Values, when set, are the only valid values.
	Values []string
	// Page is the admin center page that shows the field, below "Entra admin
	// center", e.g. "Protection > Password reset > Registration"; Control is
	// the field's label on it.
	Page, Control string
	// Default is the value a plan that omits the setting asks for (the
	// constants plan.WithDefaults uses); "" where the plan always decides
	// (scope, group, helpdesk contact, writeback) or the field is only ever
	// switched on (Graph policies).
	Default string
	// ForMethods are the plan methods that need a Graph field switched on:
	// it is switched on when the plan selects any of them and never switched
	// off, because the policy is tenant-wide and also governs MFA and
	// passwordless sign-in.
	ForMethods []plan.Method

	// want is the plan's value for a portal field; ok false leaves it alone.
	want func(s *plan.Spec, scope Scope, groupID string) (v string, ok bool)
	// show is how the control shows a value, for instructions.
	show func(v string) string
}

// Label is where an admin finds the field, e.g. "Protection > Password reset
// > Registration > Require users to register when signing in".
func (s FieldSpec) Label() string { return s.Page + " > " + s.Control }

// Instruction is the step a person takes in the admin center to set the
// field to v.
func (s FieldSpec) Instruction(v string) string { return s.instruction(s.show(v)) }

func (s FieldSpec) instruction(shown string) string {
	return fmt.Sprintf("Entra admin center > %s: %s > Save", s.Label(), shown)
}

// Check reports whether v is a valid value of the field.
func (s FieldSpec) Check(v string) error {
	var want string
	switch {
	case len(s.Values) > 0:
		if slices.Contains(s.Values, v) {
			return nil
		}
		want = strings.Join(s.Values, " or ")
	case s.Kind == KindBool:
		if _, err := strconv.ParseBool(v); err == nil {
			return nil
		}
		want = "true or false"
	case s.Kind == KindInt:
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return nil
		}
		want = "a non-negative integer"
	default:
		return nil
	}
	return fmt.Errorf("value %q is invalid, want %s", v, want)
}

// Fields returns the table, in the portal's order.
func Fields() []FieldSpec { return slices.Clone(table) }

// Spec returns the row of field f.
func Spec(f Field) (FieldSpec, bool) {
	i, ok := rank[f]
	if !ok {
		return FieldSpec{}, false
	}
	return table[i], true
}

// StepFields lists the fields a step owns, in the portal's order.
func StepFields(step Step) []Field {
	var out []Field
	for _, s := range table {
		if s.Step == step {
			out = append(out, s.Field)
		}
	}
	return out
}

// Check validates changes against the table: a known field and a valid
// value. It returns a *PermanentError naming the first bad change.
func Check(changes []Change) error {
	for _, c := range changes {
		s, ok := Spec(c.Field)
		if !ok {
			return &PermanentError{Op: "apply", Message: fmt.Sprintf("unsupported field %q", c.Field)}
		}
		if err := s.Check(c.To); err != nil {
			return &PermanentError{Op: "apply", Message: fmt.Sprintf("field %s: %v", c.Field, err)}
		}
	}
	return nil
}

const (
	pageReset   = "Protection > Password reset > "
	pagePolicy  = "Protection > Authentication methods > Policies > "
	pageMethods = pageReset + "Authentication methods"
)

// portalMethods are the portal's per-method flags, in its order.
var portalMethods = []struct {
	method     plan.Method
	key, label string
}{
	{plan.MethodEmail, "emailOptionEnabled", "Email"},
	{plan.MethodMobilePhone, "mobilePhoneOptionEnabled", "Mobile phone"},
	{plan.MethodOfficePhone, "officePhoneOptionEnabled", "Office phone"},
	{plan.MethodMobileAppCode, "mobileAppCodeEnabled", "Mobile app code"},
	{plan.MethodMobileAppNotification, "mobileAppNotificationEnabled", "Mobile app notification"},
	{plan.MethodSecurityQuestions, "securityQuestionsOptionEnabled", "Security questions"},
}

// graphPolicies are the authentication method policies behind the legacy
// SSPR methods (security questions have none: the portal flag is all there
// is).
var graphPolicies = []struct {
	id, label string
	methods   []plan.Method
}{
	{PolicyEmail, "Email OTP", []plan.Method{plan.MethodEmail}},
	{PolicySMS, "SMS", []plan.Method{plan.MethodMobilePhone}},
	{PolicyVoice, "Voice call", []plan.Method{plan.MethodMobilePhone, plan.MethodOfficePhone}},
	{PolicyMicrosoftAuthenticator, "Microsoft Authenticator", []plan.Method{plan.MethodMobileAppNotification, plan.MethodMobileAppCode}},
	{PolicySoftwareOath, "Third-party software OATH tokens", []plan.Method{plan.MethodMobileAppCode}},
}

var scopeLabels = map[string]string{string(ScopeNone): "None", string(ScopeSelected): "Selected", string(ScopeAll): "All"}

// labels shows "true" (or "enabled") as on and anything else as off.
func labels(on, off string) func(string) string {
	return func(v string) string {
		if v == "true" || v == StateEnabled {
			return on
		}
		return off
	}
}

var (
	yesNo    = labels("Yes", "No")
	checkbox = labels("check", "uncheck")
)

func verbatim(v string) string { return v }

func helpdeskContact(s *plan.Spec) string {
	if s.Helpdesk.Email != "" {
		return s.Helpdesk.Email
	}
	return s.Helpdesk.URL
}

func always(f func(s *plan.Spec) string) func(*plan.Spec, Scope, string) (string, bool) {
	return func(s *plan.Spec, _ Scope, _ string) (string, bool) { return f(s), true }
}

func withWriteback(f func(s *plan.Spec) string) func(*plan.Spec, Scope, string) (string, bool) {
	return func(s *plan.Spec, _ Scope, _ string) (string, bool) { return f(s), s.Writeback.Enabled() }
}

func portal(f Field, step Step, object, key string, kind Kind, page, control string) FieldSpec {
	show := verbatim
	if kind == KindBool {
		show = yesNo
	}
	return FieldSpec{Field: f, Step: step, Surface: SurfacePortal, Object: object, Key: key, Kind: kind,
		Page: page, Control: control, show: show}
}

var table = buildTable()

// rank is a field's row index: its place in the portal's order.
var rank = func() map[Field]int {
	m := make(map[Field]int, len(table))
	for i, s := range table {
		m[s.Field] = i
	}
	return m
}()

func buildTable() []FieldSpec {
	reset := func(f Field, step Step, key string, kind Kind, blade, control string) FieldSpec {
		return portal(f, step, ObjectResetPolicies, key, kind, pageReset+blade, control)
	}
	scope := reset(FieldScope, StepScope, "enablementType", KindScope, "Properties", "Self service password reset enabled")
	scope.Values = []string{string(ScopeNone), string(ScopeSelected), string(ScopeAll)}
	scope.show = func(v string) string { return scopeLabels[v] }
	scope.want = func(_ *plan.Spec, sc Scope, _ string) (string, bool) { return string(sc), true }

	group := reset(FieldGroup, StepScope, "passwordResetEnabledGroupIds", KindGroup, "Properties", "Select group")
	group.want = func(_ *plan.Spec, sc Scope, id string) (string, bool) { return id, sc == ScopeSelected }

	required := reset(FieldMethodsRequired, StepMethods, "numberOfAuthenticationMethodsRequired", KindInt, "Authentication methods", "Number of methods required to reset")
	required.Values = []string{"1", "2"}
	required.Default = strconv.Itoa(plan.DefaultMethodsRequired)
	required.want = always(func(s *plan.Spec) string { return strconv.Itoa(s.MethodsRequired) })

	t := []FieldSpec{scope, group, required}
	for _, pm := range portalMethods {
		m := pm.method
		r := reset(MethodField(m), StepMethods, pm.key, KindBool, "Authentication methods", "Methods available to users > "+pm.label)
		r.show = checkbox
		r.Default = strconv.FormatBool(slices.Contains(plan.DefaultMethods(), m))
		r.want = always(func(s *plan.Spec) string { return strconv.FormatBool(slices.Contains(s.Methods, m)) })
		t = append(t, r)
	}
	for _, gp := range graphPolicies {
		t = append(t, FieldSpec{Field: PolicyField(gp.id), Step: StepMethods, Surface: SurfaceGraph,
			Object: gp.id, Key: "state", Kind: KindState, Values: []string{StateEnabled, StateDisabled},
			Page: pagePolicy + gp.label, Control: "Enable and Target > Enable", ForMethods: gp.methods,
			show: labels("On", "Off")})
	}
	t = append(t, FieldSpec{Field: FieldVoiceOfficePhone, Step: StepMethods, Surface: SurfaceGraph,
		Object: PolicyVoice, Key: "isOfficePhoneAllowed", Kind: KindBool,
		Page: pagePolicy + "Voice call", Control: "Configure > Office phone", ForMethods: []plan.Method{plan.MethodOfficePhone},
		show: labels("Allowed", "Not allowed")})

	// flag is a yes/no setting the plan holds as a *bool (set by WithDefaults).
	flag := func(f Field, step Step, key, blade, control string, def bool, get func(s *plan.Spec) *bool) FieldSpec {
		r := reset(f, step, key, KindBool, blade, control)
		r.Default = strconv.FormatBool(def)
		r.want = always(func(s *plan.Spec) string { return strconv.FormatBool(*get(s)) })
		return r
	}
	onSignIn := flag(FieldRegistrationOnLogin, StepRegistration, "registrationRequiredOnSignIn", "Registration",
		"Require users to register when signing in", plan.DefaultRequireOnSignIn,
		func(s *plan.Spec) *bool { return s.Registration.RequireOnSignIn })

	// The portal's key is misspelt (sic).
	reconfirm := reset(FieldReconfirmDays, StepRegistration, "registrationReconfirmIntevalInDays", KindInt, "Registration", "Number of days before users are asked to reconfirm their authentication information")
	reconfirm.Default = strconv.Itoa(plan.DefaultReconfirmDays)
	reconfirm.want = always(func(s *plan.Spec) string { return strconv.Itoa(*s.Registration.ReconfirmDays) })

	users := flag(FieldNotifyUsers, StepNotifications, "notifyUsersOnPasswordReset", "Notifications",
		"Notify users on password resets", plan.DefaultNotifyUsersOnReset,
		func(s *plan.Spec) *bool { return s.Notifications.NotifyUsersOnReset })
	admins := flag(FieldNotifyAdmins, StepNotifications, "notifyOnAdminPasswordReset", "Notifications",
		"Notify all admins when other admins reset their password", plan.DefaultNotifyAdminsOnAdminReset,
		func(s *plan.Spec) *bool { return s.Notifications.NotifyAdminsOnAdminReset })

	customized := reset(FieldHelpdeskCustomized, StepHelpdesk, "customizeHelpdeskLink", KindBool, "Customization", "Customize helpdesk link")
	customized.Default = "false"
	customized.want = always(func(s *plan.Spec) string { return strconv.FormatBool(helpdeskContact(s) != "") })

	contact := reset(FieldHelpdeskContact, StepHelpdesk, "customHelpdeskEmailOrUrl", KindText, "Customization", "Custom helpdesk email or URL")
	contact.want = func(s *plan.Spec, _ Scope, _ string) (string, bool) { c := helpdeskContact(s); return c, c != "" }

	onPrem := func(f Field, key, control string) FieldSpec {
		return portal(f, StepWriteback, ObjectOnPremPolicies, key, KindBool, pageReset+"On-premises integration", control)
	}
	writeback := onPrem(FieldWritebackEnabled, "enablementForTenant", "Write back passwords to your on-premises directory")
	writeback.show = checkbox
	writeback.want = withWriteback(func(*plan.Spec) string { return "true" })

	unlock := onPrem(FieldUnlockEnabled, "accountUnlockEnabled", "Allow users to unlock accounts without resetting their password")
	unlock.Default = strconv.FormatBool(plan.DefaultUnlockAccounts)
	unlock.want = withWriteback(func(s *plan.Spec) string { return strconv.FormatBool(*s.Writeback.UnlockAccounts) })

	return append(t, onSignIn, reconfirm, users, admins, customized, contact, writeback, unlock)
}
