package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/errtype"
)

// The settings steps (methods, registration, notifications, helpdesk,
// scope, and the tenant half of writeback) share one body: each names the
// tenant fields it owns and settings does the rest. Their activities are in
// activities/settings.go; the adapter is internal/entra (internal/entra/graph
// for Graph and the portal API).

// ChangeTenantSettings is the change a settings step records: the fields
// it changes, with the values to restore.
const ChangeTenantSettings ChangeKind = "tenant-settings"

// settings diffs, records, applies and read-back-verifies one step's fields.
// A field only a person can set (manual mode) becomes a manual task.
func (r *rollout) settings(ctx workflow.Context, o op, fields []entra.Field, scope entra.Scope) (StepStatus, string, error) {
	in := activities.SettingsInput{Plan: r.plan, Fields: fields, GroupID: r.st.GroupID, Scope: scope}
	var changes []entra.Change
	if err := workflow.ExecuteActivity(tenantCtx(ctx), a.DiffSettings, in).Get(ctx, &changes); err != nil {
		return "", "", err
	}
	if len(changes) == 0 {
		return StepUnchanged, "already as planned", nil
	}
	r.record(Change{Stage: o.stage, Step: o.step, Kind: ChangeTenantSettings, Settings: settingChanges(changes)})
	var ar activities.ApplyResult
	if err := workflow.ExecuteActivity(tenantCtx(ctx), a.ApplySettings, activities.ApplyInput{Plan: r.plan, Changes: changes}).Get(ctx, &ar); err != nil {
		return "", "", err
	}
	manual := len(ar.Manual) > 0
	if manual {
		if err := r.task(ctx, o, ar.Instructions); err != nil {
			return "", "", err
		}
	}
	var left []entra.Change
	if err := workflow.ExecuteActivity(tenantCtx(ctx), a.VerifySettings, in).Get(ctx, &left); err != nil {
		return "", "", err
	}
	if len(left) > 0 {
		who := "after ssprflow applied it"
		if manual {
			who = "although the operator reported the task done"
		}
		return "", "", conflict(fmt.Sprintf("read-back failed %s: %s", who, describe(left, true)))
	}
	return StepVerified, describe(changes, false), nil
}

// conflict fails a step whose settings did not read back as planned: a
// person or a policy holds another value, which retrying would not change.
func conflict(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, string(errtype.PolicyConflict), nil)
}

// undoSettings restores the fields a settings step changed, only where the
// tenant still holds what ssprflow wrote.
func (r *rollout) undoSettings(ctx workflow.Context, c Change) (CompensationResult, error) {
	var rep entra.RestoreReport
	in := activities.RestoreInput{Plan: r.plan, Applied: entraChanges(c.Settings)}
	if err := workflow.ExecuteActivity(compensationCtx(ctx), a.RestoreSettings, in).Get(ctx, &rep); err != nil {
		return CompensationResult{}, err
	}
	if len(rep.Manual) > 0 {
		return CompensationResult{Status: CompensationNeedsHuman, Detail: "set back by hand: " + strings.Join(entra.Instructions(rep.Manual), " | ")}, nil
	}
	if len(rep.Conflicts) > 0 {
		parts := make([]string, 0, len(rep.Conflicts))
		for _, cf := range rep.Conflicts {
			parts = append(parts, fmt.Sprintf("%s is now %q (ssprflow wrote %q; original %q): left as is", cf.Field, cf.Found, cf.Expected, cf.Original))
		}
		return CompensationResult{Status: CompensationConflict, Detail: strings.Join(parts, "; ")}, nil
	}
	return CompensationResult{Status: CompensationDone, Detail: fmt.Sprintf("restored %d field(s)", len(c.Settings))}, nil
}

func describe(cs []entra.Change, found bool) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		if found {
			parts = append(parts, fmt.Sprintf("%s is %q, expected %q", c.Field, c.From, c.To))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s->%s", c.Field, show(c.From), show(c.To)))
		}
	}
	return strings.Join(parts, ", ")
}

func show(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func settingChanges(cs []entra.Change) []SettingChange {
	out := make([]SettingChange, len(cs))
	for i, c := range cs {
		out[i] = SettingChange{Field: string(c.Field), From: c.From, To: c.To, Portal: c.Portal}
	}
	return out
}

func entraChanges(cs []SettingChange) []entra.Change {
	out := make([]entra.Change, len(cs))
	for i, c := range cs {
		out[i] = entra.Change{Field: entra.Field(c.Field), From: c.From, To: c.To, Portal: c.Portal}
	}
	return out
}
