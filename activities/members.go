package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// MembersInput names UPNs for the SSPR group.
type MembersInput struct {
	Plan    plan.Rollout `json:"plan"`
	GroupID string       `json:"groupId"`
	UPNs    []string     `json:"upns"`
}

// AddMembers adds the UPNs to the group. Already-members are not an error;
// unknown UPNs are reported, and fail the step when the plan says
// missingMembers: stop.
func (a *Activities) AddMembers(ctx context.Context, in MembersInput) (entra.AddResult, error) {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return entra.AddResult{}, err
	}
	stop := keepAlive(ctx, "adding members")
	res, err := t.AddMembers(ctx, in.GroupID, in.UPNs)
	stop()
	if err != nil {
		return res, classify(fmt.Errorf("add %d members to group %s: %w", len(in.UPNs), in.GroupID, err))
	}
	if len(res.NotFound) > 0 && in.Plan.Spec.MissingMembers != plan.MissingMembersContinue {
		sort.Strings(res.NotFound)
		return res, permanent(errtype.MembersMissing, fmt.Errorf(
			"%d member(s) do not exist in the tenant: %s (fix the UPNs in the plan, or set spec.missingMembers: continue)",
			len(res.NotFound), strings.Join(res.NotFound, ", ")))
	}
	return res, nil
}

// PlanMembersResult is the subset of a stage's UPNs that are not members yet.
type PlanMembersResult struct {
	ToAdd         []string `json:"toAdd,omitempty"`
	AlreadyMember []string `json:"alreadyMember,omitempty"`
}

// PlanMembers reads the group's membership (read-only) and returns the UPNs
// the stage would add, so the workflow records exactly those before adding.
func (a *Activities) PlanMembers(ctx context.Context, in MembersInput) (PlanMembersResult, error) {
	var res PlanMembersResult
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return res, err
	}
	current, err := t.Members(ctx, in.GroupID)
	if err != nil {
		return res, classify(fmt.Errorf("list members of %s: %w", in.GroupID, err))
	}
	have := make(map[string]bool, len(current))
	for _, u := range current {
		have[strings.ToLower(u)] = true
	}
	for _, u := range in.UPNs {
		if have[strings.ToLower(u)] {
			res.AlreadyMember = append(res.AlreadyMember, u)
		} else {
			res.ToAdd = append(res.ToAdd, u)
		}
	}
	return res, nil
}

// RemoveMembers removes the UPNs the rollout added. Users already removed
// are fine.
func (a *Activities) RemoveMembers(ctx context.Context, in GroupInput) error {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return err
	}
	if err := t.RemoveMembers(ctx, in.GroupID, in.UPNs); err != nil && !errors.Is(err, entra.ErrNotFound) {
		return classify(fmt.Errorf("remove %d members from %s: %w", len(in.UPNs), in.GroupID, err))
	}
	return nil
}
