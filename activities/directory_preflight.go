package activities

import (
	"context"
	"fmt"

	"github.com/ssprflow/ssprflow/internal/plan"
)

// DirectoryPreflightInput checks the directory without changing it.
type DirectoryPreflightInput struct {
	Plan plan.Rollout `json:"plan"`
}

// DirectoryPreflightResult is what the directory looks like before the rollout.
type DirectoryPreflightResult struct {
	Connector Account  `json:"connector"`
	Scopes    []string `json:"scopes"`
	// ScopeWarnings are the scopes' warnings (AdminSDHolder).
	ScopeWarnings []string          `json:"scopeWarnings,omitempty"`
	MissingACEs   int               `json:"missingAces"`
	Coverage      DirectoryCoverage `json:"coverage"`
	PasswordAge   PasswordAge       `json:"passwordAge"`
}

// DirectoryPreflight binds, resolves the connector account, counts the
// writeback ACEs still missing, scans coverage and checks password age.
func (a *Activities) DirectoryPreflight(ctx context.Context, in DirectoryPreflightInput) (DirectoryPreflightResult, error) {
	var res DirectoryPreflightResult
	d, err := a.directory(ctx, &in.Plan)
	if err != nil {
		return res, err
	}
	defer d.Close()
	if res.Connector, err = d.Connector(ctx); err != nil {
		return res, classify(fmt.Errorf("resolve the connector account of directory profile %q: %w", in.Plan.Spec.Directory.Profile, err))
	}
	scopes, err := d.Scopes(ctx)
	if err != nil {
		return res, classify(err)
	}
	res.Scopes, res.ScopeWarnings = scopes.DNs, scopes.Warnings
	for _, dn := range res.Scopes {
		missing, err := d.MissingACEs(ctx, dn)
		if err != nil {
			return res, classify(fmt.Errorf("read DACL of %s: %w", dn, err))
		}
		res.MissingACEs += len(missing)
	}
	if res.Coverage, err = d.Coverage(ctx); err != nil {
		return res, classify(fmt.Errorf("scan coverage: %w", err))
	}
	if res.PasswordAge, err = d.PasswordAge(ctx); err != nil {
		return res, classify(fmt.Errorf("read password policies: %w", err))
	}
	return res, nil
}
