package activities

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/ssprflow/ssprflow/internal/plan"
)

// DirectoryPreflightInput checks the directory without changing it.
type DirectoryPreflightInput struct {
	Plan plan.Rollout `json:"plan"`
}

// DirectoryPreflightResult is what the directory looks like before the rollout.
type DirectoryPreflightResult struct {
	Connector   Account           `json:"connector"`
	Scopes      []string          `json:"scopes"`
	MissingACEs int               `json:"missingAces"`
	Coverage    DirectoryCoverage `json:"coverage"`
	PasswordAge PasswordAge       `json:"passwordAge"`
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
	if res.Scopes, err = d.Scopes(ctx); err != nil {
		return res, classify(err)
	}
	for _, dn := range res.Scopes {
		missing, err := d.MissingACEs(ctx, dn, res.Connector.SID)
		if err != nil {
			return res, classify(fmt.Errorf("read DACL of %s: %w", dn, err))
		}
		res.MissingACEs += len(missing)
	}
	if res.Coverage, err = d.Coverage(ctx); err != nil {
		return res, classify(fmt.Errorf("scan coverage: %w", err))
	}
	if res.PasswordAge, err = d.PasswordAge(ctx, nil); err != nil {
		return res, classify(fmt.Errorf("read password policies: %w", err))
	}
	return res, nil
}

// PlanGrantResult lists, per DN, the exact ACEs the grant will add.
type PlanGrantResult struct {
	Connector Account             `json:"connector"`
	ACEs      map[string][]string `json:"aces"` // DN -> hex ACEs not present yet
	Order     []string            `json:"order"`
}

// PlanGrant computes the ACEs missing on each scope DN (read-only), so the
// workflow can record them before any write: compensation then removes
// exactly these, even after a crash between the write and its result.
func (a *Activities) PlanGrant(ctx context.Context, in DirectoryPreflightInput) (PlanGrantResult, error) {
	res := PlanGrantResult{ACEs: map[string][]string{}}
	d, err := a.directory(ctx, &in.Plan)
	if err != nil {
		return res, err
	}
	defer d.Close()
	if res.Connector, err = d.Connector(ctx); err != nil {
		return res, classify(err)
	}
	scopes, err := d.Scopes(ctx)
	if err != nil {
		return res, classify(err)
	}
	for _, dn := range scopes {
		missing, err := d.MissingACEs(ctx, dn, res.Connector.SID)
		if err != nil {
			return res, classify(fmt.Errorf("read DACL of %s: %w", dn, err))
		}
		res.Order = append(res.Order, dn)
		for _, ace := range missing {
			res.ACEs[dn] = append(res.ACEs[dn], hex.EncodeToString(ace))
		}
	}
	return res, nil
}

// ACEInput names ACEs on one DN.
type ACEInput struct {
	Plan plan.Rollout `json:"plan"`
	DN   string       `json:"dn"`
	ACEs []string     `json:"aces"` // hex
}

// Grant adds the ACEs to the DN. ACEs already present are not added again,
// so a retry adds nothing.
func (a *Activities) Grant(ctx context.Context, in ACEInput) (int, error) {
	return a.aceOp(ctx, in, func(d Directory, aces [][]byte) (int, error) { return d.Grant(ctx, in.DN, aces) })
}

// Revoke removes exactly the ACEs ssprflow added; an administrator's ACEs,
// even identical-looking ones added since, stay (one copy per ACE we added).
func (a *Activities) Revoke(ctx context.Context, in ACEInput) (int, error) {
	return a.aceOp(ctx, in, func(d Directory, aces [][]byte) (int, error) { return d.Revoke(ctx, in.DN, aces) })
}

func (a *Activities) aceOp(ctx context.Context, in ACEInput, op func(Directory, [][]byte) (int, error)) (int, error) {
	aces := make([][]byte, 0, len(in.ACEs))
	for _, h := range in.ACEs {
		b, err := hex.DecodeString(h)
		if err != nil {
			return 0, permanent(ErrTypePermanent, fmt.Errorf("decode ACE: %w", err))
		}
		aces = append(aces, b)
	}
	d, err := a.directory(ctx, &in.Plan)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	n, err := op(d, aces)
	if err != nil {
		return n, classify(fmt.Errorf("%s: %w", in.DN, err))
	}
	return n, nil
}

// PasswordAgeInput names the groups in scope.
type PasswordAgeInput struct {
	Plan   plan.Rollout `json:"plan"`
	Groups []string     `json:"groups,omitempty"`
}

// VerifyPasswordAge fails, permanently and with the remediation, when any
// effective minimum password age is not 0 and the plan requires 0. It never
// edits a GPO or a PSO.
func (a *Activities) VerifyPasswordAge(ctx context.Context, in PasswordAgeInput) (PasswordAge, error) {
	d, err := a.directory(ctx, &in.Plan)
	if err != nil {
		return PasswordAge{}, err
	}
	defer d.Close()
	pa, err := d.PasswordAge(ctx, in.Groups)
	if err != nil {
		return pa, classify(fmt.Errorf("read password policies: %w", err))
	}
	req := in.Plan.Spec.Directory.RequireMinPasswordAgeZero
	if !pa.OK && (req == nil || *req) {
		return pa, permanent("PasswordAge", fmt.Errorf("minimum password age is not 0, so writeback can reset a password at most once per period: %s",
			strings.Join(pa.Findings, "; ")))
	}
	return pa, nil
}
