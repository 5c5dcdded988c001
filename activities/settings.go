package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// The settings activities serve every step that changes tenant settings
// (methods, registration, notifications, helpdesk, scope and the tenant half
// of writeback): the step names its fields (<step>.go), these diff, apply,
// verify and restore them through the entra.Tenant adapter.

// SettingsInput names the fields of one step and the target they take.
type SettingsInput struct {
	Plan    plan.Rollout  `json:"plan"`
	Fields  []entra.Field `json:"fields"`
	GroupID string        `json:"groupId,omitempty"`
	Scope   entra.Scope   `json:"scope"`
}

// DiffSettings reads the tenant and returns what the step would change
// (read-only), so the workflow can record it before applying.
func (a *Activities) DiffSettings(ctx context.Context, in SettingsInput) ([]entra.Change, error) {
	_, snap, err := a.snapshot(ctx, &in.Plan)
	if err != nil {
		return nil, err
	}
	return entra.Diff(snap, pick(entra.DesiredSettings(&in.Plan, in.GroupID, in.Scope), in.Fields)), nil
}

// snapshot connects to p's tenant and reads its SSPR configuration.
func (a *Activities) snapshot(ctx context.Context, p *plan.Rollout) (entra.Tenant, entra.Snapshot, error) {
	t, err := a.tenant(ctx, p)
	if err != nil {
		return nil, entra.Snapshot{}, err
	}
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return nil, entra.Snapshot{}, classify(fmt.Errorf("read SSPR configuration: %w", err))
	}
	return t, snap, nil
}

// ApplyInput carries changes to write.
type ApplyInput struct {
	Plan    plan.Rollout   `json:"plan"`
	Changes []entra.Change `json:"changes"`
}

// ApplyResult says what was written and what a human must do.
type ApplyResult struct {
	Applied      int            `json:"applied"`
	Manual       []entra.Change `json:"manual,omitempty"`
	Instructions []string       `json:"instructions,omitempty"`
}

// ApplySettings writes changes. Writing a value the tenant already holds is
// a no-op, so a retry is harmless. In manual mode the portal-only changes
// come back as instructions for a person.
func (a *Activities) ApplySettings(ctx context.Context, in ApplyInput) (ApplyResult, error) {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return ApplyResult{}, err
	}
	var auto, manual []entra.Change
	for _, c := range in.Changes {
		if c.Portal && in.Plan.Spec.SSPRPolicy.Mode != plan.PolicyModePortalAPI {
			manual = append(manual, c)
		} else {
			auto = append(auto, c)
		}
	}
	if len(auto) > 0 {
		if err := t.Apply(ctx, auto); err != nil {
			return ApplyResult{}, classify(fmt.Errorf("apply %d change(s): %w", len(auto), err))
		}
	}
	res := ApplyResult{Applied: len(auto), Manual: manual}
	if len(manual) > 0 {
		res.Instructions = entra.Instructions(manual)
	}
	return res, nil
}

// VerifySettings re-reads the tenant and returns every field of the step
// that does not hold the planned value.
func (a *Activities) VerifySettings(ctx context.Context, in SettingsInput) ([]entra.Change, error) {
	return a.DiffSettings(ctx, in)
}

// RestoreInput undoes applied tenant changes.
type RestoreInput struct {
	Plan    plan.Rollout   `json:"plan"`
	Applied []entra.Change `json:"applied"`
}

// RestoreSettings restores fields the rollout changed, only where the tenant
// still holds the value the rollout wrote; anything else is a conflict,
// reported and left alone.
func (a *Activities) RestoreSettings(ctx context.Context, in RestoreInput) (entra.RestoreReport, error) {
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return entra.RestoreReport{}, err
	}
	rep, err := entra.Restore(ctx, t, in.Applied)
	if errors.Is(err, entra.ErrManual) {
		return rep, nil // rep.Manual lists what a person must set back
	}
	if err != nil {
		return rep, classify(fmt.Errorf("restore %d field(s): %w", len(in.Applied), err))
	}
	return rep, nil
}

func pick(s entra.Settings, fields []entra.Field) entra.Settings {
	out := entra.Settings{}
	for _, f := range fields {
		if strings.HasSuffix(string(f), ".") { // a prefix such as "method."
			for k, v := range s {
				if strings.HasPrefix(string(k), string(f)) {
					out[k] = v
				}
			}
			continue
		}
		if v, ok := s[f]; ok {
			out[f] = v
		}
	}
	return out
}
