package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/errtype"
)

// directoryPreflight reads AD DS (changing nothing): the connector account,
// the rights still missing, what will never inherit them, and the minimum
// password age, which stops the rollout here rather than half-way.
func (r *rollout) directoryPreflight(ctx workflow.Context, _ op) (StepStatus, string, error) {
	var res activities.DirectoryPreflightResult
	if err := workflow.ExecuteActivity(directoryCtx(ctx), a.DirectoryPreflight, activities.DirectoryPreflightInput{Plan: r.plan}).Get(ctx, &res); err != nil {
		return "", "", err
	}
	pf := r.preflight()
	pf.Connector, pf.ConnectorSID = res.Connector.Name, res.Connector.SID
	pf.MissingACEs = res.MissingACEs
	pf.Protected, pf.AdminCount = res.Coverage.Protected, res.Coverage.AdminCount
	pf.Warnings = append(pf.Warnings, res.ScopeWarnings...)
	pf.Notes = append(pf.Notes, res.Coverage.Remediation...)
	if !res.PasswordAge.OK {
		if req := r.plan.Spec.Directory.RequireMinPasswordAgeZero; req == nil || *req {
			// A blocker found before any change stops here, not half-way.
			return "", "", temporal.NewNonRetryableApplicationError(
				"minimum password age is not 0: "+strings.Join(res.PasswordAge.Findings, "; "), string(errtype.PasswordAge), nil)
		}
		pf.Warnings = append(pf.Warnings, res.PasswordAge.Findings...)
	}
	return StepVerified, fmt.Sprintf("connector %s (%s); %d ACE(s) to add on %d scope(s); %d protected object(s), %d adminCount=1 account(s)",
		res.Connector.Name, res.Connector.SID, res.MissingACEs, len(res.Scopes), res.Coverage.Protected, res.Coverage.AdminCount), nil
}
