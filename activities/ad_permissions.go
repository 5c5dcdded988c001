package activities

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// PlanGrantResult lists, per DN, the exact ACEs the grant will add.
type PlanGrantResult struct {
	Connector Account             `json:"connector"`
	ACEs      map[string][]string `json:"aces"` // DN -> hex ACEs not present yet
	Order     []string            `json:"order"`
	// Warnings are the scopes' warnings (AdminSDHolder).
	Warnings []string `json:"warnings,omitempty"`
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
	res.Warnings = scopes.Warnings
	for _, dn := range scopes.DNs {
		missing, err := d.MissingACEs(ctx, dn)
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
			return 0, permanent(errtype.Permanent, fmt.Errorf("decode ACE: %w", err))
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
