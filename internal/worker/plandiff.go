package worker

import (
	"context"
	"fmt"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/entra"
)

// Differ answers `ssprflow plan diff`: the worker holds the tenant's
// credentials, so it reads the tenant (nothing is changed) and returns
// what the plan would change.
type Differ struct {
	Tenants activities.TenantFactory
	People  People
}

// Diff implements approval.Differ.
func (d *Differ) Diff(ctx context.Context, tenant, rollout, operator string, req approval.DiffRequest) (approval.DiffReply, error) {
	_, p, err := requestedPlan(d.People, tenant, rollout, operator, req)
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
	return reply, nil
}
