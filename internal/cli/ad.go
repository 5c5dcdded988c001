package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/plan"
)

func adCmd() *command {
	return &command{name: "ad", summary: "the on-premises AD part by hand: writeback rights, coverage, password age", subs: []*command{
		{name: "check", summary: "read-only: are the connector's rights there, who will never get them, is minimum password age 0", run: runADCheck},
		{name: "grant", summary: "grant the connector account the writeback rights (idempotent)", run: runADGrant},
		{name: "revoke", summary: "remove exactly the writeback ACEs of the connector account, nothing else", run: runADRevoke},
	}}
}

type strList []string

func (s *strList) String() string     { return strings.Join(*s, ";") }
func (s *strList) Set(v string) error { *s = append(*s, v); return nil }

// adFlags are the directory flags, also readable from a plan's directory:.
type adFlags struct {
	plan, url, caFile, serverName, bindUser, bindPasswordEnv, bindPasswordFile, connector *string
	insecure, adminSDHolder, changePassword, unexpire                                     *bool
	scope                                                                                 strList
}

func addADFlags(fs *flag.FlagSet) *adFlags {
	f := &adFlags{
		plan:             fs.String("plan", "", "read the directory settings from this plan's directory: section (flags override)"),
		url:              fs.String("url", "", "domain controller, ldaps://host:636 (or ldap://host:389 with StartTLS)"),
		caFile:           fs.String("ca-file", "", "CA bundle that verifies the DC's certificate"),
		serverName:       fs.String("server-name", "", "name expected in the DC's certificate"),
		bindUser:         fs.String("bind-user", "", `identity that edits permissions (DOMAIN\name, UPN or DN)`),
		bindPasswordEnv:  fs.String("bind-password-env", "", "environment variable holding the bind password"),
		bindPasswordFile: fs.String("bind-password-file", "", "file holding the bind password"),
		connector:        fs.String("connector", "", `the sync engine's AD DS connector account (DOMAIN\name, UPN or DN)`),
		insecure:         fs.Bool("insecure", false, "allow a simple bind over plain LDAP (test labs only)"),
		adminSDHolder:    fs.Bool("admin-sdholder", false, "also grant on CN=AdminSDHolder (not recommended)"),
		changePassword:   fs.Bool("change-password", false, "also grant Change Password"),
		unexpire:         fs.Bool("unexpire-password", false, "also grant Unexpire Password"),
	}
	fs.Var(&f.scope, "scope", "DN to grant on (repeatable; default: the domain root)")
	return f
}

func (f *adFlags) directory() (*plan.Directory, error) {
	d := &plan.Directory{}
	if *f.plan != "" {
		p, err := plan.LoadFile(*f.plan)
		if err != nil {
			return nil, &exitError{code: 1, msg: err.Error()}
		}
		if p.Spec.Directory == nil {
			return nil, usageErr("%s has no directory: section", *f.plan)
		}
		*d = *p.Spec.Directory
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&d.URL, *f.url)
	set(&d.CAFile, *f.caFile)
	set(&d.ServerName, *f.serverName)
	set(&d.BindUser, *f.bindUser)
	set(&d.ConnectorAccount, *f.connector)
	if *f.bindPasswordEnv != "" {
		d.BindPassword = plan.SecretRef{Env: *f.bindPasswordEnv}
	}
	if *f.bindPasswordFile != "" {
		d.BindPassword = plan.SecretRef{File: *f.bindPasswordFile}
	}
	d.Insecure = d.Insecure || *f.insecure
	d.AdminSDHolder = d.AdminSDHolder || *f.adminSDHolder
	d.ChangePassword = d.ChangePassword || *f.changePassword
	d.UnexpirePassword = d.UnexpirePassword || *f.unexpire
	if len(f.scope) > 0 {
		d.Scope = f.scope
	}
	var missing []string
	if d.URL == "" {
		missing = append(missing, "--url")
	}
	if d.BindUser == "" {
		missing = append(missing, "--bind-user")
	}
	if d.BindPassword.Env == "" && d.BindPassword.File == "" {
		missing = append(missing, "--bind-password-env or --bind-password-file")
	}
	if d.ConnectorAccount == "" {
		missing = append(missing, "--connector")
	}
	if len(missing) > 0 {
		return nil, usageErr("missing %s (or give --plan with a directory: section)", strings.Join(missing, ", "))
	}
	return d, nil
}

// adSession is a bound connection plus the resolved connector and targets.
type adSession struct {
	conn      *ad.Conn
	connector ad.Account
	targets   []string
	warnings  []string
	aces      [][]byte
}

func openAD(ctx context.Context, d *plan.Directory) (*adSession, error) {
	pw, err := ad.ResolvePassword(d.BindPassword)
	if err != nil {
		return nil, err
	}
	c, err := ad.Dial(ctx, ad.Config{URL: d.URL, CAFile: d.CAFile, ServerName: d.ServerName, Insecure: d.Insecure, BindUser: d.BindUser, Password: pw})
	if err != nil {
		return nil, err
	}
	acct, err := c.ResolveAccount(ctx, d.ConnectorAccount)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("connector account %s: %w", d.ConnectorAccount, err)
	}
	s := &adSession{conn: c, connector: acct}
	s.targets, s.warnings = ad.Targets(c.BaseDN(), d.Scope, d.AdminSDHolder)
	s.aces = ad.WritebackACEs(acct.SID, ad.Rights{ChangePassword: d.ChangePassword, UnexpirePassword: d.UnexpirePassword})
	return s, nil
}

type adCheckResult struct {
	Connector   string               `json:"connector"`
	SID         string               `json:"sid"`
	Targets     []adTargetCheck      `json:"targets"`
	Coverage    ad.CoverageReport    `json:"coverage"`
	PasswordAge ad.PasswordAgeReport `json:"passwordAge"`
	AgeProblems []string             `json:"passwordAgeProblems,omitempty"`
	Warnings    []string             `json:"warnings,omitempty"`
	OK          bool                 `json:"ok"`
}

type adTargetCheck struct {
	DN      string   `json:"dn"`
	Missing []string `json:"missing,omitempty"` // SDDL of missing ACEs
}

func runADCheck(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "ad check", "[flags]", "Read-only check of the directory for password writeback. Exit 1 when something needs fixing.")
	f := addADFlags(fs)
	out := outputFlag(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	d, err := f.directory()
	if err != nil {
		return err
	}
	s, err := openAD(ctx, d)
	if err != nil {
		return err
	}
	defer s.conn.Close()
	res := adCheckResult{Connector: d.ConnectorAccount, SID: s.connector.SID.String(), Warnings: s.warnings, OK: true}
	for _, dn := range s.targets {
		missing, err := s.conn.Check(ctx, dn, s.aces)
		if err != nil {
			return err
		}
		tc := adTargetCheck{DN: dn}
		for _, m := range missing {
			tc.Missing = append(tc.Missing, ad.ACESDDL(m, nil))
		}
		if len(missing) > 0 {
			res.OK = false
		}
		res.Targets = append(res.Targets, tc)
	}
	if res.Coverage, err = s.conn.Coverage(ctx, s.targets); err != nil {
		return err
	}
	if res.PasswordAge, err = s.conn.PasswordAge(ctx, nil); err != nil {
		return err
	}
	var pe *ad.PasswordAgeError
	if verr := res.PasswordAge.Verify(); errors.As(verr, &pe) {
		res.OK = false
		for _, x := range pe.Findings {
			res.AgeProblems = append(res.AgeProblems, x.Remediation)
		}
	}
	if *out == "json" {
		if err := printJSON(io.Out, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(io.Out, "connector %s (%s)\n", res.Connector, res.SID)
		for _, t := range res.Targets {
			if len(t.Missing) == 0 {
				fmt.Fprintf(io.Out, "  ✓ %s: writeback rights present\n", t.DN)
			} else {
				fmt.Fprintf(io.Out, "  ✗ %s: %d ACE(s) missing (run 'ssprflow ad grant'):\n", t.DN, len(t.Missing))
				for _, m := range t.Missing {
					fmt.Fprintf(io.Out, "      %s\n", m)
				}
			}
		}
		fmt.Fprintf(io.Out, "coverage: %s\n", res.Coverage.Summary())
		if len(res.AgeProblems) == 0 {
			fmt.Fprintln(io.Out, "minimum password age: 0 everywhere ✓")
		}
		for _, p := range res.AgeProblems {
			fmt.Fprintf(io.Out, "minimum password age ✗ %s\n", p)
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(io.Err, "warning: %s\n", w)
		}
	}
	if !res.OK {
		return &exitError{code: 1}
	}
	return nil
}

func runADGrant(ctx context.Context, io IO, args []string) error {
	return runADChange(ctx, io, args, "grant")
}

func runADRevoke(ctx context.Context, io IO, args []string) error {
	return runADChange(ctx, io, args, "revoke")
}

func runADChange(ctx context.Context, io IO, args []string, verb string) error {
	fs := newFlags(io, "ad "+verb, "[flags]", "Grant or revoke the writeback rights of the connector account, as Set-ADSyncPasswordWritebackPermissions does.")
	f := addADFlags(fs)
	out := outputFlag(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	d, err := f.directory()
	if err != nil {
		return err
	}
	s, err := openAD(ctx, d)
	if err != nil {
		return err
	}
	defer s.conn.Close()
	for _, w := range s.warnings {
		fmt.Fprintf(io.Err, "warning: %s\n", w)
	}
	type row struct {
		DN      string `json:"dn"`
		Changed int    `json:"changed"`
	}
	var rows []row
	for _, dn := range s.targets {
		var n int
		if verb == "grant" {
			r, err := s.conn.Grant(ctx, dn, s.aces)
			if err != nil {
				return err
			}
			n = len(r.Added)
		} else {
			r, err := s.conn.Revoke(ctx, dn, s.aces)
			if err != nil {
				return err
			}
			n = r.Removed
		}
		rows = append(rows, row{dn, n})
	}
	if *out == "json" {
		return printJSON(io.Out, rows)
	}
	for _, r := range rows {
		what := "added"
		if verb == "revoke" {
			what = "removed"
		}
		fmt.Fprintf(io.Out, "%s: %d ACE(s) %s for %s\n", r.DN, r.Changed, what, d.ConnectorAccount)
	}
	return nil
}
