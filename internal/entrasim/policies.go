package entrasim

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"
)

// methodIDs are the authentication method configuration ids, as Graph
// returns them (capitalised), in the order GET lists them.
var methodIDs = []string{"Fido2", "MicrosoftAuthenticator", "Sms", "TemporaryAccessPass", "SoftwareOath", "Voice", "Email", "X509Certificate"}

// canonicalMethodID matches an id case-insensitively.
func canonicalMethodID(id string) (string, bool) {
	for _, m := range methodIDs {
		if strings.EqualFold(m, id) {
			return m, true
		}
	}
	return "", false
}

// methodODataType is the @odata.type of a method configuration.
func methodODataType(id string) string {
	return "#microsoft.graph." + strings.ToLower(id[:1]) + id[1:] + "AuthenticationMethodConfiguration"
}

// methodsPolicy is the authentication methods policy. Configurations are kept
// as JSON objects so that per-method properties round-trip untouched.
type methodsPolicy struct {
	lastModified            time.Time
	policyVersion           string
	policyMigrationState    string
	reconfirmationInDays    int
	registrationEnforcement map[string]any
	configs                 map[string]map[string]any // by canonical id
}

func allUsersTarget(extra map[string]any) []any {
	t := map[string]any{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}
	maps.Copy(t, extra)
	return []any{t}
}

// defaultMethodConfig is the configuration a new tenant has, and what DELETE
// restores.
func defaultMethodConfig(id string) map[string]any {
	c := map[string]any{
		"@odata.type":    methodODataType(id),
		"id":             id,
		"state":          "disabled",
		"excludeTargets": []any{},
	}
	switch id {
	case "Fido2":
		c["isSelfServiceRegistrationAllowed"] = true
		c["isAttestationEnforced"] = true
		c["keyRestrictions"] = map[string]any{"isEnforced": false, "enforcementType": "block", "aaGuids": []any{}}
		c["includeTargets"] = allUsersTarget(nil)
	case "MicrosoftAuthenticator":
		c["state"] = "enabled"
		c["isSoftwareOathEnabled"] = false
		c["featureSettings"] = map[string]any{
			"displayAppInformationRequiredState":      map[string]any{"state": "default", "includeTarget": map[string]any{"targetType": "group", "id": "all_users"}, "excludeTarget": map[string]any{"targetType": "group", "id": "00000000-0000-0000-0000-000000000000"}},
			"displayLocationInformationRequiredState": map[string]any{"state": "default", "includeTarget": map[string]any{"targetType": "group", "id": "all_users"}, "excludeTarget": map[string]any{"targetType": "group", "id": "00000000-0000-0000-0000-000000000000"}},
		}
		c["includeTargets"] = allUsersTarget(map[string]any{"authenticationMode": "any"})
	case "Sms":
		c["includeTargets"] = allUsersTarget(map[string]any{"isUsableForSignIn": true})
	case "TemporaryAccessPass":
		c["defaultLifetimeInMinutes"] = 60
		c["defaultLength"] = 8
		c["minimumLifetimeInMinutes"] = 60
		c["maximumLifetimeInMinutes"] = 480
		c["isUsableOnce"] = false
		c["includeTargets"] = allUsersTarget(nil)
	case "SoftwareOath":
		c["includeTargets"] = allUsersTarget(nil)
	case "Voice":
		c["isOfficePhoneAllowed"] = false
		c["includeTargets"] = allUsersTarget(nil)
	case "Email":
		c["state"] = "enabled"
		c["allowExternalIdToUseEmailOtp"] = "default"
		c["includeTargets"] = allUsersTarget(nil)
	case "X509Certificate":
		c["certificateUserBindings"] = []any{
			map[string]any{"x509CertificateField": "PrincipalName", "userProperty": "onPremisesUserPrincipalName", "priority": 1},
		}
		c["authenticationModeConfiguration"] = map[string]any{"x509CertificateAuthenticationDefaultMode": "x509CertificateSingleFactor", "rules": []any{}}
		// Non-nullable in v1.0.
		c["crlValidationConfiguration"] = map[string]any{"state": "disabled", "exemptedCertificateAuthoritiesSubjectKeyIdentifiers": []any{}}
		c["includeTargets"] = allUsersTarget(nil)
	}
	return c
}

func defaultMethodsPolicy(now time.Time) *methodsPolicy {
	p := &methodsPolicy{
		lastModified:         now,
		policyVersion:        "1.5",
		policyMigrationState: "preMigration",
		reconfirmationInDays: 0,
		registrationEnforcement: map[string]any{
			"authenticationMethodsRegistrationCampaign": map[string]any{
				"snoozeDurationInDays": 1,
				"state":                "default",
				"excludeTargets":       []any{},
				"includeTargets": []any{map[string]any{
					"id": "all_users", "targetType": "group", "targetedAuthenticationMethod": "microsoftAuthenticator",
				}},
			},
		},
		configs: map[string]map[string]any{},
	}
	for _, id := range methodIDs {
		p.configs[id] = defaultMethodConfig(id)
	}
	return p
}

// object renders the policy; withTimes false drops volatile timestamps (for
// StateJSON).
func (p *methodsPolicy) object(withTimes bool) map[string]any {
	cfgs := make([]any, 0, len(methodIDs))
	for _, id := range methodIDs {
		cfgs = append(cfgs, p.configs[id])
	}
	o := map[string]any{
		"id":                                 "authenticationMethodsPolicy",
		"displayName":                        "Authentication Methods Policy",
		"description":                        "The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings",
		"policyVersion":                      p.policyVersion,
		"policyMigrationState":               nullable(p.policyMigrationState),
		"reconfirmationInDays":               p.reconfirmationInDays,
		"registrationEnforcement":            p.registrationEnforcement,
		"authenticationMethodConfigurations": cfgs,
	}
	if withTimes {
		o["lastModifiedDateTime"] = p.lastModified.UTC().Format(time.RFC3339Nano)
	}
	return o
}

var migrationStates = map[string]bool{"preMigration": true, "migrationInProgress": true, "migrationComplete": true}

// patch applies a PATCH body to the policy. It validates everything before
// changing anything.
func (p *methodsPolicy) patch(body map[string]any, now time.Time) error {
	next := *p
	for k, v := range body {
		switch k {
		case "@odata.type":
			if s, _ := v.(string); s != "#microsoft.graph.authenticationMethodsPolicy" {
				return fmt.Errorf("Invalid @odata.type '%v' for authenticationMethodsPolicy.", v)
			}
		case "id":
			if s, _ := v.(string); s != "authenticationMethodsPolicy" {
				return fmt.Errorf("Property 'id' is read-only.")
			}
		case "policyMigrationState":
			s, _ := v.(string)
			if !migrationStates[s] {
				return fmt.Errorf("Invalid value '%v' for property 'policyMigrationState': expected preMigration, migrationInProgress or migrationComplete.", v)
			}
			next.policyMigrationState = s
		case "reconfirmationInDays":
			f, ok := v.(float64)
			if !ok || f < 0 || f != float64(int(f)) {
				return fmt.Errorf("Invalid value '%v' for property 'reconfirmationInDays'.", v)
			}
			next.reconfirmationInDays = int(f)
		case "registrationEnforcement":
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("Invalid value for property 'registrationEnforcement'.")
			}
			if err := validateCampaign(m); err != nil {
				return err
			}
			next.registrationEnforcement = m
		case "displayName", "description", "policyVersion", "lastModifiedDateTime", "@odata.context":
			// Read-only; ignored so that a GET object can be sent back.
		case "authenticationMethodConfigurations":
			return fmt.Errorf("Update authentication method configurations one at a time with PATCH /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}.")
		default:
			return fmt.Errorf("Invalid property '%s' for authenticationMethodsPolicy.", k)
		}
	}
	next.lastModified = now
	*p = next
	return nil
}

func validateCampaign(m map[string]any) error {
	c, ok := m["authenticationMethodsRegistrationCampaign"].(map[string]any)
	if !ok {
		return nil
	}
	if st, ok := c["state"]; ok {
		switch st {
		case "default", "enabled", "disabled":
		default:
			return fmt.Errorf("Invalid value '%v' for property 'state' of authenticationMethodsRegistrationCampaign.", st)
		}
	}
	if d, ok := c["snoozeDurationInDays"]; ok {
		f, ok := d.(float64)
		if !ok || f < 0 || f > 14 {
			return fmt.Errorf("snoozeDurationInDays must be between 0 and 14.")
		}
	}
	return nil
}

// patchConfig applies a PATCH body to one method configuration.
func (p *methodsPolicy) patchConfig(id string, body map[string]any, groupExists func(string) bool, now time.Time) error {
	want := methodODataType(id)
	ot, ok := body["@odata.type"].(string)
	if !ok {
		return fmt.Errorf("The request body must specify '@odata.type' for an authenticationMethodConfiguration.")
	}
	if !strings.EqualFold(ot, want) {
		return fmt.Errorf("Invalid @odata.type '%s' for authentication method configuration '%s': expected '%s'.", ot, id, want)
	}
	next := maps.Clone(p.configs[id])
	for k, v := range body {
		switch k {
		case "@odata.type":
		case "id":
			if s, _ := v.(string); !strings.EqualFold(s, id) {
				return fmt.Errorf("Property 'id' is read-only.")
			}
		case "state":
			if v != "enabled" && v != "disabled" {
				return fmt.Errorf("Invalid value '%v' for property 'state': expected enabled or disabled.", v)
			}
			next[k] = v
		case "includeTargets", "excludeTargets":
			arr, ok := v.([]any)
			if !ok {
				return fmt.Errorf("Invalid value for property '%s': expected a collection.", k)
			}
			for _, e := range arr {
				tm, ok := e.(map[string]any)
				if !ok {
					return fmt.Errorf("Invalid target in '%s'.", k)
				}
				tid, _ := tm["id"].(string)
				if tid == "" {
					return fmt.Errorf("Each target in '%s' needs an 'id'.", k)
				}
				if tt, ok := tm["targetType"]; ok && tt != "group" && tt != "user" {
					return fmt.Errorf("Invalid targetType '%v' in '%s'.", tt, k)
				}
				if k == "excludeTargets" && tid == "all_users" {
					return fmt.Errorf("'all_users' cannot be excluded.")
				}
				if tid != "all_users" && !groupExists(tid) {
					return fmt.Errorf("Group '%s' in '%s' does not exist.", tid, k)
				}
				if _, ok := tm["targetType"]; !ok {
					tm["targetType"] = "group"
				}
				if k == "includeTargets" {
					if _, ok := tm["isRegistrationRequired"]; !ok {
						tm["isRegistrationRequired"] = false
					}
				}
			}
			next[k] = arr
		default:
			if _, known := next[k]; !known {
				return fmt.Errorf("Invalid property '%s' for %s.", k, strings.TrimPrefix(want, "#microsoft.graph."))
			}
			next[k] = v
		}
	}
	p.configs[id] = next
	p.lastModified = now
	return nil
}

// passwordResetPolicy is the portal's PasswordResetPolicies object. Field
// order is the JSON order; the misspelling of
// registrationReconfirmIntevalInDays is the portal's.
type passwordResetPolicy struct {
	ObjectID                              string           `json:"objectId"`
	EnablementType                        int              `json:"enablementType"`
	PasswordResetEnabledGroupIDs          []string         `json:"passwordResetEnabledGroupIds"`
	PasswordResetEnabledGroupName         string           `json:"passwordResetEnabledGroupName"`
	NumberOfAuthenticationMethodsRequired int              `json:"numberOfAuthenticationMethodsRequired"`
	EmailOptionEnabled                    bool             `json:"emailOptionEnabled"`
	MobilePhoneOptionEnabled              bool             `json:"mobilePhoneOptionEnabled"`
	OfficePhoneOptionEnabled              bool             `json:"officePhoneOptionEnabled"`
	SecurityQuestionsOptionEnabled        bool             `json:"securityQuestionsOptionEnabled"`
	MobileAppNotificationEnabled          bool             `json:"mobileAppNotificationEnabled"`
	MobileAppCodeEnabled                  bool             `json:"mobileAppCodeEnabled"`
	EmailOptionAllowed                    bool             `json:"emailOptionAllowed"`
	MobilePhoneOptionAllowed              bool             `json:"mobilePhoneOptionAllowed"`
	OfficePhoneOptionAllowed              bool             `json:"officePhoneOptionAllowed"`
	SecurityQuestionsOptionAllowed        bool             `json:"securityQuestionsOptionAllowed"`
	MobileAppNotificationOptionAllowed    bool             `json:"mobileAppNotificationOptionAllowed"`
	MobileAppCodeOptionAllowed            bool             `json:"mobileAppCodeOptionAllowed"`
	NumberOfQuestionsToRegister           int              `json:"numberOfQuestionsToRegister"`
	NumberOfQuestionsToReset              int              `json:"numberOfQuestionsToReset"`
	SecurityQuestions                     []map[string]any `json:"securityQuestions"`
	RegistrationRequiredOnSignIn          bool             `json:"registrationRequiredOnSignIn"`
	RegistrationReconfirmIntevalInDays    int              `json:"registrationReconfirmIntevalInDays"`
	SkipRegistrationAllowed               bool             `json:"skipRegistrationAllowed"`
	SkipRegistrationMaxAllowedDays        int              `json:"skipRegistrationMaxAllowedDays"`
	NotifyUsersOnPasswordReset            bool             `json:"notifyUsersOnPasswordReset"`
	NotifyOnAdminPasswordReset            bool             `json:"notifyOnAdminPasswordReset"`
	CustomizeHelpdeskLink                 bool             `json:"customizeHelpdeskLink"`
	CustomHelpdeskEmailOrURL              string           `json:"customHelpdeskEmailOrUrl"`
}

func defaultPasswordResetPolicy() passwordResetPolicy {
	return passwordResetPolicy{
		ObjectID:                              "default",
		PasswordResetEnabledGroupIDs:          []string{},
		NumberOfAuthenticationMethodsRequired: 1,
		EmailOptionEnabled:                    true,
		MobilePhoneOptionEnabled:              true,
		MobileAppCodeEnabled:                  true,
		EmailOptionAllowed:                    true,
		MobilePhoneOptionAllowed:              true,
		OfficePhoneOptionAllowed:              true,
		SecurityQuestionsOptionAllowed:        true,
		MobileAppNotificationOptionAllowed:    true,
		MobileAppCodeOptionAllowed:            true,
		NumberOfQuestionsToRegister:           5,
		NumberOfQuestionsToReset:              3,
		SecurityQuestions:                     []map[string]any{},
		RegistrationRequiredOnSignIn:          true,
		RegistrationReconfirmIntevalInDays:    180,
		SkipRegistrationAllowed:               true,
		SkipRegistrationMaxAllowedDays:        7,
		NotifyUsersOnPasswordReset:            true,
	}
}

// clone deep-copies the slices so callers can't alias tenant state.
func (p passwordResetPolicy) clone() passwordResetPolicy {
	p.PasswordResetEnabledGroupIDs = append([]string{}, p.PasswordResetEnabledGroupIDs...)
	qs := make([]map[string]any, len(p.SecurityQuestions))
	for i, q := range p.SecurityQuestions {
		qs[i] = maps.Clone(q)
	}
	p.SecurityQuestions = qs
	return p
}

// validate checks a policy the way the portal does, naming the field at fault.
func (p *passwordResetPolicy) validate(groupExists func(string) bool) error {
	if p.ObjectID != "default" {
		return fmt.Errorf("objectId must be 'default'")
	}
	switch p.EnablementType {
	case 0, 2:
		if len(p.PasswordResetEnabledGroupIDs) > 1 {
			return fmt.Errorf("passwordResetEnabledGroupIds: at most one group can be selected")
		}
	case 1:
		if len(p.PasswordResetEnabledGroupIDs) != 1 {
			return fmt.Errorf("passwordResetEnabledGroupIds: exactly one group is required when enablementType is 1 (selected)")
		}
		if !groupExists(p.PasswordResetEnabledGroupIDs[0]) {
			return missingGroupError(p.PasswordResetEnabledGroupIDs[0])
		}
	default:
		return fmt.Errorf("enablementType must be 0 (none), 1 (selected) or 2 (all), got %d", p.EnablementType)
	}
	switch p.NumberOfAuthenticationMethodsRequired {
	case 1, 2:
	default:
		return fmt.Errorf("numberOfAuthenticationMethodsRequired must be 1 or 2, got %d", p.NumberOfAuthenticationMethodsRequired)
	}
	if p.MobileAppNotificationEnabled && p.NumberOfAuthenticationMethodsRequired != 2 {
		return fmt.Errorf("mobileAppNotificationEnabled requires numberOfAuthenticationMethodsRequired = 2")
	}
	if p.RegistrationReconfirmIntevalInDays < 0 || p.RegistrationReconfirmIntevalInDays > 730 {
		return fmt.Errorf("registrationReconfirmIntevalInDays must be between 0 and 730, got %d", p.RegistrationReconfirmIntevalInDays)
	}
	enabled := 0
	for _, on := range []bool{p.EmailOptionEnabled, p.MobilePhoneOptionEnabled, p.OfficePhoneOptionEnabled, p.SecurityQuestionsOptionEnabled, p.MobileAppNotificationEnabled, p.MobileAppCodeEnabled} {
		if on {
			enabled++
		}
	}
	if enabled < p.NumberOfAuthenticationMethodsRequired {
		return fmt.Errorf("at least %d authentication methods must be enabled", p.NumberOfAuthenticationMethodsRequired)
	}
	if p.SecurityQuestionsOptionEnabled {
		if p.NumberOfQuestionsToRegister < 3 || p.NumberOfQuestionsToRegister > 5 || p.NumberOfQuestionsToReset < 3 || p.NumberOfQuestionsToReset > 5 || p.NumberOfQuestionsToReset > p.NumberOfQuestionsToRegister {
			return fmt.Errorf("numberOfQuestionsToRegister and numberOfQuestionsToReset must be 3-5, reset <= register")
		}
	}
	if p.CustomizeHelpdeskLink && strings.TrimSpace(p.CustomHelpdeskEmailOrURL) == "" {
		return fmt.Errorf("customHelpdeskEmailOrUrl is required when customizeHelpdeskLink is true")
	}
	if p.SkipRegistrationMaxAllowedDays < 1 || p.SkipRegistrationMaxAllowedDays > 30 {
		return fmt.Errorf("skipRegistrationMaxAllowedDays must be between 1 and 30")
	}
	return nil
}

// missingGroupError is a reference to a group that does not exist; it is
// answered with 404, like Graph's missing reference-property objects.
type missingGroupError string

func (e missingGroupError) Error() string { return msgNotFound(string(e)) }

// onPremPolicy is the portal's OnPremisesPasswordResetPolicies object.
type onPremPolicy struct {
	ObjectID                             string `json:"objectId"`
	PasswordWritebackSupported           bool   `json:"passwordWritebackSupported"`
	AccountUnlockSupported               bool   `json:"accountUnlockSupported"`
	AccountUnlockEnabled                 bool   `json:"accountUnlockEnabled"`
	EnablementForTenant                  bool   `json:"enablementForTenant"`
	CloudProvisioningEnablementForTenant bool   `json:"cloudProvisioningEnablementForTenant"`
}

func defaultOnPremPolicy() onPremPolicy {
	return onPremPolicy{ObjectID: "default", PasswordWritebackSupported: true, AccountUnlockSupported: true}
}

func (p *onPremPolicy) validate() error {
	if p.ObjectID != "default" {
		return fmt.Errorf("objectId must be 'default'")
	}
	if (p.EnablementForTenant || p.CloudProvisioningEnablementForTenant) && !p.PasswordWritebackSupported {
		return fmt.Errorf("enablementForTenant: password writeback is not supported: no synchronization client has it enabled")
	}
	if p.AccountUnlockEnabled && !p.EnablementForTenant && !p.CloudProvisioningEnablementForTenant {
		return fmt.Errorf("accountUnlockEnabled requires password writeback (enablementForTenant) to be enabled")
	}
	return nil
}

// decodeStrict decodes JSON into v, rejecting unknown fields.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// nullable renders "" as JSON null (policyMigrationState on tenants that
// never migrated: new tenants report null).
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
