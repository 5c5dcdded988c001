package activities

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/memberlist"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/roster"
)

// Blobs is the content-addressed store of plans, member lists and rosters
// (internal/blob): the worker's JetStream store, or a local directory in
// tests.
type Blobs interface {
	Put(ctx context.Context, r io.ReadSeeker) (string, error)
	// Path returns a local file holding the verified blob.
	Path(ctx context.Context, digest string) (string, error)
}

// ResolveInput names the stage whose members to resolve.
type ResolveInput struct {
	Plan     plan.Rollout `json:"plan"`
	StageIdx int          `json:"stageIdx"`
	GroupID  string       `json:"groupId"`
}

// ResolveResult is a stage's roster by digest, with counts and a few names
// for people: never the list itself.
type ResolveResult struct {
	Roster   plan.ListRef `json:"roster"`
	ToAdd    int          `json:"toAdd"`
	Already  int          `json:"already"`
	Missing  int          `json:"missing"`
	Excluded int          `json:"excluded"`
	// Sample names a few members to add; MissingSample a few missing keys.
	Sample        []string `json:"sample,omitempty"`
	MissingSample []string `json:"missingSample,omitempty"`
	// Source says how the stage selected, e.g. `groups "All-Sales"`.
	Source string `json:"source"`
	// Method says how users were looked up (for the request budget).
	Method string `json:"method,omitempty"`
}

const sampleSize = 5

// lookupScanRatio: per-user lookups cost one request per 15 keys, a scan
// one per 999 users; below this many keys lookups are cheap whatever the
// tenant's size, so the count is not even read.
const lookupScanRatio = 300

// ResolveMembers works out whom a stage adds to the SSPR group: the
// stage's inline members, file, groups (transitive), $filter or percent,
// less the plan's exclusions and the group's current members. It stores
// the result as a roster and returns its digest: the workflow records that
// before adding, so retries, compensation and the report act on exactly
// these people. Read-only in the tenant; running it twice gives the same
// roster for an unchanged tenant.
func (a *Activities) ResolveMembers(ctx context.Context, in ResolveInput) (ResolveResult, error) {
	var res ResolveResult
	if in.StageIdx < 0 || in.StageIdx >= len(in.Plan.Spec.Stages) {
		return res, permanent(errtype.Permanent, fmt.Errorf("resolve members: no stage %d", in.StageIdx))
	}
	if a.Blobs == nil {
		return res, permanent(errtype.Permanent, errors.New("this worker has no blob store: member lists cannot be resolved"))
	}
	stage := in.Plan.Spec.Stages[in.StageIdx]
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return res, err
	}
	stop := keepAlive(ctx, "resolving members of stage "+stage.Name)
	defer stop()
	r := &resolver{a: a, t: t, plan: &in.Plan, stage: stage, groupID: in.GroupID}
	if err := r.run(ctx, &res); err != nil {
		return res, classify(fmt.Errorf("stage %s: resolve members: %w", stage.Name, err))
	}
	if res.Missing > 0 && in.Plan.Spec.MissingMembers != plan.MissingMembersContinue {
		return res, permanent(errtype.MembersMissing, fmt.Errorf(
			"stage %s: %d member(s) of %s do not exist in the tenant, e.g. %s; nothing was changed (fix the list, or set spec.missingMembers: continue)",
			stage.Name, res.Missing, res.Source, strings.Join(res.MissingSample, ", ")))
	}
	return res, nil
}

type resolver struct {
	a       *Activities
	t       entra.Tenant
	plan    *plan.Rollout
	stage   plan.Stage
	groupID string

	excluded map[string]string // id -> reason
	member   map[string]bool   // current members of the SSPR group
	seen     map[string]bool
	w        *roster.Writer
	res      *ResolveResult
}

func (r *resolver) run(ctx context.Context, res *ResolveResult) error {
	r.res = res
	if err := r.exclusions(ctx); err != nil {
		return err
	}
	r.member = map[string]bool{}
	if r.groupID != "" {
		if err := r.t.EachGroupMember(ctx, r.groupID, false, func(u entra.User) error {
			r.member[u.ID] = true
			return nil
		}); err != nil {
			return fmt.Errorf("read the SSPR group's members: %w", err)
		}
	}
	f, err := os.CreateTemp("", "ssprflow-roster-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if r.w, err = roster.NewWriter(f); err != nil {
		return err
	}
	r.seen = map[string]bool{}
	if err := r.select_(ctx); err != nil {
		return err
	}
	if err := r.w.Flush(); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	digest, err := r.a.Blobs.Put(ctx, f)
	if err != nil {
		return fmt.Errorf("store the roster: %w", err)
	}
	c := r.w.Counts
	res.Roster = plan.ListRef{Digest: digest, Count: c.Add, Source: res.Source}
	res.ToAdd, res.Already, res.Missing, res.Excluded = c.Add, c.Member, c.Missing, c.Excluded
	return nil
}

// exclusions collects who the plan keeps out: members of the excluded
// groups (transitively) and, when asked, directory role holders.
func (r *resolver) exclusions(ctx context.Context) error {
	r.excluded = map[string]string{}
	ex := r.plan.Spec.Exclude
	for _, name := range ex.Groups {
		g, err := r.t.FindGroup(ctx, name)
		if errors.Is(err, entra.ErrNotFound) {
			return permanent(errtype.GroupMissing, fmt.Errorf(
				"spec.exclude.groups names %q, but no security group has that name (fix the name: exclusions must exist, or people they should protect would be added)", name))
		}
		if err != nil {
			return fmt.Errorf("find exclude group %q: %w", name, err)
		}
		reason := "group:" + name
		if err := r.t.EachGroupMember(ctx, g.ID, true, func(u entra.User) error {
			r.excluded[u.ID] = reason
			return nil
		}); err != nil {
			return fmt.Errorf("read exclude group %q: %w", name, err)
		}
	}
	if ex.ExcludeAdmins() {
		if err := r.t.EachAdmin(ctx, func(id string) error {
			if _, ok := r.excluded[id]; !ok {
				r.excluded[id] = "admin"
			}
			return nil
		}); err != nil {
			return fmt.Errorf("read directory role holders (spec.exclude.admins): %w", err)
		}
	}
	return nil
}

// select_ writes the stage's selection to the roster.
func (r *resolver) select_(ctx context.Context) error {
	st := r.stage
	switch {
	case st.MemberList != nil:
		r.res.Source = st.MemberList.Source
		if r.res.Source == "" {
			r.res.Source = "the member list"
		}
		path, err := r.a.Blobs.Path(ctx, st.MemberList.Digest)
		if err != nil {
			return fmt.Errorf("read the member list %s: %w", st.MemberList.Digest, err)
		}
		keys, err := readKeys(path)
		if err != nil {
			return err
		}
		return r.fromKeys(ctx, keys)
	case len(st.Members) > 0:
		r.res.Source = "members"
		return r.fromKeys(ctx, st.Members)
	case st.Select != nil && len(st.Select.Groups) > 0:
		r.res.Source = "groups " + quoteList(st.Select.Groups)
		for _, name := range st.Select.Groups {
			g, err := r.t.FindGroup(ctx, name)
			if errors.Is(err, entra.ErrNotFound) {
				return permanent(errtype.GroupMissing, fmt.Errorf(
					"select.groups names %q, but no security group has that name (fix the name in the plan)", name))
			}
			if err != nil {
				return fmt.Errorf("find group %q: %w", name, err)
			}
			if err := r.t.EachGroupMember(ctx, g.ID, true, r.user); err != nil {
				return fmt.Errorf("read group %q: %w", name, err)
			}
		}
		return nil
	case st.Select != nil && st.Select.Filter != "":
		r.res.Source = fmt.Sprintf("filter %q", st.Select.Filter)
		err := r.t.EachUser(ctx, st.Select.Filter, r.user)
		var pe *entra.PermanentError
		if errors.As(err, &pe) && pe.Status == 400 {
			return permanent(errtype.Permanent, fmt.Errorf(
				"select.filter %q: Graph refused it (%s): fix the filter (OData: department eq 'Sales'; double an apostrophe inside quotes)", st.Select.Filter, pe.Message))
		}
		return err
	case st.Select != nil && st.Select.Percent > 0:
		return r.percent(ctx, st.Select.Percent)
	}
	return permanent(errtype.Permanent, errors.New("the stage selects no members"))
}

// user writes one selected user.
func (r *resolver) user(u entra.User) error {
	if u.ID == "" || r.seen[u.ID] {
		return nil
	}
	r.seen[u.ID] = true
	ex := r.plan.Spec.Exclude
	reason := r.excluded[u.ID]
	switch {
	case reason != "":
	case u.Guest && ex.ExcludeGuests():
		reason = "guest"
	case u.Disabled && ex.ExcludeDisabled():
		reason = "disabled"
	}
	e := roster.Entry{ID: u.ID, UPN: u.UPN}
	switch {
	case reason != "":
		e.Mark, e.Reason = roster.Excluded, reason
	case r.member[u.ID]:
		e.Mark = roster.Member
	default:
		e.Mark = roster.Add
		if len(r.res.Sample) < sampleSize {
			r.res.Sample = append(r.res.Sample, u.UPN)
		}
	}
	return r.w.Write(e)
}

func (r *resolver) missing(key string) error {
	if len(r.res.MissingSample) < 10 {
		r.res.MissingSample = append(r.res.MissingSample, key)
	}
	return r.w.Write(roster.Entry{Mark: roster.Missing, ID: key})
}

// fromKeys resolves UPNs and object ids: per-key lookups (15 keys per
// filter, 20 filters per batch) or one paged scan of the tenant, whichever
// costs fewer requests.
func (r *resolver) fromKeys(ctx context.Context, keys []string) error {
	keys = dedupKeys(keys)
	scan := false
	if len(keys) > lookupScanRatio {
		n, err := r.t.CountUsers(ctx)
		if err != nil {
			return fmt.Errorf("count users: %w", err)
		}
		lookups := (len(keys) + 14) / 15
		pages := (n + 998) / 999
		scan = pages < lookups
	}
	if !scan {
		r.res.Method = "lookup"
		return r.t.LookupUsers(ctx, keys, func(key string, u entra.User, found bool) error {
			if !found {
				return r.missing(key)
			}
			return r.user(u)
		})
	}
	r.res.Method = "scan"
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	hit := make(map[string]bool, len(keys))
	if err := r.t.EachUser(ctx, "", func(u entra.User) error {
		var k string
		switch {
		case want[u.ID]:
			k = u.ID
		case want[u.UPN]:
			k = u.UPN
		default:
			return nil
		}
		hit[k] = true
		return r.user(u)
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if !hit[k] {
			if err := r.missing(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// percent selects a share of the in-scope users not yet in the group:
// ranked by a hash of the rollout and the user's id, so the choice is the
// same on every retry and spreads over departments, and a later percent
// stage takes the next users.
func (r *resolver) percent(ctx context.Context, pct float64) error {
	r.res.Source = fmt.Sprintf("%g%% of in-scope users not yet added", pct)
	type cand struct {
		rank uint64
		u    entra.User
	}
	var cands []cand
	salt := r.plan.Metadata.Tenant + "/" + r.plan.Metadata.Name + "/"
	ex := r.plan.Spec.Exclude
	if err := r.t.EachUser(ctx, "", func(u entra.User) error {
		if r.member[u.ID] || r.excluded[u.ID] != "" || (u.Guest && ex.ExcludeGuests()) || (u.Disabled && ex.ExcludeDisabled()) {
			return nil
		}
		sum := sha256.Sum256([]byte(salt + u.ID))
		cands = append(cands, cand{rank: binary.BigEndian.Uint64(sum[:8]), u: u})
		return nil
	}); err != nil {
		return err
	}
	slices.SortFunc(cands, func(a, b cand) int {
		switch {
		case a.rank < b.rank:
			return -1
		case a.rank > b.rank:
			return 1
		}
		return strings.Compare(a.u.ID, b.u.ID)
	})
	n := int(math.Ceil(pct / 100 * float64(len(cands))))
	for _, c := range cands[:min(n, len(cands))] {
		if err := r.user(c.u); err != nil {
			return err
		}
	}
	return nil
}

// readKeys reads a stored member list: one lower-case key per line, as the
// worker wrote it when it accepted the plan.
func readKeys(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var keys []string
	_, err = memberlist.Parse("member list", f, func(e memberlist.Entry) error {
		keys = append(keys, e.Key)
		return nil
	})
	return keys, err
}

func dedupKeys(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		k = strings.ToLower(strings.TrimSpace(k))
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
