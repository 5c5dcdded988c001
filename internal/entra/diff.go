package entra

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/ssprflow/ssprflow/internal/plan"
)

// SortFields orders fields in the portal's order (the settings table's);
// unknown fields go last, alphabetically.
func SortFields(fields []Field) {
	sort.SliceStable(fields, func(i, j int) bool { return fieldLess(fields[i], fields[j]) })
}

// SortChanges orders changes by field in the portal's order.
func SortChanges(changes []Change) {
	sort.SliceStable(changes, func(i, j int) bool { return fieldLess(changes[i].Field, changes[j].Field) })
}

func fieldLess(a, b Field) bool {
	ra, oka := rank[a]
	rb, okb := rank[b]
	switch {
	case oka && okb:
		return ra < rb
	case oka != okb:
		return oka
	default:
		return a < b
	}
}

// Diff returns the changes that turn current into desired: one per field of
// desired whose value differs, in the portal's order. Fields absent from
// desired are left alone.
func Diff(current Snapshot, desired Settings) []Change {
	fields := make([]Field, 0, len(desired))
	for f := range desired {
		fields = append(fields, f)
	}
	SortFields(fields)
	var changes []Change
	for _, f := range fields {
		from, to := current.Settings[f], desired[f]
		if from == to {
			continue
		}
		changes = append(changes, Change{Field: f, From: from, To: to, Portal: f.IsPortal()})
	}
	return changes
}

// PlanDiff is what a whole plan would change in a tenant.
type PlanDiff struct {
	// Snapshot is the tenant as read.
	Snapshot Snapshot `json:"snapshot"`
	// Group is the plan's SSPR group (the first stage's) as the tenant holds
	// it. Its ID is empty when the group does not exist yet or the plan
	// names none.
	Group       Group `json:"group"`
	GroupExists bool  `json:"groupExists"`
	// Scope is who SSPR is for once the last stage has run.
	Scope Scope `json:"scope"`
	// Changes are in the portal's order. Fields that could not be read are
	// not among them: they are in Unread.
	Changes []Change `json:"changes"`
	// Unread are the plan's settings whose current value could not be read
	// (Why), with the value the plan wants (To).
	Unread []Unread `json:"unread,omitempty"`
}

// Unread is a planned setting whose current value is unknown.
type Unread struct {
	Field Field  `json:"field"`
	To    string `json:"to"`
	Why   string `json:"why"`
}

// Previewer is a Tenant that can read its configuration as far as it can,
// naming what it could not read instead of failing (graph.Client).
type Previewer interface {
	Preview(ctx context.Context) (Snapshot, error)
}

// PendingGroupID stands for the id of a group the rollout will create, in
// the group change of a diff made before it exists.
func PendingGroupID(name string) string { return "<new group " + name + ">" }

// DiffPlan reads t, changing nothing, and returns what the whole plan would
// change once its last stage has run: SSPR for all when the plan ends with
// "all", else for the first stage's group. A group that does not exist yet
// is not an error: GroupExists is false and the group's change goes to
// PendingGroupID. Errors reading the tenant are returned wrapped.
//
// The rollout's tenant preflight and `ssprflow plan diff` both call it, so
// that what an operator previews is what the rollout records.
func DiffPlan(ctx context.Context, t Tenant, p *plan.Rollout) (PlanDiff, error) {
	return diffPlan(ctx, t, p, t.Snapshot)
}

// PreviewPlan is DiffPlan for `plan diff`: settings the tenant adapter
// cannot read are reported in Unread instead of failing the preview.
func PreviewPlan(ctx context.Context, t Tenant, p *plan.Rollout) (PlanDiff, error) {
	read := t.Snapshot
	if pv, ok := t.(Previewer); ok {
		read = pv.Preview
	}
	return diffPlan(ctx, t, p, read)
}

func diffPlan(ctx context.Context, t Tenant, p *plan.Rollout, read func(context.Context) (Snapshot, error)) (PlanDiff, error) {
	var d PlanDiff
	snap, err := read(ctx)
	if err != nil {
		return d, fmt.Errorf("read SSPR configuration: %w", err)
	}
	d.Snapshot = snap
	d.Scope = ScopeSelected
	if p.EndsWithAll() {
		d.Scope = ScopeAll
	}
	groupID := ""
	if len(p.Spec.Stages) > 0 && p.Spec.Stages[0].Group != nil {
		name := p.Spec.Stages[0].Group.Name
		g, err := t.FindGroup(ctx, name)
		switch {
		case err == nil:
			d.Group, d.GroupExists, groupID = g, true, g.ID
		case errors.Is(err, ErrNotFound):
			d.Group, groupID = Group{DisplayName: name}, PendingGroupID(name)
		default:
			return d, fmt.Errorf("find group %q: %w", name, err)
		}
	}
	for _, c := range Diff(snap, DesiredSettings(p, groupID, d.Scope)) {
		if why, ok := snap.Unreadable[c.Field]; ok {
			d.Unread = append(d.Unread, Unread{Field: c.Field, To: c.To, Why: why})
			continue
		}
		d.Changes = append(d.Changes, c)
	}
	return d, nil
}
