package entrasim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// AdminEdit is what an administrator changes by hand in the admin center,
// outside any tool: keys of the portal's PasswordResetPolicies and
// OnPremisesPasswordResetPolicies objects (as the portal API spells them),
// and authentication method configuration states by id ("sms":
// "disabled"). Drift tests make it through POST /_sim/admin-edit.
type AdminEdit struct {
	PasswordResetPolicies           map[string]any    `json:"passwordResetPolicies,omitempty"`
	OnPremisesPasswordResetPolicies map[string]any    `json:"onPremisesPasswordResetPolicies,omitempty"`
	Methods                         map[string]string `json:"methods,omitempty"`
}

// EditByHand applies an administrator's edit to a tenant. It is not a
// write through Graph or the portal API: it is not audited, as nothing
// ssprflow did.
func (s *Server) EditByHand(tenantName string, e AdminEdit) error {
	if tenantName == "" {
		tenantName = s.opts.Tenant
	}
	t, ok := s.lookupTenant(tenantName)
	if !ok {
		return fmt.Errorf("entrasim: admin edit: %w: %q", ErrUnknownTenant, tenantName)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(e.PasswordResetPolicies) > 0 {
		p := t.portal.clone()
		if err := overlay(&p, e.PasswordResetPolicies); err != nil {
			return fmt.Errorf("entrasim: admin edit: passwordResetPolicies: %w", err)
		}
		t.portal = p
	}
	if len(e.OnPremisesPasswordResetPolicies) > 0 {
		p := t.onPrem
		if err := overlay(&p, e.OnPremisesPasswordResetPolicies); err != nil {
			return fmt.Errorf("entrasim: admin edit: onPremisesPasswordResetPolicies: %w", err)
		}
		t.onPrem = p
	}
	for raw, state := range e.Methods {
		id, ok := canonicalMethodID(raw)
		if !ok {
			return fmt.Errorf("entrasim: admin edit: no authentication method %q", raw)
		}
		body := map[string]any{"@odata.type": methodODataType(id), "state": state}
		exists := func(g string) bool { _, ok := t.groups[strings.ToLower(g)]; return ok }
		if err := t.methodsPolicy.patchConfig(id, body, exists, s.Now()); err != nil {
			return fmt.Errorf("entrasim: admin edit: method %s: %w", id, err)
		}
	}
	return nil
}

// overlay sets the keys of patch on v (a struct with JSON tags).
func overlay(v any, patch map[string]any) error {
	m, err := jsonObject(v)
	if err != nil {
		return err
	}
	for k, val := range patch {
		if _, ok := m[k]; !ok {
			return fmt.Errorf("unknown key %q", k)
		}
		m[k] = val
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// jsonObject is v (a struct with JSON tags) as its JSON object.
func jsonObject(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}
