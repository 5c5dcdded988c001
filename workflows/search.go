package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Typed search attribute names registered in the Temporal namespace. Never
// put secrets or personal data in them: they are stored unencrypted.
const (
	SATenant = "SsprflowTenant"
	SAPlan   = "SsprflowPlan"
	SAStage  = "SsprflowStage"
	SAState  = "SsprflowState"
)

var (
	saTenant = temporal.NewSearchAttributeKeyKeyword(SATenant)
	saPlan   = temporal.NewSearchAttributeKeyKeyword(SAPlan)
	saStage  = temporal.NewSearchAttributeKeyKeyword(SAStage)
	saState  = temporal.NewSearchAttributeKeyKeyword(SAState)
)

// SearchAttributes are a rollout's search attributes at one point: the
// workflow upserts them as it moves, and the start service sets them at
// the start so a new rollout is findable before its first task runs.
func SearchAttributes(tenant, planName, stage string, status Status) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(searchUpdates(tenant, planName, stage, status)...)
}

func searchUpdates(tenant, planName, stage string, status Status) []temporal.SearchAttributeUpdate {
	return []temporal.SearchAttributeUpdate{saTenant.ValueSet(tenant), saPlan.ValueSet(planName),
		saStage.ValueSet(stage), saState.ValueSet(string(status))}
}

func (r *rollout) upsert(ctx workflow.Context) {
	err := workflow.UpsertTypedSearchAttributes(ctx, searchUpdates(r.plan.Metadata.Tenant, r.plan.Metadata.Name, r.st.Stage, r.st.Status)...)
	if err != nil {
		r.logger.Warn("upsert search attributes", "error", err)
	}
}
