package worker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// adCmd is `ssprflow-worker ad`: the directory step by hand, on the worker
// host, through the same directory profile and adapter the rollout uses. It
// has no flag for a DC, a bind identity or a password: like a plan, the
// person at the keyboard picks a profile, and the worker configuration says
// where and as whom that profile binds.
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

// adFlags choose a directory profile of the worker configuration and the
// rollout's choices (scope, rights): from a plan's directory: section,
// with explicit flags over it.
type adFlags struct {
	config, profile, plan                   *string
	adminSDHolder, changePassword, unexpire *bool
	scope                                   strList
}

func addADFlags(fs *flag.FlagSet) *adFlags {
	f := &adFlags{
		config:         fs.String("config", "", "worker configuration ($SSPRFLOW_CONFIG): its directories: profiles say where and as whom to bind"),
		profile:        fs.String("directory", "", "directory profile of --config (default: the plan's, or the only one)"),
		plan:           fs.String("plan", "", "read scope and rights (and the profile) from this plan's directory: section"),
		adminSDHolder:  fs.Bool("admin-sdholder", false, "also grant on CN=AdminSDHolder (not recommended)"),
		changePassword: fs.Bool("change-password", false, "also grant Change Password"),
		unexpire:       fs.Bool("unexpire-password", false, "also grant Unexpire Password"),
	}
	fs.Var(&f.scope, "scope", "DN to grant on (repeatable; default: the domain root)")
	return f
}

// resolve loads the configuration and settles the profile and the choices.
func (f *adFlags) resolve(envConfig string) (*config.Config, *plan.Directory, error) {
	path := *f.config
	if path == "" {
		path = envConfig
	}
	if path == "" {
		return nil, nil, cmdline.Usage("give the worker configuration: --config worker.yaml (its directories: section has the profile)")
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, cmdline.Failed(err)
	}
	d := &plan.Directory{}
	if *f.plan != "" {
		p, err := plan.LoadFile(*f.plan)
		if err != nil {
			return nil, nil, cmdline.Failed(err)
		}
		if p.Spec.Directory == nil {
			return nil, nil, cmdline.Usage("%s has no directory: section; give --directory PROFILE instead", *f.plan)
		}
		*d = *p.Spec.Directory
	}
	if *f.profile != "" {
		d.Profile = *f.profile
	}
	if d.Profile == "" {
		names := make([]string, 0, len(cfg.Directories))
		for _, p := range cfg.Directories {
			names = append(names, p.Profile)
		}
		if len(names) != 1 {
			return nil, nil, cmdline.Usage("%s has %d directory profiles (%s): choose one with --directory", path, len(names), strings.Join(names, ", "))
		}
		d.Profile = names[0]
	}
	if _, err := cfg.DirectoryProfile(d.Profile); err != nil {
		return nil, nil, cmdline.Usage("%s: %v", path, err)
	}
	d.AdminSDHolder = d.AdminSDHolder || *f.adminSDHolder
	d.ChangePassword = d.ChangePassword || *f.changePassword
	d.UnexpirePassword = d.UnexpirePassword || *f.unexpire
	if len(f.scope) > 0 {
		d.Scope = f.scope
	}
	return cfg, d, nil
}

// open parses the flags and binds; the caller closes the directory.
func openADCommand(ctx context.Context, io cmdline.IO, name, summary string, args []string) (*directory, *string, error) {
	fs := cmdline.NewFlags(io, "ssprflow-worker", name, "[flags]", summary)
	f := addADFlags(fs)
	out := cmdline.OutputFlag(fs)
	if _, err := cmdline.Parse(fs, args); err != nil {
		return nil, nil, err
	}
	if err := cmdline.CheckOutput(*out); err != nil {
		return nil, nil, err
	}
	cfg, d, err := f.resolve(envConfig())
	if err != nil {
		return nil, nil, err
	}
	// Details that must not reach workflow history (paths, variable names)
	// go to this log; here it is the operator's own terminal.
	logger := slog.New(slog.NewTextHandler(io.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, err := openDirectory(ctx, cfg, d, logger)
	if err != nil {
		return nil, nil, cmdline.Failed(err)
	}
	return dir, out, nil
}

type adCheckResult struct {
	Profile     string               `json:"profile"`
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

func runADCheck(ctx context.Context, io cmdline.IO, args []string) error {
	d, out, err := openADCommand(ctx, io, "ad check", "Read-only check of the directory for password writeback. Exit 1 when something needs fixing.", args)
	if err != nil {
		return err
	}
	defer d.Close()
	res, err := d.check(ctx)
	if err != nil {
		return cmdline.Failed(err)
	}
	if *out == "json" {
		if err := cmdline.PrintJSON(io.Out, res); err != nil {
			return err
		}
	} else {
		printCheck(io, res)
	}
	if !res.OK {
		return &cmdline.ExitError{Code: 1}
	}
	return nil
}

// check reads what the directory preflight reads, in full.
func (d *directory) check(ctx context.Context) (adCheckResult, error) {
	acct, err := d.Connector(ctx)
	if err != nil {
		return adCheckResult{}, fmt.Errorf("connector account %s: %w", d.profile.ConnectorAccount, err)
	}
	scopes, _ := d.Scopes(ctx)
	res := adCheckResult{Profile: d.profile.Profile, Connector: acct.Name, SID: acct.SID, Warnings: scopes.Warnings, OK: true}
	for _, dn := range scopes.DNs {
		missing, err := d.MissingACEs(ctx, dn)
		if err != nil {
			return res, fmt.Errorf("read DACL of %s: %w", dn, err)
		}
		tc := adTargetCheck{DN: dn}
		for _, m := range missing {
			tc.Missing = append(tc.Missing, ad.ACESDDL(m, nil))
		}
		res.OK = res.OK && len(missing) == 0
		res.Targets = append(res.Targets, tc)
	}
	if res.Coverage, err = d.c.Coverage(ctx, scopes.DNs); err != nil {
		return res, fmt.Errorf("scan coverage: %w", err)
	}
	if res.PasswordAge, err = d.c.PasswordAge(ctx); err != nil {
		return res, fmt.Errorf("read password policies: %w", err)
	}
	res.Warnings = append(res.Warnings, res.PasswordAge.Warnings...)
	var pe *ad.PasswordAgeError
	if verr := res.PasswordAge.Verify(); errors.As(verr, &pe) {
		res.OK = false
		for _, x := range pe.Findings {
			res.AgeProblems = append(res.AgeProblems, x.Remediation)
		}
	} else if verr != nil {
		return res, verr
	}
	return res, nil
}

func printCheck(io cmdline.IO, res adCheckResult) {
	fmt.Fprintf(io.Out, "directory profile %s: connector %s (%s)\n", res.Profile, res.Connector, res.SID)
	for _, t := range res.Targets {
		if len(t.Missing) == 0 {
			fmt.Fprintf(io.Out, "  ✓ %s: writeback rights present\n", t.DN)
			continue
		}
		fmt.Fprintf(io.Out, "  ✗ %s: %d ACE(s) missing (run 'ssprflow-worker ad grant'):\n", t.DN, len(t.Missing))
		for _, m := range t.Missing {
			fmt.Fprintf(io.Out, "      %s\n", m)
		}
	}
	fmt.Fprintf(io.Out, "coverage: %s\n", res.Coverage.Summary())
	if len(res.AgeProblems) == 0 {
		fmt.Fprintf(io.Out, "minimum password age: 0 everywhere ✓ (%s)\n", res.PasswordAge.Effective)
	}
	for _, p := range res.AgeProblems {
		fmt.Fprintf(io.Out, "minimum password age ✗ %s\n", p)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(io.Err, "warning: %s\n", w)
	}
}

func runADGrant(ctx context.Context, io cmdline.IO, args []string) error {
	return runADChange(ctx, io, args, "grant")
}

func runADRevoke(ctx context.Context, io cmdline.IO, args []string) error {
	return runADChange(ctx, io, args, "revoke")
}

func runADChange(ctx context.Context, io cmdline.IO, args []string, verb string) error {
	d, out, err := openADCommand(ctx, io, "ad "+verb, "Grant or revoke the writeback rights of the connector account, as Set-ADSyncPasswordWritebackPermissions does.", args)
	if err != nil {
		return err
	}
	defer d.Close()
	aces, err := d.writebackACEs(ctx)
	if err != nil {
		return cmdline.Failed(fmt.Errorf("connector account %s: %w", d.profile.ConnectorAccount, err))
	}
	scopes, _ := d.Scopes(ctx)
	for _, w := range scopes.Warnings {
		fmt.Fprintf(io.Err, "warning: %s\n", w)
	}
	type row struct {
		DN      string `json:"dn"`
		Changed int    `json:"changed"`
	}
	var rows []row
	for _, dn := range scopes.DNs {
		op := d.Grant
		if verb == "revoke" {
			op = d.Revoke
		}
		n, err := op(ctx, dn, aces)
		if err != nil {
			return cmdline.Failed(err)
		}
		rows = append(rows, row{dn, n})
	}
	if *out == "json" {
		return cmdline.PrintJSON(io.Out, rows)
	}
	what := map[string]string{"grant": "added", "revoke": "removed"}[verb]
	for _, r := range rows {
		fmt.Fprintf(io.Out, "%s: %d ACE(s) %s for %s\n", r.DN, r.Changed, what, d.profile.ConnectorAccount)
	}
	return nil
}
