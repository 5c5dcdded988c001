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
	// Props holds guest and disabled flags by user id; Admins the ids
	// holding a directory role; Filters the users each $filter selects.
	Props   map[string]entra.User
	Admins  map[string]bool
	Filters map[string]map[string]bool
	// Adds and Removes count BindMembers and UnbindMembers writes per user
	// id, as the simulator's write audit does.
	Adds, Removes map[string]int
	nextID        int
}

var _ entra.Tenant = (*Tenant)(nil)

// New returns a fake tenant holding settings.
func New(settings entra.Settings) *Tenant {
	s := make(entra.Settings, len(settings))
	for k, v := range settings {
		s[k] = v
	}
	return &Tenant{Settings: s, Users: map[string]string{}, Registered: map[string]bool{},
		Groups: map[string]entra.Group{}, GroupMembers: map[string]map[string]bool{}, Err: map[string]error{},
		Props: map[string]entra.User{}, Admins: map[string]bool{}, Filters: map[string]map[string]bool{},
		Adds: map[string]int{}, Removes: map[string]int{}}
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

// users returns every user, ordered by UPN. t.mu must be held.
func (t *Tenant) users() []entra.User {
	out := make([]entra.User, 0, len(t.Users))
	for upn, id := range t.Users {
		u := entra.User{ID: id, UPN: strings.ToLower(upn)}
		if p, ok := t.Props[id]; ok {
			u.Guest, u.Disabled = p.Guest, p.Disabled
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UPN < out[j].UPN })
	return out
}

// CountUsers implements entra.Tenant.
func (t *Tenant) CountUsers(context.Context) (int, error) {
	return do(t, "CountUsers", func() (int, error) { return len(t.Users), nil })
}

// LookupUsers implements entra.Tenant.
func (t *Tenant) LookupUsers(_ context.Context, keys []string, fn func(string, entra.User, bool) error) error {
	found, err := do(t, "LookupUsers", func() (map[string]entra.User, error) {
		m := map[string]entra.User{}
		for _, u := range t.users() {
			m[u.ID], m[u.UPN] = u, u
		}
		return m, nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		u, ok := found[strings.ToLower(k)]
		if err := fn(k, u, ok); err != nil {
			return err
		}
	}
	return nil
}

// EachUser implements entra.Tenant: filter "" is every user; any other
// filter must be a key of Filters (the ids it selects).
func (t *Tenant) EachUser(_ context.Context, filter string, fn func(entra.User) error) error {
	list, err := do(t, "EachUser", func() ([]entra.User, error) {
		all := t.users()
		if filter == "" {
			return all, nil
		}
		ids, ok := t.Filters[filter]
		if !ok {
			return nil, &entra.PermanentError{Op: "list users", Status: 400, Code: "Request_UnsupportedQuery", Message: "unsupported filter " + filter}
		}
		var out []entra.User
		for _, u := range all {
			if ids[u.ID] {
				out = append(out, u)
			}
		}
		return out, nil
	})
	if err != nil {
		return err
	}
	for _, u := range list {
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

// EachGroupMember implements entra.Tenant (groups hold users only, so
// transitive is the same as direct).
func (t *Tenant) EachGroupMember(_ context.Context, groupID string, _ bool, fn func(entra.User) error) error {
	list, err := do(t, "EachGroupMember", func() ([]entra.User, error) {
		members, ok := t.GroupMembers[groupID]
		if !ok {
			return nil, &entra.NotFoundError{Op: "list members", Object: "group " + groupID}
		}
		var out []entra.User
		for _, u := range t.users() {
			if members[u.ID] {
				out = append(out, u)
			}
		}
		return out, nil
	})
	if err != nil {
		return err
	}
	for _, u := range list {
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

// EachAdmin implements entra.Tenant.
func (t *Tenant) EachAdmin(_ context.Context, fn func(string) error) error {
	ids, err := do(t, "EachAdmin", func() ([]string, error) {
		var out []string
		for id := range t.Admins {
			out = append(out, id)
		}
		sort.Strings(out)
		return out, nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

// BindMembers implements entra.Tenant; it counts every add in Writes.
func (t *Tenant) BindMembers(_ context.Context, groupID string, ids []string) (entra.BindResult, error) {
	return do(t, "BindMembers", func() (entra.BindResult, error) {
		var res entra.BindResult
		if len(ids) > entra.MaxBind {
			return res, fmt.Errorf("bind members: %d ids, at most %d", len(ids), entra.MaxBind)
		}
		members, ok := t.GroupMembers[groupID]
		if !ok {
			return res, &entra.NotFoundError{Op: "add members", Object: "group " + groupID}
		}
		known := map[string]bool{}
		for _, id := range t.Users {
			known[id] = true
		}
		for _, id := range ids {
			switch {
			case !known[id]:
				res.NotFound = append(res.NotFound, id)
			case members[id]:
				res.Already = append(res.Already, id)
			default:
				members[id] = true
				t.Adds[id]++
				res.Added = append(res.Added, id)
			}
		}
		return res, nil
	})
}

// UnbindMembers implements entra.Tenant; it counts every removal in Removes.
func (t *Tenant) UnbindMembers(_ context.Context, groupID string, ids []string) (int, error) {
	return do(t, "UnbindMembers", func() (int, error) {
		if len(ids) > entra.MaxBind {
			return 0, fmt.Errorf("remove members: %d ids, at most %d", len(ids), entra.MaxBind)
		}
		n := 0
		for _, id := range ids {
			if t.GroupMembers[groupID][id] {
				delete(t.GroupMembers[groupID], id)
				t.Removes[id]++
				n++
			}
		}
		return n, nil
	})
}
