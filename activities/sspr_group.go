package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// EnsureGroupInput finds or creates the SSPR group.
type EnsureGroupInput struct {
	Plan plan.Rollout `json:"plan"`
	Name string       `json:"name"`
}

// EnsureGroupResult names the group and whether it exists yet.
type EnsureGroupResult struct {
	Group  entra.Group `json:"group"`
	Exists bool        `json:"exists"`
}

// FindGroup looks the SSPR group up by name (read-only), so the workflow
// can record "group to create" before creating it.
func (a *Activities) FindGroup(ctx context.Context, in EnsureGroupInput) (EnsureGroupResult, error) {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return EnsureGroupResult{}, err
	}
	g, err := t.FindGroup(ctx, in.Name)
	if errors.Is(err, entra.ErrNotFound) {
		return EnsureGroupResult{}, nil
	}
	if err != nil {
		return EnsureGroupResult{}, classify(fmt.Errorf("find group %q: %w", in.Name, err))
	}
	return EnsureGroupResult{Group: g, Exists: true}, nil
}

// EnsureGroup creates the SSPR group unless a group of that name exists:
// a retry after a crash finds the group it created and does not make two.
func (a *Activities) EnsureGroup(ctx context.Context, in EnsureGroupInput) (EnsureGroupResult, error) {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return EnsureGroupResult{}, err
	}
	g, err := t.FindGroup(ctx, in.Name)
	if err == nil {
		return EnsureGroupResult{Group: g, Exists: true}, nil
	}
	if !errors.Is(err, entra.ErrNotFound) {
		return EnsureGroupResult{}, classify(fmt.Errorf("find group %q: %w", in.Name, err))
	}
	g, err = t.CreateGroup(ctx, in.Name)
	if err != nil {
		return EnsureGroupResult{}, classify(fmt.Errorf("create group %q: %w", in.Name, err))
	}
	return EnsureGroupResult{Group: g, Exists: true}, nil
}

// GroupInput names a group for compensation.
type GroupInput struct {
	Plan    plan.Rollout `json:"plan"`
	GroupID string       `json:"groupId,omitempty"`
	Name    string       `json:"name"`
	UPNs    []string     `json:"upns,omitempty"`
}

// DeleteGroup deletes the group the rollout created (by id, or by name when
// a crash lost the id). A group already gone is success.
func (a *Activities) DeleteGroup(ctx context.Context, in GroupInput) error {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return err
	}
	id := in.GroupID
	if id == "" {
		g, err := t.FindGroup(ctx, in.Name)
		if errors.Is(err, entra.ErrNotFound) {
			return nil
		}
		if err != nil {
			return classify(err)
		}
		id = g.ID
	}
	if err := t.DeleteGroup(ctx, id); err != nil && !errors.Is(err, entra.ErrNotFound) {
		return classify(fmt.Errorf("delete group %s: %w", id, err))
	}
	return nil
}
