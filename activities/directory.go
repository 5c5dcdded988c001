package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// DirectoryDialer connects to the domain controller of the worker's
// directory profile that d names (d.Profile), as that profile's bind
// identity. The worker builds it from its own configuration, so a plan can
// only name a directory profile, never choose where the worker connects or
// which secret it sends; d's other fields are the rollout's choices (scope,
// rights).
type DirectoryDialer func(ctx context.Context, d *plan.Directory) (Directory, error)

// Directory is what the rollout needs from on-premises AD DS.
type Directory interface {
	// Connector resolves the plan's connector account.
	Connector(ctx context.Context) (Account, error)
	// Scopes returns the DNs the rights go on (the plan's scope, or the
	// domain root, plus AdminSDHolder when the plan asks for it) and what
	// that choice risks.
	Scopes(ctx context.Context) (Scopes, error)
	// MissingACEs returns the writeback ACEs not yet on dn, as bytes.
	MissingACEs(ctx context.Context, dn string) ([][]byte, error)
	// Grant adds exactly these ACEs to dn (ACEs already present are not
	// added again) and returns how many it added.
	Grant(ctx context.Context, dn string, aces [][]byte) (int, error)
	// Revoke removes one copy of each of these ACEs from dn, nothing else.
	Revoke(ctx context.Context, dn string, aces [][]byte) (int, error)
	// Coverage counts objects that will never inherit the rights.
	Coverage(ctx context.Context) (DirectoryCoverage, error)
	// PasswordAge reports every effective minimum password age that is not 0
	// (the domain's, every GPO's GptTmpl.inf, every PSO's).
	PasswordAge(ctx context.Context) (PasswordAge, error)
	// Close releases the connection.
	Close() error
}

// Scopes are the DNs the writeback rights go on.
type Scopes struct {
	DNs []string `json:"dns"`
	// Warnings name risky choices, e.g. granting on AdminSDHolder, which
	// hands the rights over every protected (admin) account.
	Warnings []string `json:"warnings,omitempty"`
}

// Account is a resolved AD account.
type Account struct {
	Name string `json:"name"`
	DN   string `json:"dn"`
	SID  string `json:"sid"`
}

// DirectoryCoverage summarises objects outside the rights' reach.
type DirectoryCoverage struct {
	Protected   int      `json:"protected"`
	AdminCount  int      `json:"adminCount"`
	Examples    []string `json:"examples,omitempty"`
	Remediation []string `json:"remediation,omitempty"`
}

// PasswordAge is the minimum-password-age verification result.
type PasswordAge struct {
	OK       bool     `json:"ok"`
	Findings []string `json:"findings,omitempty"`
	// Effective is the domain-wide minimum age and what set it, e.g.
	// "1 day, from GptTmpl.inf of GPO "Default Domain Policy" (\\dc\SYSVOL\...)".
	Effective string `json:"effective,omitempty"`
	// Warnings name what could not be read (a GPO's GptTmpl.inf).
	Warnings []string `json:"warnings,omitempty"`
}

// directory connects to the DC and keeps the activity alive while the
// caller works; Close on the returned Directory stops the heartbeats.
func (a *Activities) directory(ctx context.Context, p *plan.Rollout) (Directory, error) {
	stop := keepAlive(ctx, "directory")
	d, err := a.dial(ctx, p)
	if err != nil {
		stop()
		return nil, err
	}
	return &aliveDirectory{Directory: d, stop: stop}, nil
}

type aliveDirectory struct {
	Directory
	stop func()
}

func (d *aliveDirectory) Close() error {
	d.stop()
	return d.Directory.Close()
}

func (a *Activities) dial(ctx context.Context, p *plan.Rollout) (Directory, error) {
	if p.Spec.Directory == nil {
		return nil, permanent(errtype.NoDirectory, errors.New("the plan has no directory section"))
	}
	if a.Directory == nil {
		return nil, permanent(errtype.DirectoryUnavailable, errors.New("this worker has no directory access configured"))
	}
	d, err := a.Directory(ctx, p.Spec.Directory)
	if err != nil {
		err = fmt.Errorf("connect to the directory: %w", err)
		// Temporal reads retryability from the returned error itself, not
		// from what it wraps: keep the dialer's permanent verdict.
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.NonRetryable() {
			return nil, permanent(errtype.Type(appErr.Type()), err)
		}
		return nil, classify(err)
	}
	return d, nil
}
