package graph

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/ssprflow/ssprflow/internal/entra"
)

// graphFields are the settings table's Graph rows: a property of an
// authentication method configuration each.
var graphFields = func() []entra.FieldSpec {
	var out []entra.FieldSpec
	for _, s := range entra.Fields() {
		if s.Surface == entra.SurfaceGraph {
			out = append(out, s)
		}
	}
	return out
}()

// The configuration properties the adapter reads and writes, through the
// SDK's typed models.
const (
	propState       = "state"
	propOfficePhone = "isOfficePhoneAllowed"
)

// readPolicy reads the authentication methods policy: every Graph field of
// the settings table, and the migration state.
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
	for _, f := range graphFields {
		cfg, ok := byID[strings.ToLower(f.Object)]
		if !ok {
			continue
		}
		if v, ok := property(cfg, f.Key); ok {
			into[f.Field] = v
		}
	}
	return migration, nil
}

// property reads one property of a configuration as a canonical value.
func property(cfg models.AuthenticationMethodConfigurationable, key string) (string, bool) {
	switch key {
	case propState:
		if s := cfg.GetState(); s != nil {
			return s.String(), true
		}
	case propOfficePhone:
		if v, ok := cfg.(models.VoiceAuthenticationMethodConfigurationable); ok && v.GetIsOfficePhoneAllowed() != nil {
			return strconv.FormatBool(*v.GetIsOfficePhoneAllowed()), true
		}
	}
	return "", false
}

// setProperty sets one property of a PATCH body from a checked value.
func setProperty(body models.AuthenticationMethodConfigurationable, key, v string) error {
	switch key {
	case propState:
		st := models.DISABLED_AUTHENTICATIONMETHODSTATE
		if v == entra.StateEnabled {
			st = models.ENABLED_AUTHENTICATIONMETHODSTATE
		}
		body.SetState(&st)
	case propOfficePhone:
		voice, ok := body.(models.VoiceAuthenticationMethodConfigurationable)
		if !ok {
			return fmt.Errorf("%s is a voice property", key)
		}
		b, _ := strconv.ParseBool(v)
		voice.SetIsOfficePhoneAllowed(&b)
	default:
		return fmt.Errorf("property %s is not supported", key)
	}
	return nil
}

// newConfig builds a PATCH body: the right @odata.type (set by the model's
// constructor) and, later, only the changed properties.
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

// policyPatch is one PATCH of a method configuration.
type policyPatch struct {
	method string
	body   models.AuthenticationMethodConfigurationable
}

// planPolicy turns checked Graph changes into one PATCH per configuration,
// in the settings table's order, carrying only the changed properties.
func planPolicy(changes []entra.Change) ([]policyPatch, error) {
	want := make(map[entra.Field]string, len(changes))
	for _, ch := range changes {
		want[ch.Field] = ch.To
	}
	var patches []policyPatch
	index := map[string]int{}
	for _, f := range graphFields {
		v, ok := want[f.Field]
		if !ok {
			continue
		}
		i, seen := index[f.Object]
		if !seen {
			body := newConfig(f.Object)
			if body == nil {
				return nil, &entra.PermanentError{Op: "apply", Message: fmt.Sprintf("field %s: no SDK model for method %q", f.Field, f.Object)}
			}
			i = len(patches)
			index[f.Object] = i
			patches = append(patches, policyPatch{method: f.Object, body: body})
		}
		if err := setProperty(patches[i].body, f.Key, v); err != nil {
			return nil, &entra.PermanentError{Op: "apply", Message: fmt.Sprintf("field %s: %v", f.Field, err)}
		}
	}
	return patches, nil
}

// applyPolicy PATCHes each changed method configuration once.
func (c *Client) applyPolicy(ctx context.Context, patches []policyPatch) error {
	for _, p := range patches {
		_, err := c.sdk.Policies().AuthenticationMethodsPolicy().AuthenticationMethodConfigurations().
			ByAuthenticationMethodConfigurationId(p.method).Patch(ctx, p.body, nil)
		if err != nil {
			return wrap(call{op: "update " + p.method + " authentication method policy",
				object: "authentication method configuration " + p.method, perm: permPolicyWrite}, err)
		}
		c.log.Info("graph: updated authentication method policy", "method", p.method)
	}
	return nil
}
