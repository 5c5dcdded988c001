package worker

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// Differ answers `ssprflow plan diff`: the worker holds the tenant's
// credentials, so it reads the tenant (nothing is changed) and returns
// what the plan would change.
type Differ struct {
	Tenants activities.TenantFactory
	People  People
	Blobs   PlanStore
	// Acts resolves each stage's members (read-only) for the preview.
	Acts *activities.Activities
}

// Diff implements approval.Differ.
func (d *Differ) Diff(ctx context.Context, tenant, rollout, operator string, req approval.DiffRequest) (approval.DiffReply, error) {
	_, p, err := requestedPlan(ctx, d.People, d.Blobs, tenant, rollout, operator, req)
	if err != nil {
		return approval.DiffReply{}, err
	}
	t, err := d.Tenants(ctx, p.Metadata.Tenant, p.Spec.SSPRPolicy.Mode)
	if err != nil {
		return approval.DiffReply{}, err
	}
	reply := approval.DiffReply{Plan: p.Metadata.Name, Tenant: p.Metadata.Tenant, Mode: string(p.Spec.SSPRPolicy.Mode),
		FinalStage: p.Spec.Stages[len(p.Spec.Stages)-1].Name, Changes: []approval.SettingDiff{}}
	pd, err := entra.DiffPlan(ctx, t, p)
	if err != nil {
		return approval.DiffReply{}, fmt.Errorf("tenant %s: %w", p.Metadata.Tenant, err)
	}
	if g := p.Spec.Stages[0].Group; g != nil && !pd.GroupExists {
		reply.Notes = append(reply.Notes, "group "+g.Name+" does not exist yet and would be created")
	}
	for _, c := range pd.Changes {
		sd := approval.SettingDiff{Field: string(c.Field), From: c.From, To: c.To, Portal: c.Portal}
		if spec, ok := entra.Spec(c.Field); ok {
			sd.Step, sd.Label = string(spec.Step), spec.Label()
		}
		reply.Changes = append(reply.Changes, sd)
	}
	if d.Acts != nil {
		reply.Stages = d.stages(ctx, p, pd.Group.ID)
	}
	return reply, nil
}

// stages resolves every stage's selection against today's tenant
// (read-only, as the rollout would at each stage's start). Later stages
// are previewed as if earlier ones had not run yet: a percent stage's
// count is of today's users not yet in the group.
func (d *Differ) stages(ctx context.Context, p *plan.Rollout, groupID string) []approval.StageDiff {
	var out []approval.StageDiff
	for i, st := range p.Spec.Stages {
		if !st.Selects() {
			continue
		}
		res, err := d.Acts.ResolveMembers(ctx, activities.ResolveInput{Plan: *p, StageIdx: i, GroupID: groupID})
		sd := approval.StageDiff{Stage: st.Name, Source: res.Source, ToAdd: res.ToAdd, Already: res.Already,
			Missing: res.Missing, Excluded: res.Excluded, Sample: res.Sample, MissingSample: res.MissingSample}
		if err != nil {
			sd.Problem = err.Error()
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) {
				sd.Problem = appErr.Message()
			}
		}
		out = append(out, sd)
	}
	return out
}
