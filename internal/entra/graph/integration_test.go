package graph

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/plan"
)

const domain = "contoso.onmicrosoft.com"

func ptr[T any](v T) *T { return &v }

// pilotPlan is a plan that changes Graph and portal fields.
func pilotPlan() *plan.Rollout {
	return &plan.Rollout{Spec: plan.Spec{
		SSPRPolicy:      plan.SSPRPolicy{Mode: plan.PolicyModePortalAPI},
		MethodsRequired: 2,
		Methods:         []plan.Method{plan.MethodEmail, plan.MethodMobilePhone, plan.MethodMobileAppCode, plan.MethodOfficePhone},
		Registration:    plan.Registration{ReconfirmDays: ptr(90)},
		Notifications:   plan.Notifications{NotifyAdminsOnAdminReset: ptr(true)},
		Helpdesk:        plan.Helpdesk{URL: "https://help.contoso.com/sspr"},
		Writeback:       plan.Writeback{Mode: plan.WritebackConnect},
	}}
}

func upns(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + "@" + domain
	}
	return out
}

func stateJSON(t *testing.T, s *sim) []byte {
	t.Helper()
	b, err := s.srv.StateJSON("")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rollout makes a group, then applies the pilot plan; it returns the group
// and the changes applied.
func rollout(t *testing.T, ctx context.Context, c *Client) (entra.Group, []entra.Change) {
	t.Helper()
	g := mustGroup(t, ctx, c, "SSPR-Pilot")
	if _, err := c.AddMembers(ctx, g.ID, upns("alice", "bob", "carol")); err != nil {
		t.Fatal(err)
	}
	snap := mustSnapshot(t, ctx, c)
	changes := entra.Diff(snap, entra.DesiredSettings(pilotPlan(), g.ID, entra.ScopeSelected))
	if len(changes) == 0 {
		t.Fatal("plan changes nothing")
	}
	if err := c.Apply(ctx, changes); err != nil {
		t.Fatalf("apply: %v", err)
	}
	return g, changes
}

func TestSnapshotApplyNoDiffThenRestoreByteEqual(t *testing.T) {
	s := startSim(t, entrasim.Options{Users: 100})
	c := s.client(t)
	ctx := ctxT(t)

	g := mustGroup(t, ctx, c, "SSPR-Pilot")
	start := stateJSON(t, s)
	snap := mustSnapshot(t, ctx, c)
	desired := entra.DesiredSettings(pilotPlan(), g.ID, entra.ScopeSelected)
	changes := entra.Diff(snap, desired)
	var graphN, portalN int
	for _, ch := range changes {
		if ch.Portal {
			portalN++
		} else {
			graphN++
		}
	}
	if graphN == 0 || portalN == 0 {
		t.Fatalf("want Graph and portal changes, got %+v", changes)
	}
	if err := c.Apply(ctx, changes); err != nil {
		t.Fatal(err)
	}
	after := mustSnapshot(t, ctx, c)
	if d := entra.Diff(after, desired); len(d) != 0 {
		t.Fatalf("diff after apply: %+v", d)
	}
	if after.GroupName != "SSPR-Pilot" {
		t.Errorf("group name = %q", after.GroupName)
	}
	// Applying again writes nothing to Graph or the portal.
	before := len(s.srv.Audit())
	if err := c.Apply(ctx, entra.Diff(after, desired)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.srv.Audit()) - before; n != 0 {
		t.Errorf("no-op apply wrote %d times", n)
	}
	// Graph PATCHes carry @odata.type and only the changed properties.
	for _, e := range s.srv.Audit() {
		if e.Method == http.MethodPatch && strings.Contains(e.Path, "authenticationMethodConfigurations") {
			body := gunzip(e.Body)
			if !strings.Contains(body, `"@odata.type"`) {
				t.Errorf("PATCH %s without @odata.type: %s", e.Path, body)
			}
			if strings.Contains(body, "includeTargets") {
				t.Errorf("PATCH %s sends unchanged includeTargets: %s", e.Path, body)
			}
		}
	}

	rep, err := entra.Restore(ctx, c, changes)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Conflicts) != 0 || len(rep.Restored) != len(changes) {
		t.Fatalf("restore report: %+v", rep)
	}
	if end := stateJSON(t, s); !bytes.Equal(start, end) {
		t.Fatalf("state after restore differs from start:\n%s", lineDiff(start, end))
	}
	// Restore again: nothing to do.
	rep, err = entra.Restore(ctx, c, changes)
	if err != nil || len(rep.Written) != 0 {
		t.Fatalf("second restore: %+v, %v", rep, err)
	}
}

// gunzip decodes an audited body if it was sent compressed.
func gunzip(body string) string {
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		return body
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return body
	}
	return string(b)
}

func lineDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)) && len(out) < 20; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y))
		}
	}
	return strings.Join(out, "\n")
}

func TestRestoreReportsManualChangeAsConflict(t *testing.T) {
	s := startSim(t, entrasim.Options{Users: 20})
	c := s.client(t)
	ctx := ctxT(t)
	_, changes := rollout(t, ctx, c)

	// A human changes two fields in the portal after the rollout.
	human := s.client(t)
	if err := human.Apply(ctx, []entra.Change{
		{Field: entra.FieldScope, To: string(entra.ScopeAll), Portal: true},
		{Field: entra.FieldReconfirmDays, To: "30", Portal: true},
	}); err != nil {
		t.Fatal(err)
	}
	rep, err := entra.Restore(ctx, c, changes)
	if err != nil {
		t.Fatal(err)
	}
	want := []entra.Conflict{
		{Field: entra.FieldScope, Expected: "selected", Found: "all", Original: "none"},
		{Field: entra.FieldReconfirmDays, Expected: "90", Found: "30", Original: "180"},
	}
	got := map[entra.Field]entra.Conflict{}
	for _, cf := range rep.Conflicts {
		got[cf.Field] = cf
	}
	for _, w := range want {
		if got[w.Field] != w {
			t.Errorf("conflict %s = %+v, want %+v", w.Field, got[w.Field], w)
		}
	}
	if len(rep.Conflicts) != len(want) {
		t.Errorf("conflicts = %+v", rep.Conflicts)
	}
	snap := mustSnapshot(t, ctx, c)
	if snap.Settings[entra.FieldScope] != "all" || snap.Settings[entra.FieldReconfirmDays] != "30" {
		t.Errorf("restore clobbered the human's change: scope=%s reconfirm=%s",
			snap.Settings[entra.FieldScope], snap.Settings[entra.FieldReconfirmDays])
	}
	// Everything else is back.
	for _, ch := range changes {
		if ch.Field == entra.FieldScope || ch.Field == entra.FieldReconfirmDays {
			continue
		}
		if got := snap.Settings[ch.Field]; got != ch.From {
			t.Errorf("%s = %q, want original %q", ch.Field, got, ch.From)
		}
	}
}

func TestManualMode(t *testing.T) {
	s := startSim(t, entrasim.Options{Users: 20})
	ctx := ctxT(t)
	c := s.client(t, withMode(plan.PolicyModeManual))
	g := mustGroup(t, ctx, c, "SSPR-Pilot")
	snap := mustSnapshot(t, ctx, c)
	if _, ok := snap.Settings[entra.FieldScope]; !ok {
		t.Fatal("manual mode with a portal credential must still read the portal")
	}
	changes := entra.Diff(snap, entra.DesiredSettings(pilotPlan(), g.ID, entra.ScopeSelected))
	err := c.Apply(ctx, changes)
	var manual *entra.ManualError
	if !errors.Is(err, entra.ErrManual) || !errors.As(err, &manual) {
		t.Fatalf("apply in manual mode: %v, want ErrManual", err)
	}
	portal := slices.DeleteFunc(slices.Clone(changes), func(c entra.Change) bool { return !c.Portal })
	if !reflect.DeepEqual(manual.Changes, portal) {
		t.Errorf("manual changes = %+v, want %+v", manual.Changes, portal)
	}
	if !entra.IsPermanent(err) {
		t.Error("ErrManual must not be retried")
	}
	// Graph fields were applied; portal fields were not.
	after, _ := c.Snapshot(ctx)
	if after.Settings["policy.sms"] != "enabled" || after.Settings[entra.FieldScope] != "none" {
		t.Errorf("after manual apply: sms=%s scope=%s", after.Settings["policy.sms"], after.Settings[entra.FieldScope])
	}
	steps := entra.Instructions(manual.Changes, g)
	if len(steps) == 0 || !strings.Contains(steps[0], "Select group: SSPR-Pilot") {
		t.Errorf("instructions: %q", steps)
	}
	// The operator does it by hand; Apply now verifies and succeeds.
	if err := s.client(t).Apply(ctx, manual.Changes); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(ctx, changes); err != nil {
		t.Fatalf("apply after the human did it: %v", err)
	}

	// Without a portal credential: Graph fields only, portal changes are manual.
	bare := s.client(t, withMode(plan.PolicyModeManual), withoutPortal())
	snap, err = bare.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Settings[entra.FieldScope]; ok {
		t.Error("snapshot without portal credential has portal fields")
	}
	err = bare.Apply(ctx, []entra.Change{{Field: entra.FieldNotifyUsers, To: "false", Portal: true}})
	if !errors.Is(err, entra.ErrManual) {
		t.Fatalf("apply portal field without credential in manual mode: %v", err)
	}
}

func TestPortalAPIModeWithoutPortalCredential(t *testing.T) {
	s := startSim(t, entrasim.Options{Users: 10})
	ctx := ctxT(t)
	c := s.client(t, withoutPortal())
	_, err := c.Snapshot(ctx)
	var pe *entra.PermanentError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "no portal credential") {
		t.Fatalf("snapshot: %v", err)
	}
	err = c.Apply(ctx, []entra.Change{{Field: entra.FieldNotifyUsers, To: "false", Portal: true}})
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "PortalCredential") {
		t.Fatalf("apply: %v", err)
	}
}

func TestGroupsAndMembers(t *testing.T) {
	s := startSim(t, entrasim.Options{Users: 100})
	c := s.client(t)
	ctx := ctxT(t)

	if _, err := c.FindGroup(ctx, "SSPR-Wave's"); !errors.Is(err, entra.ErrNotFound) {
		t.Fatalf("find missing group: %v", err)
	}
	g := mustGroup(t, ctx, c, "SSPR-Wave's")
	again, err := c.CreateGroup(ctx, "SSPR-Wave's")
	if err != nil || again.ID != g.ID {
		t.Fatalf("second create: %+v, %v; want the same group %s", again, err, g.ID)
	}
	found, err := c.FindGroup(ctx, "SSPR-Wave's")
	if err != nil || found != g {
		t.Fatalf("find: %+v, %v", found, err)
	}

	// 45 users: two full members@odata.bind batches and one of 5, plus a
	// duplicate and an unknown UPN.
	names := existingUsers(t, ctx, c, 1, 45)
	list := append(upns(names...), strings.ToUpper(names[0])+"@"+domain, "nobody@"+domain)
	auditBefore := len(s.srv.Audit())
	res, err := c.AddMembers(ctx, g.ID, list)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 45 || len(res.AlreadyMember) != 0 || !reflect.DeepEqual(res.NotFound, []string{"nobody@" + domain}) {
		t.Fatalf("add: added %d, already %d, not found %v", len(res.Added), len(res.AlreadyMember), res.NotFound)
	}
	var binds, refs int
	for _, e := range s.srv.Audit()[auditBefore:] {
		switch {
		case e.Method == http.MethodPatch && strings.HasSuffix(e.Path, "/groups/"+g.ID):
			binds++
		case e.Method == http.MethodPost && strings.HasSuffix(e.Path, "/members/$ref"):
			refs++
		}
	}
	if binds != 3 || refs != 0 {
		t.Errorf("writes: %d bind PATCHes, %d $ref POSTs; want 3 and 0", binds, refs)
	}
	// Re-adding is idempotent.
	res, err = c.AddMembers(ctx, g.ID, upns(names[0], names[1], "alice"))
	if err != nil || len(res.AlreadyMember) != 2 || len(res.Added) != 1 {
		t.Fatalf("re-add: %+v, %v", res, err)
	}
	members, err := c.Members(ctx, g.ID)
	if err != nil || len(members) != 46 || members[0] != "alice@"+domain {
		t.Fatalf("members: %d %v, %v", len(members), members[:min(3, len(members))], err)
	}
	// Remove by UPN and by id; unknown users and non-members are ignored.
	aliceID, _, err := c.resolveUser(ctx, "alice@"+domain)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveMembers(ctx, g.ID, []string{aliceID, names[0] + "@" + domain, "nobody@" + domain, "dave@" + domain}); err != nil {
		t.Fatal(err)
	}
	members, _ = c.Members(ctx, g.ID)
	if len(members) != 44 {
		t.Fatalf("after remove: %d members", len(members))
	}
	if err := c.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatalf("delete again: %v", err)
	}
	if _, err := c.AddMembers(ctx, g.ID, upns("bob")); !errors.Is(err, entra.ErrNotFound) || !strings.Contains(err.Error(), g.ID) {
		t.Fatalf("add to deleted group: %v", err)
	}
	if err := c.RemoveMembers(ctx, g.ID, upns("bob")); !errors.Is(err, entra.ErrNotFound) {
		t.Fatalf("remove from deleted group: %v", err)
	}
	if _, err := c.Members(ctx, g.ID); !errors.Is(err, entra.ErrNotFound) {
		t.Fatalf("members of deleted group: %v", err)
	}
}

// The service answers 400 "already exist" to a member added twice; both the
// $ref path and a batch collision are idempotent.
func TestAlreadyMemberIs400AndIdempotent(t *testing.T) {
	s := startSim(t, entrasim.Options{Users: 30})
	c := s.client(t)
	ctx := ctxT(t)
	g := mustGroup(t, ctx, c, "G")
	bob, _, _ := c.resolveUser(ctx, "bob@"+domain)
	carol, _, _ := c.resolveUser(ctx, "carol@"+domain)
	if added, err := c.addMember(ctx, g.ID, bob); err != nil || !added {
		t.Fatalf("first add: %v %v", added, err)
	}
	if added, err := c.addMember(ctx, g.ID, bob); err != nil || added {
		t.Fatalf("second add: %v %v, want already a member", added, err)
	}
	err := c.bindMembers(ctx, g.ID, []string{bob, carol})
	if !isAlreadyMember(err) {
		t.Fatalf("batch with an existing member: %v, want 400 already exist", err)
	}
	if e, _ := fromSDK(err); e.status != http.StatusBadRequest {
		t.Fatalf("status %d", e.status)
	}
	// A stale view (bob added behind our back) still converges.
	res, err := c.AddMembers(ctx, g.ID, upns("bob", "carol", "dave"))
	if err != nil || len(res.Added) != 2 || len(res.AlreadyMember) != 1 {
		t.Fatalf("add: %+v, %v", res, err)
	}
}

func TestErrorClasses(t *testing.T) {
	s := startSim(t, entrasim.Options{Users: 10})
	ctx := ctxT(t)

	t.Run("403 policy write names the permission", func(t *testing.T) {
		c := s.client(t, withToken(s.srv.IssueToken("", []string{entrasim.RolePolicyReadAuthMethod}, false)))
		if _, err := c.Snapshot(ctx); err != nil {
			t.Fatalf("read with read permission: %v", err)
		}
		err := c.Apply(ctx, []entra.Change{{Field: "policy.sms", To: "enabled"}})
		var pe *entra.PermissionError
		if !errors.As(err, &pe) || pe.Permission != "Policy.ReadWrite.AuthenticationMethod" || !entra.IsPermanent(err) {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(err.Error(), "needs Policy.ReadWrite.AuthenticationMethod") ||
			!strings.Contains(err.Error(), "Authorization_RequestDenied") {
			t.Errorf("message: %v", err)
		}
	})
	t.Run("403 policy read", func(t *testing.T) {
		c := s.client(t, withToken(s.srv.IssueToken("", []string{entrasim.RoleGroupReadAll}, false)))
		_, err := c.Snapshot(ctx)
		var pe *entra.PermissionError
		if !errors.As(err, &pe) || pe.Permission != "Policy.Read.AuthenticationMethod" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("403 group create and reports", func(t *testing.T) {
		c := s.client(t, withToken(s.srv.IssueToken("", []string{entrasim.RoleGroupReadAll}, false)))
		_, err := c.CreateGroup(ctx, "X")
		var pe *entra.PermissionError
		if !errors.As(err, &pe) || pe.Permission != "Group.Create" {
			t.Fatalf("create: %v", err)
		}
		_, err = c.Coverage(ctx, "")
		if !errors.As(err, &pe) || pe.Permission != "AuditLog.Read.All" {
			t.Fatalf("coverage: %v", err)
		}
	})
	t.Run("403 portal with an app token", func(t *testing.T) {
		c := s.client(t)
		c.cfg.PortalCredential = StaticToken(s.srv.Token())
		_, err := c.Snapshot(ctx)
		var pe *entra.PermissionError
		var perm *entra.PermanentError
		if !errors.As(err, &pe) && !errors.As(err, &perm) {
			t.Fatalf("portal with app token: %v", err)
		}
		if !entra.IsPermanent(err) {
			t.Errorf("not permanent: %v", err)
		}
	})
	t.Run("404 missing group", func(t *testing.T) {
		c := s.client(t)
		missing := "00000000-0000-0000-0000-00000000dead"
		_, err := c.AddMembers(ctx, missing, upns("bob"))
		var nf *entra.NotFoundError
		if !errors.As(err, &nf) || !strings.Contains(nf.Object, missing) || !entra.IsPermanent(err) {
			t.Fatalf("err = %v", err)
		}
		err = c.Apply(ctx, []entra.Change{{Field: entra.FieldGroup, To: missing, Portal: true}})
		if !errors.Is(err, entra.ErrNotFound) {
			t.Fatalf("set SSPR group to a missing group: %v", err)
		}
	})
	t.Run("401 bad token", func(t *testing.T) {
		c := s.client(t, withToken("not-a-token"))
		_, err := c.Snapshot(ctx)
		var pe *entra.PermanentError
		if !errors.As(err, &pe) || pe.Status != http.StatusUnauthorized || !entra.IsPermanent(err) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("400 invalid value is refused before any write", func(t *testing.T) {
		c := s.client(t)
		before := len(s.srv.Audit())
		err := c.Apply(ctx, []entra.Change{{Field: "policy.sms", To: "enabled"}, {Field: entra.FieldMethodsRequired, To: "3", Portal: true}})
		var pe *entra.PermanentError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "1 or 2") {
			t.Fatalf("err = %v", err)
		}
		if n := len(s.srv.Audit()) - before; n != 0 {
			t.Errorf("%d writes before validation failed", n)
		}
	})
}

func TestThrottleStormConverges(t *testing.T) {
	t.Parallel()
	s := startSim(t, entrasim.Options{Users: 50, Seed: 7})
	c := s.client(t, withMaxWait(60*time.Second))
	ctx := ctxT(t)
	faults, err := entrasim.ParseFaults("rate=0.5;codes=429")
	if err != nil {
		t.Fatal(err)
	}
	g := mustGroup(t, ctx, c, "SSPR-Pilot")
	start := stateJSON(t, s)
	s.srv.SetFaults(faults)
	snap := mustSnapshot(t, ctx, c)
	desired := entra.DesiredSettings(pilotPlan(), g.ID, entra.ScopeSelected)
	changes := entra.Diff(snap, desired)
	if err := c.Apply(ctx, changes); err != nil {
		t.Fatal(err)
	}
	after := mustSnapshot(t, ctx, c)
	if d := entra.Diff(after, desired); len(d) != 0 {
		t.Fatalf("diff after apply under throttling: %+v", d)
	}
	if _, err := entra.Restore(ctx, c, changes); err != nil {
		t.Fatal(err)
	}
	s.srv.SetFaults(entrasim.FaultConfig{})
	if end := stateJSON(t, s); !bytes.Equal(start, end) {
		t.Fatalf("state after restore:\n%s", lineDiff(start, end))
	}
	var throttled int
	for _, e := range s.srv.Audit() {
		if e.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	t.Logf("%d writes throttled and retried", throttled)
	if throttled == 0 {
		t.Error("no write was throttled: the storm did not happen")
	}
}

func TestRetryForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec string
	}{
		{"rate=1;codes=429;no-retry-after"},
		{"rate=1;codes=503;retry-after-date"},
		{"rate=1;codes=504;retry-after=1"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			s := startSim(t, entrasim.Options{Users: 10})
			c := s.client(t, withMaxWait(2500*time.Millisecond))
			ctx := ctxT(t)
			f, err := entrasim.ParseFaults(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			s.srv.SetFaults(f)
			begin := time.Now()
			_, err = c.Snapshot(ctx)
			var te *entra.ThrottledError
			if !errors.As(err, &te) || entra.IsPermanent(err) {
				t.Fatalf("err = %v, want ThrottledError", err)
			}
			if took := time.Since(begin); took > 8*time.Second {
				t.Errorf("gave up after %s, want about MaxRetryWait", took)
			}
			// One transient failure is absorbed.
			s.srv.SetFaults(entrasim.FaultConfig{})
			s.srv.FailNextWrites(1, te.Status)
			if err := c.Apply(ctx, []entra.Change{{Field: "policy.sms", To: "enabled"}}); err != nil {
				t.Fatalf("apply after one %d: %v", te.Status, err)
			}
		})
	}
}

func TestCoverageAndPaging(t *testing.T) {
	t.Parallel()
	s := startSim(t, entrasim.Options{Users: 10000, Seed: 3})
	c := s.client(t)
	ctx := ctxT(t)

	tenant, err := c.Coverage(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if tenant.Total < 10000 {
		t.Fatalf("tenant total %d", tenant.Total)
	}
	// Stream every row page by page and compare with the one-request summary.
	var rows, registered, pages int
	err = c.eachRegistration(ctx, "", func(d regDetail) bool {
		rows++
		if b := d.GetIsSsprRegistered(); b != nil && *b {
			registered++
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows != tenant.Total || registered != tenant.Registered {
		t.Fatalf("scan: %d rows, %d registered; summary %+v", rows, registered, tenant)
	}
	pages = (rows + reportPageSize - 1) / reportPageSize
	t.Logf("scanned %d rows in %d pages; tenant %+v", rows, pages, tenant)

	// A filtered read.
	var admins int
	err = c.eachRegistration(ctx, "isAdmin eq true", func(d regDetail) bool { admins++; return true })
	if err != nil || admins == 0 || admins >= rows {
		t.Fatalf("filtered: %d admins, %v", admins, err)
	}

	// Group coverage: both strategies agree with each other.
	g := mustGroup(t, ctx, c, "Wave1")
	names := existingUsers(t, ctx, c, 7, 60)
	if _, err := c.AddMembers(ctx, g.ID, upns(names...)); err != nil {
		t.Fatal(err)
	}
	byFilter, err := c.coverage(ctx, g.ID, strategyFilter)
	if err != nil {
		t.Fatal(err)
	}
	byScan, err := c.coverage(ctx, g.ID, strategyScan)
	if err != nil {
		t.Fatal(err)
	}
	auto, err := c.Coverage(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if byFilter != byScan || auto != byFilter || byFilter.Total != 60 {
		t.Fatalf("filter %+v, scan %+v, auto %+v", byFilter, byScan, auto)
	}
	t.Logf("group coverage %+v (%.1f%%)", auto, auto.Percent())
}

// existingUsers returns n member users (not guests, whose UPNs differ) named
// userNNNN, from every step-th number.
func existingUsers(t *testing.T, ctx context.Context, c *Client, step, n int) []string {
	t.Helper()
	var names []string
	for i := step; len(names) < n; i += step {
		for _, width := range []int{4, 5} {
			name := fmt.Sprintf("user%0*d", width, i)
			if _, ok, err := c.resolveUser(ctx, name+"@"+domain); err != nil {
				t.Fatal(err)
			} else if ok {
				names = append(names, name)
				break
			}
		}
		if i > 100*n {
			t.Fatalf("found only %d users", len(names))
		}
	}
	return names
}

func TestClientsBuiltWhileOthersRead(t *testing.T) {
	s := startSim(t, entrasim.Options{})
	ctx := ctxT(t)
	errs := make(chan error, 16)
	for range 8 {
		go func() {
			c, err := New(ctx, Config{BaseURL: s.base + "/v1.0", PortalURL: s.base, Mode: plan.PolicyModePortalAPI,
				Credential: StaticToken(s.srv.Token()), PortalCredential: StaticToken(s.srv.PortalToken())})
			if err == nil {
				_, err = c.Snapshot(ctx)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestCoverageStrict: the strict simulator (only documented v1.0 query
// shapes) refuses `$filter=id in (...)` and `$top` on
// userRegistrationDetails; group coverage then falls back to documented
// requests — per member for a small group, a paged scan for a large one —
// and still agrees with the permissive simulator's numbers.
func TestCoverageStrict(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	opts := entrasim.Options{Users: 3000, Seed: 3}
	loose := startSim(t, opts)
	opts.Strict = true
	strict := startSim(t, opts)

	// The refusal itself, as any client meets it.
	tok := strict.srv.Token()
	for _, q := range []string{"$filter=" + url.QueryEscape("id in ('a','b')"), "$top=999"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strict.base+"/v1.0/reports/authenticationMethods/userRegistrationDetails?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("strict %s: %d, want 400", q, resp.StatusCode)
		}
	}

	for _, tc := range []struct {
		name    string
		members int
		// want is the documented strategy the strict client must end on.
		perUser bool
	}{
		{"small group, per member", 12, true},
		{"large group, paged scan", 400, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want, got entra.Coverage
			var reports int
			for _, s := range []*sim{loose, strict} {
				// Unpaced: this test counts requests; pacing has its own test.
				c := s.client(t, withoutPacing())
				g := mustGroup(t, ctx, c, "Cov "+tc.name)
				if _, err := c.AddMembers(ctx, g.ID, upns(existingUsers(t, ctx, c, 5, tc.members)...)); err != nil {
					t.Fatal(err)
				}
				before := s.srv.Usage().Reports
				cov, err := c.Coverage(ctx, g.ID)
				if err != nil {
					t.Fatalf("strict=%t: %v", s == strict, err)
				}
				if s == loose {
					want = cov
					continue
				}
				got, reports = cov, s.srv.Usage().Reports-before
				if tc.perUser && !c.noIDIn.Load() {
					t.Error("the strict tenant's refusal of `id in` was not noticed")
				}
			}
			if got != want || got.Total != tc.members {
				t.Fatalf("strict coverage %+v, permissive %+v", got, want)
			}
			// Per member: one summary, (maybe one refused filter), one per member.
			if tc.perUser && reports < tc.members {
				t.Errorf("%d report requests for %d members: not per member", reports, tc.members)
			}
			if !tc.perUser && reports >= tc.members {
				t.Errorf("%d report requests for %d members: not a scan", reports, tc.members)
			}
			t.Logf("strict: %+v in %d report requests", got, reports)
		})
	}
}
