package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// DirectoryDialer binds to the plan's DC with the password resolved from the
// worker's environment or files (the plan holds only the reference).
func DirectoryDialer(logger *slog.Logger) activities.DirectoryDialer {
	return func(ctx context.Context, d *plan.Directory) (activities.Directory, error) {
		pw, err := ad.ResolvePassword(d.BindPassword)
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("bind password for %s: %v (set it in the worker's environment or file)", d.BindUser, err), "DirectoryUnavailable", err)
		}
		c, err := ad.Dial(ctx, ad.Config{URL: d.URL, CAFile: d.CAFile, ServerName: d.ServerName,
			Insecure: d.Insecure, BindUser: d.BindUser, Password: pw})
		if err != nil {
			return nil, err
		}
		return &directory{c: c, plan: d}, nil
	}
}

// directory adapts *ad.Conn to the rollout's Directory port.
type directory struct {
	c    *ad.Conn
	plan *plan.Directory
	acct *ad.Account
}

func (d *directory) account(ctx context.Context) (ad.Account, error) {
	if d.acct == nil {
		a, err := d.c.ResolveAccount(ctx, d.plan.ConnectorAccount)
		if err != nil {
			return a, err
		}
		d.acct = &a
	}
	return *d.acct, nil
}

func (d *directory) Connector(ctx context.Context) (activities.Account, error) {
	a, err := d.account(ctx)
	if err != nil {
		return activities.Account{}, err
	}
	return activities.Account{Name: d.plan.ConnectorAccount, DN: a.DN, SID: a.SID.String()}, nil
}

func (d *directory) Scopes(ctx context.Context) ([]string, error) {
	dns, _ := ad.Targets(d.c.BaseDN(), d.plan.Scope, d.plan.AdminSDHolder)
	return dns, nil
}

func (d *directory) MissingACEs(ctx context.Context, dn, _ string) ([][]byte, error) {
	a, err := d.account(ctx)
	if err != nil {
		return nil, err
	}
	aces := ad.WritebackACEs(a.SID, ad.Rights{ChangePassword: d.plan.ChangePassword, UnexpirePassword: d.plan.UnexpirePassword})
	return d.c.Check(ctx, dn, aces)
}

func (d *directory) Grant(ctx context.Context, dn string, aces [][]byte) (int, error) {
	r, err := d.c.Grant(ctx, dn, aces)
	return len(r.Added), err
}

func (d *directory) Revoke(ctx context.Context, dn string, aces [][]byte) (int, error) {
	r, err := d.c.Revoke(ctx, dn, aces)
	return r.Removed, err
}

func (d *directory) Coverage(ctx context.Context) (activities.DirectoryCoverage, error) {
	scopes, _ := d.Scopes(ctx)
	rep, err := d.c.Coverage(ctx, scopes)
	if err != nil {
		return activities.DirectoryCoverage{}, err
	}
	out := activities.DirectoryCoverage{Protected: len(rep.Unreachable), AdminCount: len(rep.AdminCount)}
	for i, e := range append(rep.Unreachable, rep.AdminCount...) {
		if i >= 5 {
			break
		}
		out.Examples = append(out.Examples, e.DN)
	}
	if len(rep.Unreachable)+len(rep.AdminCount) > 0 {
		out.Remediation = append(out.Remediation, rep.Summary())
	}
	return out, nil
}

// PasswordAge checks every PSO, not only those of particular groups: the
// rollout's groups live in Entra, and a PSO on any synced group can block
// writeback for its members.
func (d *directory) PasswordAge(ctx context.Context, _ []string) (activities.PasswordAge, error) {
	rep, err := d.c.PasswordAge(ctx, nil)
	if err != nil {
		return activities.PasswordAge{}, err
	}
	res := activities.PasswordAge{OK: true}
	if verr := rep.Verify(); verr != nil {
		res.OK = false
		var pe *ad.PasswordAgeError
		if errors.As(verr, &pe) {
			for _, f := range pe.Findings {
				res.Findings = append(res.Findings, f.Remediation)
			}
		} else {
			res.Findings = append(res.Findings, verr.Error())
		}
	}
	return res, nil
}

func (d *directory) Close() error { return d.c.Close() }
