package worker

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// DirectoryDialer binds to the domain controller of the directory profile
// the plan names, as the profile's identity, with the password resolved
// from the profile's reference. The plan's directory section only names the
// profile and makes the rollout's choices (scope, rights), so a plan never
// chooses where the worker connects or which of its secrets it sends.
//
// Errors go into workflow history, where operators read them: they name the
// profile but never a path, an environment variable, or whether one exists.
// The detail goes to logger.
func DirectoryDialer(cfg *config.Config, logger *slog.Logger) activities.DirectoryDialer {
	if logger == nil {
		logger = slog.Default()
	}
	return func(ctx context.Context, d *plan.Directory) (activities.Directory, error) {
		dir, err := openDirectory(ctx, cfg, d, logger)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return dir, nil
	}
}

// openDirectory binds to the DC of d's profile: the one session the
// activities and `ssprflow-worker ad` share.
func openDirectory(ctx context.Context, cfg *config.Config, d *plan.Directory, logger *slog.Logger) (*directory, error) {
	prof, err := cfg.DirectoryProfile(d.Profile)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), string(errtype.DirectoryUnavailable), nil)
	}
	ac, err := profileConfig(prof, logger)
	if err != nil {
		return nil, err
	}
	c, err := ad.Dial(ctx, ac)
	if err != nil {
		return nil, fmt.Errorf("directory profile %s: %w", prof.Profile, err)
	}
	return &directory{c: c, plan: d, profile: prof}, nil
}

// profileConfig resolves a profile into the dial settings: the bind
// password, and a CA file read here first so that its path never reaches an
// error the workflow records.
func profileConfig(prof *config.Directory, logger *slog.Logger) (ad.Config, error) {
	unreadable := func(what string, err error, attrs ...any) error {
		logger.Error("directory profile: "+what+" could not be read", append([]any{"profile", prof.Profile, "err", err}, attrs...)...)
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("directory profile %s: the %s could not be read (see the worker log)", prof.Profile, what), string(errtype.DirectoryUnavailable), nil)
	}
	pw, err := prof.BindPassword.Require()
	if err != nil {
		return ad.Config{}, unreadable("bind password", err, "env", prof.BindPassword.Env, "file", prof.BindPassword.File)
	}
	if prof.CAFile != "" {
		pem, err := os.ReadFile(prof.CAFile)
		if err == nil && !x509.NewCertPool().AppendCertsFromPEM(pem) {
			err = errors.New("the file holds no PEM certificate")
		}
		if err != nil {
			return ad.Config{}, unreadable("CA file", err, "file", prof.CAFile)
		}
	}
	return ad.Config{URL: prof.URL, CAFile: prof.CAFile, ServerName: prof.ServerName,
		Insecure: prof.AllowPlainLDAP, BindUser: prof.BindUser, Password: pw}, nil
}

// directory adapts *ad.Conn to the rollout's Directory port.
type directory struct {
	c       *ad.Conn
	plan    *plan.Directory
	profile *config.Directory
	acct    *ad.Account
}

func (d *directory) account(ctx context.Context) (ad.Account, error) {
	if d.acct == nil {
		a, err := d.c.ResolveAccount(ctx, d.profile.ConnectorAccount)
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
	return activities.Account{Name: d.profile.ConnectorAccount, DN: a.DN, SID: a.SID.String()}, nil
}

func (d *directory) Scopes(ctx context.Context) (activities.Scopes, error) {
	dns, warnings := ad.Targets(d.c.BaseDN(), d.plan.Scope, d.plan.AdminSDHolder)
	return activities.Scopes{DNs: dns, Warnings: warnings}, nil
}

// writebackACEs are the ACEs the plan's rights give the connector account.
func (d *directory) writebackACEs(ctx context.Context) ([][]byte, error) {
	a, err := d.account(ctx)
	if err != nil {
		return nil, err
	}
	return ad.WritebackACEs(a.SID, ad.Rights{ChangePassword: d.plan.ChangePassword, UnexpirePassword: d.plan.UnexpirePassword}), nil
}

func (d *directory) MissingACEs(ctx context.Context, dn string) ([][]byte, error) {
	aces, err := d.writebackACEs(ctx)
	if err != nil {
		return nil, err
	}
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
	rep, err := d.c.Coverage(ctx, scopes.DNs)
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
func (d *directory) PasswordAge(ctx context.Context) (activities.PasswordAge, error) {
	rep, err := d.c.PasswordAge(ctx)
	if err != nil {
		return activities.PasswordAge{}, err
	}
	// Effective says which source set the domain-wide value (the domain
	// object, or a GPO's GptTmpl.inf read over SMB from SYSVOL).
	res := activities.PasswordAge{OK: true, Effective: rep.Effective.String(), Warnings: rep.Warnings}
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
