package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/ssprflow/ssprflow/internal/cmdline"

	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/plan"
)

func adCmd() *cmdline.Command {
	return &cmdline.Command{Name: "ad", Summary: "the on-premises AD part by hand: writeback rights, coverage, password age", Subs: []*cmdline.Command{
		{Name: "check", Summary: "read-only: are the connector's rights there, who will never get them, is minimum password age 0", Run: runADCheck},
		{Name: "grant", Summary: "grant the connector account the writeback rights (idempotent)", Run: runADGrant},
		{Name: "revoke", Summary: "remove exactly the writeback ACEs of the connector account, nothing else", Run: runADRevoke},
	}}
}

type strList []string

func (s *strList) String() string     { return strings.Join(*s, ";") }
func (s *strList) Set(v string) error { *s = append(*s, v); return nil }

// adFlags are the directory flags. The connection, identity, secret and
// connector account come from a directory profile of the worker
// configuration (--config, --profile) or from explicit flags; the rollout's
// choices (scope, rights) from a plan's directory: section or flags.
// Explicit flags override both.
type adFlags struct {
	plan, config, profile, url, caFile, serverName, bindUser, bindPasswordEnv, bindPasswordFile, connector *string
	insecure, adminSDHolder, changePassword, unexpire                                                      *bool
	scope                                                                                                  strList
}

func addADFlags(fs *flag.FlagSet) *adFlags {
	f := &adFlags{
		plan:             fs.String("plan", "", "read scope and rights (and the profile name) from this plan's directory: section"),
		config:           fs.String("config", "", "worker configuration whose directory profile to use (with --profile, or the plan's profile)"),
		profile:          fs.String("profile", "", "directory profile of --config: the DC, bind identity, its password reference and the connector account"),
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

// directory returns where and as whom to bind (conn) and what to grant (d).
func (f *adFlags) directory() (conn *config.Directory, d *plan.Directory, err error) {
	conn, d = &config.Directory{}, &plan.Directory{}
	if *f.plan != "" {
		p, err := plan.LoadFile(*f.plan)
		if err != nil {
			return nil, nil, &cmdline.ExitError{Code: 1, Msg: err.Error()}
		}
		if p.Spec.Directory == nil {
			return nil, nil, cmdline.Usage("%s has no directory: section", *f.plan)
		}
		*d = *p.Spec.Directory
	}
	if *f.profile != "" {
		d.Profile = *f.profile
	}
	switch {
	case *f.config != "":
		cfg, err := config.Load(*f.config)
		if err != nil {
			return nil, nil, &cmdline.ExitError{Code: 1, Msg: err.Error()}
		}
		prof, err := cfg.DirectoryProfile(d.Profile)
		if err != nil {
			return nil, nil, &cmdline.ExitError{Code: 1, Msg: fmt.Sprintf("%s: %v", *f.config, err)}
		}
		*conn = *prof
	case *f.profile != "":
		return nil, nil, cmdline.Usage("--profile needs --config: the worker configuration that has the profile")
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&conn.URL, *f.url)
	set(&conn.CAFile, *f.caFile)
	set(&conn.ServerName, *f.serverName)
	set(&conn.BindUser, *f.bindUser)
	set(&conn.ConnectorAccount, *f.connector)
	if *f.bindPasswordEnv != "" {
		conn.BindPassword = config.Secret{Env: *f.bindPasswordEnv}
	}
	if *f.bindPasswordFile != "" {
		conn.BindPassword = config.Secret{File: *f.bindPasswordFile}
	}
	conn.AllowPlainLDAP = conn.AllowPlainLDAP || *f.insecure
	d.AdminSDHolder = d.AdminSDHolder || *f.adminSDHolder
	d.ChangePassword = d.ChangePassword || *f.changePassword
	d.UnexpirePassword = d.UnexpirePassword || *f.unexpire
	if len(f.scope) > 0 {
		d.Scope = f.scope
	}
	var missing []string
	if conn.URL == "" {
		missing = append(missing, "--url")
	}
	if conn.BindUser == "" {
		missing = append(missing, "--bind-user")
	}
	if conn.BindPassword.IsZero() {
		missing = append(missing, "--bind-password-env or --bind-password-file")
	}
	if conn.ConnectorAccount == "" {
		missing = append(missing, "--connector")
	}
	if len(missing) > 0 {
		return nil, nil, cmdline.Usage("missing %s (or give --config worker.yaml --profile NAME)", strings.Join(missing, ", "))
	}
	return conn, d, nil
}

// adSession is a bound connection plus the resolved connector and targets.
type adSession struct {
	conn      *ad.Conn
	connector ad.Account
	targets   []string
	warnings  []string
	aces      [][]byte
}

func openAD(ctx context.Context, conn *config.Directory, d *plan.Directory) (*adSession, error) {
	pw, err := conn.BindPassword.Resolve()
	if err != nil {
		return nil, fmt.Errorf("bind password: %w", err)
	}
	c, err := ad.Dial(ctx, ad.Config{URL: conn.URL, CAFile: conn.CAFile, ServerName: conn.ServerName, Insecure: conn.AllowPlainLDAP, BindUser: conn.BindUser, Password: pw})
	if err != nil {
		return nil, err
	}
	acct, err := c.ResolveAccount(ctx, conn.ConnectorAccount)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("connector account %s: %w", conn.ConnectorAccount, err)
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
	out := cmdline.OutputFlag(fs)
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	conn, d, err := f.directory()
	if err != nil {
		return err
	}
	s, err := openAD(ctx, conn, d)
	if err != nil {
		return err
	}
	defer s.conn.Close()
	res := adCheckResult{Connector: conn.ConnectorAccount, SID: s.connector.SID.String(), Warnings: s.warnings, OK: true}
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
	if res.PasswordAge, err = s.conn.PasswordAge(ctx); err != nil {
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
		if err := cmdline.PrintJSON(io.Out, res); err != nil {
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
		return &cmdline.ExitError{Code: 1}
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
	out := cmdline.OutputFlag(fs)
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	conn, d, err := f.directory()
	if err != nil {
		return err
	}
	s, err := openAD(ctx, conn, d)
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
		return cmdline.PrintJSON(io.Out, rows)
	}
	for _, r := range rows {
		what := "added"
		if verb == "revoke" {
			what = "removed"
		}
		fmt.Fprintf(io.Out, "%s: %d ACE(s) %s for %s\n", r.DN, r.Changed, what, conn.ConnectorAccount)
	}
	return nil
}
