package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ssprflow/ssprflow/internal/blob"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/entra/entrafake"
	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/roster"
)

// orgTenant is a fake tenant of n users u0001..: users 1-3 are admins,
// 4 a guest, 5 disabled; group "Sales" holds users 1-20, "Break-Glass"
// user 6, and the SSPR group "SSPR" user 7.
func orgTenant(n int) *entrafake.Tenant {
	t := entrafake.New(nil)
	id := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
	sales, bg, sspr := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i := 1; i <= n; i++ {
		t.Users[fmt.Sprintf("u%04d@contoso.com", i)] = id(i)
		if i <= 20 {
			sales[id(i)] = true
		}
	}
	t.Users["o'brien@contoso.com"] = id(n + 1)
	t.Admins[id(1)], t.Admins[id(2)], t.Admins[id(3)] = true, true, true
	t.Props[id(4)] = entra.User{Guest: true}
	t.Props[id(5)] = entra.User{Disabled: true}
	bg[id(6)], sspr[id(7)] = true, true
	t.Groups["g-sales"], t.GroupMembers["g-sales"] = entra.Group{ID: "g-sales", DisplayName: "Sales 'EU'"}, sales
	t.Groups["g-bg"], t.GroupMembers["g-bg"] = entra.Group{ID: "g-bg", DisplayName: "Break-Glass"}, bg
	t.Groups["g-sspr"], t.GroupMembers["g-sspr"] = entra.Group{ID: "g-sspr", DisplayName: "SSPR"}, sspr
	t.Filters["department eq 'Sales'"] = sales
	return t
}

func yes() *bool { v := true; return &v }

func resolvePlan(st plan.Stage) plan.Rollout {
	return plan.Rollout{Metadata: plan.Metadata{Name: "r", Tenant: "contoso.com"}, Spec: plan.Spec{
		MissingMembers: plan.MissingMembersContinue,
		Exclude:        plan.Exclude{Groups: []string{"Break-Glass"}, Admins: yes()},
		Stages:         []plan.Stage{st},
	}}
}

func readRoster(t *testing.T, d blob.Dir, digest string) map[roster.Mark][]string {
	t.Helper()
	path, err := d.Path(context.Background(), digest)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[roster.Mark][]string{}
	if err := roster.Read(f, func(e roster.Entry) error {
		out[e.Mark] = append(out[e.Mark], e.UPN+e.Reason)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestResolveMembers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stage plan.Stage
		want  ResolveResult // counts only
		check func(t *testing.T, r map[roster.Mark][]string)
	}{
		{name: "inline with a missing UPN and an apostrophe",
			stage: plan.Stage{Name: "s", Members: []string{"u0010@contoso.com", "O'Brien@contoso.com", "ghost@contoso.com", "u0007@contoso.com"}},
			want:  ResolveResult{ToAdd: 2, Already: 1, Missing: 1},
			check: func(t *testing.T, r map[roster.Mark][]string) {
				if got := strings.Join(r[roster.Add], ","); got != "u0010@contoso.com,o'brien@contoso.com" {
					t.Errorf("to add %s", got)
				}
			}},
		{name: "group with exclusions",
			stage: plan.Stage{Name: "s", Select: &plan.Selection{Groups: []string{"Sales 'EU'"}}},
			// 20 members: 3 admins, 1 guest, 1 disabled, 1 break-glass out; 1 already.
			want: ResolveResult{ToAdd: 13, Already: 1, Excluded: 6}},
		{name: "filter",
			stage: plan.Stage{Name: "s", Select: &plan.Selection{Filter: "department eq 'Sales'"}},
			want:  ResolveResult{ToAdd: 13, Already: 1, Excluded: 6}},
		{name: "percent of those not yet added",
			stage: plan.Stage{Name: "s", Select: &plan.Selection{Percent: 50}},
			// 101 users - 6 excluded - 1 member = 94 in scope; half.
			want: ResolveResult{ToAdd: 47}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := blob.Dir(t.TempDir())
			a := &Activities{Tenants: func(context.Context, string, plan.PolicyMode) (entra.Tenant, error) { return orgTenant(100), nil }, Blobs: dir}
			in := ResolveInput{Plan: resolvePlan(tc.stage), GroupID: "g-sspr"}
			res, err := a.ResolveMembers(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if res.ToAdd != tc.want.ToAdd || res.Already != tc.want.Already || res.Missing != tc.want.Missing || res.Excluded != tc.want.Excluded {
				t.Fatalf("got add %d already %d missing %d excluded %d, want %+v", res.ToAdd, res.Already, res.Missing, res.Excluded, tc.want)
			}
			if res.Roster.Count != res.ToAdd {
				t.Errorf("roster count %d, to add %d", res.Roster.Count, res.ToAdd)
			}
			// The same tenant gives the same roster: a retry picks the same people.
			again, err := a.ResolveMembers(context.Background(), in)
			if err != nil || again.Roster.Digest != res.Roster.Digest {
				t.Errorf("second resolution %s (%v), first %s", again.Roster.Digest, err, res.Roster.Digest)
			}
			if tc.check != nil {
				tc.check(t, readRoster(t, dir, res.Roster.Digest))
			}
		})
	}
}

func TestResolveMembersRefuses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mutate   func(*plan.Rollout)
		wantType errtype.Type
		wantText string
	}{
		{"missing members stop the stage before any change", func(p *plan.Rollout) {
			p.Spec.MissingMembers = plan.MissingMembersStop
			p.Spec.Stages[0].Members = []string{"u0001@contoso.com", "ghost@contoso.com"}
		}, errtype.MembersMissing, "ghost@contoso.com"},
		{"an exclusion group that does not exist", func(p *plan.Rollout) {
			p.Spec.Exclude.Groups = []string{"Break Glass"}
		}, errtype.GroupMissing, `"Break Glass"`},
		{"a selected group that does not exist", func(p *plan.Rollout) {
			p.Spec.Stages[0].Members = nil
			p.Spec.Stages[0].Select = &plan.Selection{Groups: []string{"Sales EU"}}
		}, errtype.GroupMissing, `"Sales EU"`},
		{"a filter Graph refuses", func(p *plan.Rollout) {
			p.Spec.Stages[0].Members = nil
			p.Spec.Stages[0].Select = &plan.Selection{Filter: "departmnt eq 'Sales'"}
		}, errtype.Permanent, "fix the filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := orgTenant(30)
			a := &Activities{Tenants: func(context.Context, string, plan.PolicyMode) (entra.Tenant, error) { return ft, nil }, Blobs: blob.Dir(t.TempDir())}
			p := resolvePlan(plan.Stage{Name: "s", Members: []string{"u0001@contoso.com"}})
			tc.mutate(&p)
			_, err := a.ResolveMembers(context.Background(), ResolveInput{Plan: p, GroupID: "g-sspr"})
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != string(tc.wantType) || !appErr.NonRetryable() {
				t.Fatalf("got %v, want non-retryable %s", err, tc.wantType)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not name %s", err, tc.wantText)
			}
			if len(ft.Adds) != 0 {
				t.Errorf("resolution wrote to the tenant: %v", ft.Adds)
			}
		})
	}
}

// TestLargeListsAreScanned: a list longer than a few hundred keys is
// matched against one paged scan of the tenant, not looked up key by key.
func TestLargeListsAreScanned(t *testing.T) {
	ft := orgTenant(2000)
	dir := blob.Dir(t.TempDir())
	var keys strings.Builder
	for i := 1; i <= 1500; i++ {
		fmt.Fprintf(&keys, "u%04d@contoso.com\n", i)
	}
	d, err := dir.Put(context.Background(), strings.NewReader(keys.String()))
	if err != nil {
		t.Fatal(err)
	}
	a := &Activities{Tenants: func(context.Context, string, plan.PolicyMode) (entra.Tenant, error) { return ft, nil }, Blobs: dir}
	p := resolvePlan(plan.Stage{Name: "s", MemberList: &plan.ListRef{Digest: d, Count: 1500, Source: "hr.csv"}})
	res, err := a.ResolveMembers(context.Background(), ResolveInput{Plan: p, GroupID: "g-sspr"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Method != "scan" || res.ToAdd != 1500-6-1 {
		t.Fatalf("method %s, to add %d", res.Method, res.ToAdd)
	}
}

// TestAddRosterResumes: an attempt that died after its last heartbeat had
// already added more than the heartbeat says; the next attempt resumes
// from the heartbeat, skips whoever is already in, and adds nobody twice.
// Its compensation removes each once.
func TestAddRosterResumes(t *testing.T) {
	ft := orgTenant(500)
	dir := blob.Dir(t.TempDir())
	a := &Activities{Tenants: func(context.Context, string, plan.PolicyMode) (entra.Tenant, error) { return ft, nil }, Blobs: dir}
	p := resolvePlan(plan.Stage{Name: "s", Select: &plan.Selection{Percent: 100}})
	res, err := a.ResolveMembers(context.Background(), ResolveInput{Plan: p, GroupID: "g-sspr"})
	if err != nil {
		t.Fatal(err)
	}
	in := RosterInput{Plan: p, Stage: "s", GroupID: "g-sspr", Roster: res.Roster}

	// The dead attempt: it added the first 300, its last heartbeat said 200.
	path, _ := dir.Path(context.Background(), res.Roster.Digest)
	f, _ := os.Open(path)
	n := 0
	_ = roster.Read(f, func(e roster.Entry) error {
		if e.Mark == roster.Add && n < 300 {
			ft.GroupMembers["g-sspr"][e.ID] = true
			ft.Adds[e.ID]++
			n++
		}
		return nil
	})
	f.Close()

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	env.SetHeartbeatDetails(Progress{Done: 200, Total: res.Roster.Count, Added: 200})
	v, err := env.ExecuteActivity(a.AddRoster, in)
	if err != nil {
		t.Fatal(err)
	}
	var out RosterResult
	if err := v.Get(&out); err != nil {
		t.Fatal(err)
	}
	if !out.Resumed || out.Added != res.ToAdd {
		t.Errorf("resumed %v, added %d, want %d", out.Resumed, out.Added, res.ToAdd)
	}
	for id, c := range ft.Adds {
		if c != 1 {
			t.Errorf("user %s added %d times", id, c)
		}
	}
	if len(ft.Adds) != res.ToAdd {
		t.Errorf("%d users added, roster has %d", len(ft.Adds), res.ToAdd)
	}

	env2 := s.NewTestActivityEnvironment()
	env2.RegisterActivity(a)
	if _, err := env2.ExecuteActivity(a.RemoveRoster, in); err != nil {
		t.Fatal(err)
	}
	for id, c := range ft.Removes {
		if c != 1 {
			t.Errorf("user %s removed %d times", id, c)
		}
	}
	if len(ft.Removes) != res.ToAdd || !ft.GroupMembers["g-sspr"][fmt.Sprintf("00000000-0000-4000-8000-%012d", 7)] {
		t.Errorf("%d removed (want %d), and the member from before must stay", len(ft.Removes), res.ToAdd)
	}
}
