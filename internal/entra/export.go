package entra

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ssprflow/ssprflow/internal/plan"
)

// ExportName is the name an exported plan gets.
const ExportName = "sspr-export"

// ExportPlan writes a tenant's current SSPR configuration as a plan: one
// that, run against the same tenant, changes nothing (plan diff says no
// change). Notes name what the tenant does not tell (a setting that could
// not be read keeps the plan's default and says so; the sync engine behind
// writeback; a scope of None, which a plan cannot ask for) instead of
// guessing silently.
//
// dir is the plan's directory section (the worker reads the connector's
// rights and the password age through that profile), nil for none: a plan
// that turns writeback on needs one, so without it writeback is left out
// (and said).
func ExportPlan(tenant string, snap Snapshot, dir *plan.Directory) (plan.Rollout, []string) {
	s := snap.Settings
	var notes []string
	p := plan.Rollout{APIVersion: plan.APIVersion, Kind: plan.Kind,
		Metadata: plan.Metadata{Name: ExportName, Tenant: tenant, Description: "exported from the tenant by ssprflow export"}}
	spec := &p.Spec
	spec.SSPRPolicy.Mode = plan.PolicyModeManual
	spec.FailurePolicy = plan.RollbackAll
	notes = append(notes, "ssprPolicy.mode is manual: a person is asked for each portal-only change; set portal-api where the worker signs in to the portal")

	read := func(f Field) (string, bool) {
		if why, ok := snap.Unreadable[f]; ok {
			spec, _ := Spec(f)
			notes = append(notes, fmt.Sprintf("%s (%s) could not be read: %s; the plan keeps its default here, not the tenant's value", f, spec.Label(), why))
			return "", false
		}
		v, ok := s[f]
		return v, ok
	}
	boolPtr := func(f Field) *bool {
		v, ok := read(f)
		if !ok {
			return nil
		}
		b := v == "true"
		return &b
	}

	if v, ok := read(FieldMethodsRequired); ok {
		spec.MethodsRequired, _ = strconv.Atoi(v)
	}
	if spec.MethodsRequired == 0 {
		spec.MethodsRequired = plan.DefaultMethodsRequired
	}
	for _, pm := range portalMethods {
		if v, ok := read(MethodField(pm.method)); ok && v == "true" {
			spec.Methods = append(spec.Methods, pm.method)
		}
	}
	if len(spec.Methods) == 0 {
		spec.Methods = plan.DefaultMethods()
		notes = append(notes, "no SSPR method is enabled (or none could be read): methods are the plan's defaults")
	}
	if spec.MethodsRequired > len(spec.Methods) {
		notes = append(notes, fmt.Sprintf("the tenant requires %d methods but offers %d, which no user can meet: the plan requires %d", spec.MethodsRequired, len(spec.Methods), len(spec.Methods)))
		spec.MethodsRequired = len(spec.Methods)
	}
	for _, gp := range graphPolicies {
		if st, ok := s[PolicyField(gp.id)]; ok && st != StateEnabled && slices.ContainsFunc(gp.methods, func(m plan.Method) bool { return slices.Contains(spec.Methods, m) }) {
			notes = append(notes, fmt.Sprintf("the authentication methods policy %s is %s although SSPR offers %v: a rollout of this plan switches it on", gp.label, st, gp.methods))
		}
	}

	spec.Registration.RequireOnSignIn = boolPtr(FieldRegistrationOnLogin)
	if v, ok := read(FieldReconfirmDays); ok {
		if n, err := strconv.Atoi(v); err == nil {
			spec.Registration.ReconfirmDays = &n
		}
	}
	spec.Notifications.NotifyUsersOnReset = boolPtr(FieldNotifyUsers)
	spec.Notifications.NotifyAdminsOnAdminReset = boolPtr(FieldNotifyAdmins)
	if c, ok := read(FieldHelpdeskCustomized); ok && c == "true" {
		v, _ := read(FieldHelpdeskContact)
		switch {
		case strings.HasPrefix(v, "https://"):
			spec.Helpdesk.URL = v
		case strings.Contains(v, "@") && !strings.Contains(v, "://"):
			spec.Helpdesk.Email = v
		default:
			notes = append(notes, fmt.Sprintf("the custom helpdesk link %q is neither an https:// URL nor an e-mail address, which a plan refuses: the plan leaves the link uncustomized; set helpdesk.url or helpdesk.email", v))
		}
	}

	spec.Directory = dir
	spec.Writeback.Mode = plan.WritebackNone
	if v, ok := read(FieldWritebackEnabled); ok && v == "true" && dir == nil {
		notes = append(notes, "password writeback is on in the tenant, but a plan that manages writeback needs a directory section: export again with --directory PROFILE to include it (writeback is left out, so this plan neither changes nor checks it)")
	} else if ok && v == "true" {
		spec.Writeback.Mode = plan.WritebackConnect
		spec.Writeback.UnlockAccounts = boolPtr(FieldUnlockEnabled)
		notes = append(notes, "password writeback is on in the tenant; the tenant does not say which sync engine writes back: mode connect is assumed (change it to cloudsync if so), and agentQueue is empty (a person runs the wizard step) until you name your agent's queue")
	}

	switch Scope(s[FieldScope]) {
	case ScopeAll:
		spec.Stages = []plan.Stage{{Name: "all", All: true}}
	case ScopeSelected:
		name := snap.GroupName
		if name == "" {
			name = "SSPR-Users"
			notes = append(notes, fmt.Sprintf("SSPR is on for a group whose name could not be read (id %s): the stage names %s; change it to that group's name", s[FieldGroup], name))
		}
		create := false
		spec.Stages = []plan.Stage{{Name: "pilot", Group: &plan.GroupRef{Name: name, Create: &create}}}
	default:
		spec.Stages = []plan.Stage{{Name: "pilot", Group: &plan.GroupRef{Name: "SSPR-Users"}}}
		notes = append(notes, "SSPR is off (None) in the tenant, which no plan asks for: this plan turns it on for the group SSPR-Users; review before running it")
	}
	return p, notes
}
