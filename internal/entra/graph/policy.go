package graph

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/ssprflow/ssprflow/internal/entra"
)

// readPolicy reads the authentication methods policy: the state of each SSPR
// method configuration, voice's isOfficePhoneAllowed, and the migration state.
func (c *Client) readPolicy(ctx context.Context, into entra.Settings) (migration string, err error) {
	pol, err := c.sdk.Policies().AuthenticationMethodsPolicy().Get(ctx, nil)
	if err != nil {
		return "", wrap(call{op: "read authentication methods policy", object: "authenticationMethodsPolicy", perm: permPolicyRead}, err)
	}
	if p := pol.GetPolicyMigrationState(); p != nil {
		migration = p.String()
	}
	configs := pol.GetAuthenticationMethodConfigurations()
	if len(configs) == 0 {
		// Not expanded by this service: read the collection.
		resp, err := c.sdk.Policies().AuthenticationMethodsPolicy().AuthenticationMethodConfigurations().Get(ctx, nil)
		if err != nil {
			return "", wrap(call{op: "read authentication method configurations", perm: permPolicyRead}, err)
		}
		configs = resp.GetValue()
	}
	byID := make(map[string]models.AuthenticationMethodConfigurationable, len(configs))
	for _, cfg := range configs {
		if id := cfg.GetId(); id != nil {
			byID[strings.ToLower(*id)] = cfg // ids come back capitalised: match case-insensitively
		}
	}
	for _, m := range entra.PolicyMethods {
		cfg, ok := byID[strings.ToLower(m)]
		if !ok {
			continue
		}
		if s := cfg.GetState(); s != nil {
			into[entra.PolicyField(m)] = s.String()
		}
		if v, ok := cfg.(models.VoiceAuthenticationMethodConfigurationable); ok && v.GetIsOfficePhoneAllowed() != nil {
			into[entra.FieldVoiceOfficePhone] = strconv.FormatBool(*v.GetIsOfficePhoneAllowed())
		}
	}
	return migration, nil
}

// policyPatch is what changes in one method configuration.
type policyPatch struct {
	state       *models.AuthenticationMethodState
	officePhone *bool
}

// planPolicy validates Graph changes and groups them per configuration, in
// the fixed method order.
func planPolicy(changes []entra.Change) ([]string, map[string]*policyPatch, error) {
	patches := map[string]*policyPatch{}
	get := func(m string) *policyPatch {
		if patches[m] == nil {
			patches[m] = &policyPatch{}
		}
		return patches[m]
	}
	known := map[string]bool{}
	for _, m := range entra.PolicyMethods {
		known[m] = true
	}
	for _, ch := range changes {
		if ch.Field == entra.FieldVoiceOfficePhone {
			b, err := strconv.ParseBool(ch.To)
			if err != nil {
				return nil, nil, badValue(ch, "true or false")
			}
			get(entra.PolicyVoice).officePhone = &b
			continue
		}
		m := strings.TrimPrefix(string(ch.Field), string(entra.FieldPolicyPrefix))
		if !known[m] {
			return nil, nil, &entra.PermanentError{Op: "apply", Message: fmt.Sprintf(
				"unsupported field %q (policy methods: %s)", ch.Field, strings.Join(entra.PolicyMethods, ", "))}
		}
		var st models.AuthenticationMethodState
		switch ch.To {
		case entra.StateEnabled:
			st = models.ENABLED_AUTHENTICATIONMETHODSTATE
		case entra.StateDisabled:
			st = models.DISABLED_AUTHENTICATIONMETHODSTATE
		default:
			return nil, nil, badValue(ch, `"enabled" or "disabled"`)
		}
		get(m).state = &st
	}
	var order []string
	for _, m := range entra.PolicyMethods {
		if patches[m] != nil {
			order = append(order, m)
		}
	}
	return order, patches, nil
}

func badValue(ch entra.Change, want string) error {
	return &entra.PermanentError{Op: "apply", Message: fmt.Sprintf("field %s: value %q is invalid, want %s", ch.Field, ch.To, want)}
}

// newConfig builds a PATCH body: the right @odata.type (set by the model's
// constructor) and only the changed properties.
func newConfig(method string) models.AuthenticationMethodConfigurationable {
	switch method {
	case entra.PolicyEmail:
		return models.NewEmailAuthenticationMethodConfiguration()
	case entra.PolicySMS:
		return models.NewSmsAuthenticationMethodConfiguration()
	case entra.PolicyVoice:
		return models.NewVoiceAuthenticationMethodConfiguration()
	case entra.PolicyMicrosoftAuthenticator:
		return models.NewMicrosoftAuthenticatorAuthenticationMethodConfiguration()
	case entra.PolicySoftwareOath:
		return models.NewSoftwareOathAuthenticationMethodConfiguration()
	}
	return nil
}

// applyPolicy PATCHes each changed method configuration once.
func (c *Client) applyPolicy(ctx context.Context, order []string, patches map[string]*policyPatch) error {
	for _, m := range order {
		p := patches[m]
		body := newConfig(m)
		if p.state != nil {
			body.SetState(p.state)
		}
		if p.officePhone != nil {
			body.(*models.VoiceAuthenticationMethodConfiguration).SetIsOfficePhoneAllowed(p.officePhone)
		}
		_, err := c.sdk.Policies().AuthenticationMethodsPolicy().AuthenticationMethodConfigurations().
			ByAuthenticationMethodConfigurationId(m).Patch(ctx, body, nil)
		if err != nil {
			return wrap(call{op: "update " + m + " authentication method policy",
				object: "authentication method configuration " + m, perm: permPolicyWrite}, err)
		}
		c.log.Info("graph: updated authentication method policy", "method", m)
	}
	return nil
}
