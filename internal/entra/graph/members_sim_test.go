package graph

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/entrasim"
)

// TestBulkMembersOverSimulator drives the organisation-scale port through
// msgraph-sdk-go over HTTP: lookups in JSON batches (with a missing UPN
// holding an apostrophe, which must be quoted, not break the filter), the
// tenant's count, a paged scan, bulk binds with a collision, members read
// back through the OData cast, and removal in one batch — each member
// written once, as the simulator's audit counts.
func TestBulkMembersOverSimulator(t *testing.T) {
	s := startSim(t, entrasim.Options{Users: 600})
	c := s.client(t)
	ctx := ctxT(t)

	n, err := c.CountUsers(ctx)
	if err != nil || n < 600 {
		t.Fatalf("count users: %d, %v", n, err)
	}
	keys := []string{"o'brien@contoso.onmicrosoft.com"}
	for i := 1; i <= 330; i++ { // two JSON batches' worth of "in" filters
		keys = append(keys, fmt.Sprintf("user%04d@contoso.onmicrosoft.com", i))
	}
	var ids []string
	missing := 0
	err = c.LookupUsers(ctx, keys, func(key string, u entra.User, found bool) error {
		switch {
		case !found:
			missing++
		case !u.Guest:
			ids = append(ids, u.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Guests of the simulator have #EXT# UPNs, so user%04d misses for them too.
	if missing < 1 || len(ids) < 250 {
		t.Fatalf("lookup: %d found, %d missing", len(ids), missing)
	}
	scanned := 0
	if err := c.EachUser(ctx, "", func(entra.User) error { scanned++; return nil }); err != nil || scanned != n {
		t.Fatalf("scan: %d users, %v (count said %d)", scanned, err, n)
	}

	g := mustGroup(t, ctx, c, "Sales 'EU'")
	if found, err := c.FindGroup(ctx, "Sales 'EU'"); err != nil || found.ID != g.ID {
		t.Fatalf("find group with apostrophes: %+v, %v", found, err)
	}
	// One member first, so a later chunk collides and falls back one by one.
	if _, err := c.BindMembers(ctx, g.ID, ids[5:6]); err != nil {
		t.Fatal(err)
	}
	added, already := 0, 0
	for i := 0; i < len(ids); i += entra.MaxBind {
		r, err := c.BindMembers(ctx, g.ID, ids[i:min(i+entra.MaxBind, len(ids))])
		if err != nil {
			t.Fatal(err)
		}
		added, already = added+len(r.Added), already+len(r.Already)
	}
	if added != len(ids)-1 || already != 1 {
		t.Fatalf("bind: %d added, %d already, want %d and 1", added, already, len(ids)-1)
	}
	members := 0
	if err := c.EachGroupMember(ctx, g.ID, true, func(entra.User) error { members++; return nil }); err != nil || members != len(ids) {
		t.Fatalf("transitive members: %d, %v; want %d", members, err, len(ids))
	}
	removed := 0
	for i := 0; i < len(ids); i += entra.MaxBind {
		k, err := c.UnbindMembers(ctx, g.ID, ids[i:min(i+entra.MaxBind, len(ids))])
		if err != nil {
			t.Fatal(err)
		}
		removed += k
	}
	// Removing again is not an error and removes nothing.
	if k, err := c.UnbindMembers(ctx, g.ID, ids[:3]); err != nil || k != 0 {
		t.Fatalf("second removal: %d, %v", k, err)
	}
	if removed != len(ids) {
		t.Fatalf("removed %d, want %d", removed, len(ids))
	}
	for id, w := range s.srv.MemberWrites("contoso.onmicrosoft.com", g.ID) {
		if w.Added != 1 || w.Removed != 1 {
			t.Errorf("user %s: added %d, removed %d", id, w.Added, w.Removed)
		}
	}
}

// TestPacingAvoidsThrottling: with the simulator enforcing a write budget
// (20 per 150 s of its clock, which runs 100 times faster: 1.5 s), the
// client paced by the same budget makes 50 writes with no 429, and takes
// at least the two window turns the budget requires; an unpaced client
// past the budget is throttled. Requests wait for the window longer than
// the client's request timeout, and do not time out.
func TestPacingAvoidsThrottling(t *testing.T) {
	s := startSim(t, entrasim.Options{Users: 300, TimeScale: 100, Quota: entrasim.Quota{DirectoryRU: 3500, Writes: 20}})
	budget := Budget{ResourceUnits: 3500, ResourceUnitWindow: 10 * time.Second, Writes: 20, WriteWindow: 150 * time.Second}.Scaled(100)
	// A request timeout shorter than the wait for the next window: the
	// timeout counts from when the budget admits a request, not from when
	// it queued for it (it did, and a big wave's writes timed out).
	c := s.client(t, func(cfg *Config) {
		cfg.Budget = &budget
		cfg.MaxRetryWait = time.Second
		cfg.HTTPClient = &http.Client{Timeout: 500 * time.Millisecond}
	})
	ctx := ctxT(t)
	g := mustGroup(t, ctx, c, "Paced")
	var ids []string
	if err := c.EachUser(ctx, "", func(u entra.User) error {
		if !u.Guest && len(ids) < 50*entra.MaxBind {
			ids = append(ids, u.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	writes := 0
	for i := 0; i+entra.MaxBind <= len(ids) && writes < 50; i += entra.MaxBind / 4 {
		// 5 members a write, so 50 writes need 250 users.
		if _, err := c.BindMembers(ctx, g.ID, ids[i:i+entra.MaxBind/4]); err != nil {
			t.Fatalf("write %d: %v", writes, err)
		}
		writes++
	}
	elapsed := time.Since(start)
	for _, a := range s.srv.Audit() {
		if a.Status == 429 {
			t.Fatalf("a paced write was throttled: %s %s", a.Method, a.Path)
		}
	}
	if writes < 50 || elapsed < 2*1500*time.Millisecond {
		t.Fatalf("%d writes in %s: the budget allows 50 in no less than 3 s", writes, elapsed)
	}
	raw := s.client(t, func(cfg *Config) { cfg.Budget = &Budget{}; cfg.MaxRetryWait = time.Millisecond })
	var thr *entra.ThrottledError
	for i := 0; i < 40 && thr == nil; i++ {
		_, err := raw.BindMembers(ctx, g.ID, ids[len(ids)-1:])
		errors.As(err, &thr)
	}
	if thr == nil {
		t.Fatal("an unpaced client past the budget was never throttled: the test proves nothing")
	}
}

// TestOrganisationSelections: what a plan selects by, against the
// simulator's organisation: a UPN with an apostrophe is found (quoted by
// doubling in the lookup's filter), the seeded group "Sales 'EU'" is found
// by name, and All-Sales' transitive members are the users of the
// department's nested regional groups.
func TestOrganisationSelections(t *testing.T) {
	s := startSim(t, entrasim.Options{Users: 2000, Org: true})
	c := s.client(t)
	ctx := ctxT(t)
	var found []entra.User
	if err := c.LookupUsers(ctx, []string{"O'Brien@contoso.onmicrosoft.com"}, func(_ string, u entra.User, ok bool) error {
		if ok {
			found = append(found, u)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].UPN != "o'brien@contoso.onmicrosoft.com" {
		t.Fatalf("lookup of o'brien: %+v", found)
	}
	legacy, err := c.FindGroup(ctx, "Sales 'EU'")
	if err != nil {
		t.Fatal(err)
	}
	inLegacy := false
	if err := c.EachGroupMember(ctx, legacy.ID, true, func(u entra.User) error {
		inLegacy = inLegacy || u.ID == found[0].ID
		return nil
	}); err != nil || !inLegacy {
		t.Fatalf("o'brien in Sales 'EU': %v, %v", inLegacy, err)
	}
	all, err := c.FindGroup(ctx, "All-Sales")
	if err != nil {
		t.Fatal(err)
	}
	transitive, direct := 0, 0
	if err := c.EachGroupMember(ctx, all.ID, true, func(entra.User) error { transitive++; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.EachGroupMember(ctx, all.ID, false, func(entra.User) error { direct++; return nil }); err != nil {
		t.Fatal(err)
	}
	sales := 0
	if err := c.EachUser(ctx, "department eq 'Sales'", func(u entra.User) error {
		if !u.Guest {
			sales++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if direct != 0 || transitive != sales || sales < 100 {
		t.Fatalf("All-Sales: %d direct users, %d transitive, want 0 and the %d in Sales", direct, transitive, sales)
	}
}
