package entra

import (
	"fmt"
	"strings"

	"github.com/ssprflow/ssprflow/internal/plan"
)

const (
	passwordResetPath = "Entra admin center > Protection > Password reset"
	authMethodsPath   = "Entra admin center > Protection > Authentication methods > Policies"
)

// methodLabels are the portal's names of the SSPR methods (Authentication methods blade).
var methodLabels = map[plan.Method]string{
	plan.MethodEmail:                 "Email",
	plan.MethodMobilePhone:           "Mobile phone",
	plan.MethodOfficePhone:           "Office phone",
	plan.MethodMobileAppCode:         "Mobile app code",
	plan.MethodMobileAppNotification: "Mobile app notification",
	plan.MethodSecurityQuestions:     "Security questions",
}

// policyLabels are the portal's names of the authentication method policies.
var policyLabels = map[string]string{
	PolicyEmail:                  "Email OTP",
	PolicySMS:                    "SMS",
	PolicyVoice:                  "Voice call",
	PolicyMicrosoftAuthenticator: "Microsoft Authenticator",
	PolicySoftwareOath:           "Third-party software OATH tokens",
}

// Instructions turns changes into precise steps for a person in the Entra
// admin center, one step per change, in the portal's order. groups name the
// group ids that may appear (a missing name falls back to the id).
func Instructions(changes []Change, groups ...Group) []string {
	names := make(map[string]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.DisplayName
	}
	groupName := func(id string) string {
		if n := names[id]; n != "" {
			return n
		}
		return "the group with object id " + id
	}
	sorted := append([]Change(nil), changes...)
	SortChanges(sorted)

	// Scope and group are one control; say it once.
	var scopeTo, groupTo string
	var hasScope, hasGroup bool
	for _, c := range sorted {
		switch c.Field {
		case FieldScope:
			scopeTo, hasScope = c.To, true
		case FieldGroup:
			groupTo, hasGroup = c.To, true
		}
	}

	var steps []string
	add := func(blade, what string) {
		steps = append(steps, fmt.Sprintf("%s > %s > %s > Save", passwordResetPath, blade, what))
	}
	for _, c := range sorted {
		switch {
		case c.Field == FieldScope || (c.Field == FieldGroup && !hasScope):
			scope := Scope(scopeTo)
			if !hasScope {
				scope = ScopeSelected
			}
			what := "Self service password reset enabled: " + scopeLabel(scope)
			if scope == ScopeSelected && (hasGroup || c.Field == FieldGroup) {
				what += " > Select group: " + groupName(groupTo)
			}
			add("Properties", what)
		case c.Field == FieldGroup:
			// Covered by the scope step.
		case c.Field == FieldMethodsRequired:
			add("Authentication methods", "Number of methods required to reset: "+c.To)
		case strings.HasPrefix(string(c.Field), string(FieldMethodPrefix)):
			m := plan.Method(strings.TrimPrefix(string(c.Field), string(FieldMethodPrefix)))
			label := methodLabels[m]
			if label == "" {
				label = string(m)
			}
			add("Authentication methods", "Methods available to users: "+checkbox(c.To)+" "+label)
		case c.Field == FieldVoiceOfficePhone:
			steps = append(steps, fmt.Sprintf("%s > %s > Configure > Office phone: %s > Save",
				authMethodsPath, policyLabels[PolicyVoice], yesNo(c.To, "Allowed", "Not allowed")))
		case strings.HasPrefix(string(c.Field), string(FieldPolicyPrefix)):
			m := strings.TrimPrefix(string(c.Field), string(FieldPolicyPrefix))
			label := policyLabels[m]
			if label == "" {
				label = m
			}
			steps = append(steps, fmt.Sprintf("%s > %s > Enable and Target > Enable: %s > Save",
				authMethodsPath, label, yesNo(boolString(c.To == StateEnabled), "On", "Off")))
		case c.Field == FieldRegistrationOnLogin:
			add("Registration", "Require users to register when signing in: "+yesNo(c.To, "Yes", "No"))
		case c.Field == FieldReconfirmDays:
			add("Registration", "Number of days before users are asked to re-confirm their authentication information: "+c.To)
		case c.Field == FieldNotifyUsers:
			add("Notifications", "Notify users on password resets: "+yesNo(c.To, "Yes", "No"))
		case c.Field == FieldNotifyAdmins:
			add("Notifications", "Notify all admins when other admins reset their password → "+yesNo(c.To, "Yes", "No"))
		case c.Field == FieldHelpdeskCustomized:
			add("Customization", "Customize helpdesk link: "+yesNo(c.To, "Yes", "No"))
		case c.Field == FieldHelpdeskContact:
			add("Customization", "Customize helpdesk link: Yes > Custom helpdesk email or URL: "+c.To)
		case c.Field == FieldWritebackEnabled:
			add("On-premises integration", "Enable password write back for synced users: "+checkbox(c.To))
		case c.Field == FieldUnlockEnabled:
			add("On-premises integration", "Allow users to unlock accounts without resetting their password → "+yesNo(c.To, "Yes", "No"))
		default:
			steps = append(steps, fmt.Sprintf("Set %s from %q to %q", c.Field, c.From, c.To))
		}
	}
	return steps
}

// SortChanges orders changes by field in the portal's order.
func SortChanges(changes []Change) {
	for i := 1; i < len(changes); i++ { // insertion sort: stable and tiny inputs
		for j := i; j > 0 && fieldLess(changes[j].Field, changes[j-1].Field); j-- {
			changes[j], changes[j-1] = changes[j-1], changes[j]
		}
	}
}

func scopeLabel(s Scope) string {
	switch s {
	case ScopeSelected:
		return "Selected"
	case ScopeAll:
		return "All"
	default:
		return "None"
	}
}

func checkbox(v string) string { return yesNo(v, "check", "uncheck") }

func yesNo(v, yes, no string) string {
	if v == "true" {
		return yes
	}
	return no
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
