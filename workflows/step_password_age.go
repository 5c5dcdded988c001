package workflows

import (
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
)

// passwordAge checks, again just before writeback, that the effective
// minimum password age is 0 for the users in scope: otherwise a user could
// reset a password at most once per period. It changes nothing.
func (r *rollout) passwordAge(ctx workflow.Context, _ op) (StepStatus, string, error) {
	var pa activities.PasswordAge
	err := workflow.ExecuteActivity(directoryCtx(ctx), a.VerifyPasswordAge,
		activities.PasswordAgeInput{Plan: r.plan}).Get(ctx, &pa)
	if err != nil {
		return "", "", err
	}
	detail := "minimum password age is 0 everywhere in scope"
	if len(pa.Findings) > 0 {
		detail = "accepted by plan: " + strings.Join(pa.Findings, "; ")
	}
	if pa.Effective != "" {
		detail += " (domain-wide: " + pa.Effective + ")"
	}
	if len(pa.Warnings) > 0 {
		detail += "; warning: " + strings.Join(pa.Warnings, "; ")
	}
	return StepVerified, detail, nil
}
