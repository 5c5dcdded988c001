package entrasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrUnknownTenant is returned (wrapped) for a tenant the server has never seen.
var ErrUnknownTenant = errors.New("unknown tenant")

// tenantState is a tenant's configuration, canonical: struct fields in a fixed
// order, maps with sorted keys, groups by id, members sorted. Volatile values
// (timestamps) are left out so that a restore is byte-equal.
type tenantState struct {
	Tenant                          string              `json:"tenant"`
	TenantID                        string              `json:"tenantId"`
	AuthenticationMethodsPolicy     map[string]any      `json:"authenticationMethodsPolicy"`
	PasswordResetPolicies           passwordResetPolicy `json:"passwordResetPolicies"`
	OnPremisesPasswordResetPolicies onPremPolicy        `json:"onPremisesPasswordResetPolicies"`
	Groups                          []groupState        `json:"groups"`
}

type groupState struct {
	ID           string   `json:"id"`
	DisplayName  string   `json:"displayName"`
	MailNickname string   `json:"mailNickname"`
	Description  string   `json:"description"`
	Members      []string `json:"members"`
	NestedGroups []string `json:"nestedGroups,omitempty"` // organisation model
	Unified      bool     `json:"unified,omitempty"`      // a Microsoft 365 group
}

func (t *tenant) state() tenantState {
	st := tenantState{
		Tenant:                          t.domain,
		TenantID:                        t.id,
		AuthenticationMethodsPolicy:     t.methodsPolicy.object(false),
		PasswordResetPolicies:           t.portal.clone(),
		OnPremisesPasswordResetPolicies: t.onPrem,
		Groups:                          []groupState{},
	}
	for _, g := range t.groups {
		gs := groupState{ID: g.id, DisplayName: g.displayName, MailNickname: g.mailNickname, Description: g.description, Members: []string{}}
		for _, i := range g.memberList() {
			gs.Members = append(gs.Members, t.users[i].id)
		}
		slices.Sort(gs.Members)
		gs.NestedGroups = slices.Clone(g.nested)
		gs.Unified = g.unified
		st.Groups = append(st.Groups, gs)
	}
	slices.SortFunc(st.Groups, func(a, b groupState) int { return strings.Compare(a.ID, b.ID) })
	return st
}

// StateJSON is the canonical, deterministic JSON of a tenant's configuration
// (domain or tenant id; "" for the default tenant): the authentication
// methods policy and its configurations, the portal's PasswordResetPolicies
// and OnPremisesPasswordResetPolicies, and groups with their members. Two
// reads of an unchanged tenant are byte-equal.
func (s *Server) StateJSON(tenantName string) ([]byte, error) {
	if tenantName == "" {
		tenantName = s.opts.Tenant
	}
	t, ok := s.lookupTenant(tenantName)
	if !ok {
		return nil, fmt.Errorf("entrasim: state: %w: %q", ErrUnknownTenant, tenantName)
	}
	t.mu.Lock()
	st := t.state()
	b, err := json.MarshalIndent(st, "", "  ")
	t.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("entrasim: state: %w", err)
	}
	return append(b, '\n'), nil
}

type stateFile struct {
	Tenants []json.RawMessage `json:"tenants"`
}

// SaveState writes every tenant's state to path (atomically, via a
// temporary file), for `sim serve --state FILE`.
func (s *Server) SaveState(path string) error {
	s.mu.Lock()
	names := make([]string, 0, len(s.tenants))
	for n := range s.tenants {
		names = append(names, n)
	}
	s.mu.Unlock()
	slices.Sort(names)
	var f stateFile
	for _, n := range names {
		b, err := s.StateJSON(n)
		if err != nil {
			return err
		}
		f.Tenants = append(f.Tenants, b)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("entrasim: save state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".entrasim-state-*")
	if err != nil {
		return fmt.Errorf("entrasim: save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("entrasim: save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("entrasim: save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("entrasim: save state: %w", err)
	}
	return nil
}

// LoadState restores tenants from a file written by SaveState. Users are not
// stored: they come from Options (Users, Seed), so load with the same options.
// A missing file is not an error (first run).
func (s *Server) LoadState(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("entrasim: load state: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("entrasim: load state %s: %w", path, err)
	}
	for i, raw := range f.Tenants {
		if err := s.loadTenant(raw); err != nil {
			return fmt.Errorf("entrasim: load state %s: tenant %d: %w", path, i, err)
		}
	}
	return nil
}

func (s *Server) loadTenant(raw []byte) error {
	var st tenantState
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return err
	}
	if st.Tenant == "" {
		return errors.New("tenant: missing domain")
	}
	t := s.tenant(st.Tenant)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := s.Now()
	mp := defaultMethodsPolicy(now)
	if v, ok := st.AuthenticationMethodsPolicy["policyMigrationState"].(string); ok && migrationStates[v] {
		mp.policyMigrationState = v
	}
	if v, ok := st.AuthenticationMethodsPolicy["reconfirmationInDays"].(float64); ok {
		mp.reconfirmationInDays = int(v)
	}
	if v, ok := st.AuthenticationMethodsPolicy["registrationEnforcement"].(map[string]any); ok {
		mp.registrationEnforcement = v
	}
	if cfgs, ok := st.AuthenticationMethodsPolicy["authenticationMethodConfigurations"].([]any); ok {
		for _, c := range cfgs {
			m, ok := c.(map[string]any)
			if !ok {
				return errors.New("authenticationMethodConfigurations: not an object")
			}
			idRaw, _ := m["id"].(string)
			id, ok := canonicalMethodID(idRaw)
			if !ok {
				return fmt.Errorf("authenticationMethodConfigurations: unknown id %q", idRaw)
			}
			mp.configs[id] = m
		}
	}
	groups := map[string]*group{}
	for _, gs := range st.Groups {
		if !isGUID(gs.ID) {
			return fmt.Errorf("group %q: id is not a GUID", gs.ID)
		}
		g := &group{id: strings.ToLower(gs.ID), displayName: gs.DisplayName, mailNickname: gs.MailNickname, description: gs.Description,
			unified: gs.Unified, domainHint: t.domain, created: now, members: map[int32]struct{}{}}
		for _, m := range gs.Members {
			i, ok := t.byID[strings.ToLower(m)]
			if !ok {
				return fmt.Errorf("group %s: member %s is not a user of this tenant (load with the same Users and Seed)", gs.ID, m)
			}
			g.members[i] = struct{}{}
		}
		for _, n := range gs.NestedGroups {
			g.nested = append(g.nested, strings.ToLower(n))
		}
		groups[g.id] = g
	}
	portal := st.PasswordResetPolicies
	if portal.PasswordResetEnabledGroupIDs == nil {
		portal.PasswordResetEnabledGroupIDs = []string{}
	}
	if portal.SecurityQuestions == nil {
		portal.SecurityQuestions = []map[string]any{}
	}
	t.methodsPolicy, t.groups, t.portal, t.onPrem = mp, groups, portal, st.OnPremisesPasswordResetPolicies
	t.reconcileAll(now)
	return nil
}

// SaveStateFile is SaveState (the name internal/cli uses).
func (s *Server) SaveStateFile(path string) error { return s.SaveState(path) }

// LoadStateFile is LoadState (the name internal/cli uses).
func (s *Server) LoadStateFile(path string) error { return s.LoadState(path) }
