// Package entrafake is an in-memory entra.Tenant for unit tests of code that
// drives a tenant (activities, restore logic). It is not a simulator: use
// internal/entrasim for anything that should look like Graph on the wire.
package entrafake

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/ssprflow/ssprflow/internal/entra"
)

// Tenant is an in-memory entra.Tenant. The zero value is not usable; call New.
type Tenant struct {
	mu sync.Mutex
	// Settings is the current configuration.
	Settings entra.Settings
	// Manual makes Apply refuse portal fields with *entra.ManualError.
	Manual bool
	// Users maps lower-case UPN -> user id.
	Users map[string]string
	// Registered is the set of user ids registered (and enabled) for SSPR.
	Registered map[string]bool
	// Groups maps group id -> group; GroupMembers maps group id -> member ids.
	Groups       map[string]entra.Group
	GroupMembers map[string]map[string]bool
	// Err, when set, is returned by the next call of the named method
	// ("Snapshot", "Apply", ...) and then cleared.
	Err map[string]error
	// Applied records every Apply call's changes.
	Applied [][]entra.Change
	nextID  int
}

var _ entra.Tenant = (*Tenant)(nil)

// New returns a fake tenant holding settings.
func New(settings entra.Settings) *Tenant {
	s := make(entra.Settings, len(settings))
	for k, v := range settings {
		s[k] = v
	}
	return &Tenant{Settings: s, Users: map[string]string{}, Registered: map[string]bool{},
		Groups: map[string]entra.Group{}, GroupMembers: map[string]map[string]bool{}, Err: map[string]error{}}
}

// Set changes a field as a human in the portal would.
func (t *Tenant) Set(f entra.Field, v string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Settings[f] = v
}

// Get returns a field's value.
func (t *Tenant) Get(f entra.Field) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.Settings[f]
}

// do runs one method call under the lock, failing it with the error set in
// Err for op (once) instead.
func do[T any](t *Tenant, op string, f func() (T, error)) (T, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.Err[op]; err != nil {
		delete(t.Err, op)
		var zero T
		return zero, err
	}
	return f()
}

// run is do for a method that returns only an error.
func (t *Tenant) run(op string, f func() error) error {
	_, err := do(t, op, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// Snapshot implements entra.Tenant.
func (t *Tenant) Snapshot(context.Context) (entra.Snapshot, error) {
	return do(t, "Snapshot", func() (entra.Snapshot, error) {
		s := make(entra.Settings, len(t.Settings))
		for k, v := range t.Settings {
			s[k] = v
		}
		return entra.Snapshot{Settings: s, GroupName: t.Groups[s[entra.FieldGroup]].DisplayName,
			MigrationState: "migrationComplete"}, nil
	})
}

// Apply implements entra.Tenant.
func (t *Tenant) Apply(_ context.Context, changes []entra.Change) error {
	return t.run("Apply", func() error {
		t.Applied = append(t.Applied, append([]entra.Change(nil), changes...))
		var manual []entra.Change
		for _, c := range changes {
			if c.Field.IsPortal() && t.Manual {
				if t.Settings[c.Field] != c.To {
					manual = append(manual, c)
				}
				continue
			}
			t.Settings[c.Field] = c.To
		}
		if len(manual) > 0 {
			return fmt.Errorf("apply: %w", &entra.ManualError{Changes: manual})
		}
		return nil
	})
}

// FindGroup implements entra.Tenant.
func (t *Tenant) FindGroup(_ context.Context, name string) (entra.Group, error) {
	return do(t, "FindGroup", func() (entra.Group, error) {
		for _, g := range t.Groups {
			if strings.EqualFold(g.DisplayName, name) {
				return g, nil
			}
		}
		return entra.Group{}, &entra.NotFoundError{Op: "find group", Object: fmt.Sprintf("group %q", name)}
	})
}

// CreateGroup implements entra.Tenant.
func (t *Tenant) CreateGroup(_ context.Context, name string) (entra.Group, error) {
	return do(t, "CreateGroup", func() (entra.Group, error) {
		t.nextID++
		g := entra.Group{ID: fmt.Sprintf("group-%d", t.nextID), DisplayName: name}
		t.Groups[g.ID] = g
		t.GroupMembers[g.ID] = map[string]bool{}
		return g, nil
	})
}

// DeleteGroup implements entra.Tenant.
func (t *Tenant) DeleteGroup(_ context.Context, id string) error {
	return t.run("DeleteGroup", func() error {
		delete(t.Groups, id)
		delete(t.GroupMembers, id)
		return nil
	})
}

// AddMembers implements entra.Tenant.
func (t *Tenant) AddMembers(_ context.Context, groupID string, upns []string) (entra.AddResult, error) {
	return do(t, "AddMembers", func() (entra.AddResult, error) {
		var res entra.AddResult
		members, ok := t.GroupMembers[groupID]
		if !ok {
			return res, &entra.NotFoundError{Op: "add members", Object: "group " + groupID}
		}
		for _, upn := range upns {
			id, ok := t.Users[strings.ToLower(upn)]
			switch {
			case !ok:
				res.NotFound = append(res.NotFound, upn)
			case members[id]:
				res.AlreadyMember = append(res.AlreadyMember, id)
			default:
				members[id] = true
				res.Added = append(res.Added, id)
			}
		}
		return res, nil
	})
}

// Members implements entra.Tenant.
func (t *Tenant) Members(_ context.Context, groupID string) ([]string, error) {
	return do(t, "Members", func() ([]string, error) {
		members, ok := t.GroupMembers[groupID]
		if !ok {
			return nil, &entra.NotFoundError{Op: "list members", Object: "group " + groupID}
		}
		var upns []string
		for upn, id := range t.Users {
			if members[id] {
				upns = append(upns, strings.ToLower(upn))
			}
		}
		sort.Strings(upns)
		return upns, nil
	})
}

// RemoveMembers implements entra.Tenant.
func (t *Tenant) RemoveMembers(_ context.Context, groupID string, users []string) error {
	return t.run("RemoveMembers", func() error {
		for _, u := range users {
			if id, ok := t.Users[strings.ToLower(u)]; ok {
				u = id
			}
			delete(t.GroupMembers[groupID], u)
		}
		return nil
	})
}

// Coverage implements entra.Tenant.
func (t *Tenant) Coverage(_ context.Context, groupID string) (entra.Coverage, error) {
	return do(t, "Coverage", func() (entra.Coverage, error) {
		var ids []string
		if groupID == "" {
			for _, id := range t.Users {
				ids = append(ids, id)
			}
		} else {
			for id := range t.GroupMembers[groupID] {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		c := entra.Coverage{Total: len(ids)}
		for _, id := range ids {
			if t.Registered[id] {
				c.Registered++
				c.Capable++
			}
			c.Enabled++
		}
		return c, nil
	})
}
