package entrasim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// ServeConfig is what `sim serve` needs.
type ServeConfig struct {
	Addr      string
	StateFile string // loaded at start, saved at stop ("" = none)
	Options   Options
}

// ParseServeFlags parses `sim serve` flags:
//
//	--addr 127.0.0.1:8080 --users 200 --seed 1 --time-scale 60 --tenant contoso.onmicrosoft.com
//	--faults 'rate=0.1;codes=429' --token FIXED --roles A,B --no-premium --state FILE
func ParseServeFlags(args []string, stderr io.Writer) (ServeConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg ServeConfig
	var faults, roles string
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:0", "listen address")
	fs.StringVar(&cfg.StateFile, "state", "", "state file: loaded at start if present, saved at stop")
	fs.IntVar(&cfg.Options.Users, "users", 200, "synthetic users per tenant")
	fs.Int64Var(&cfg.Options.Seed, "seed", 1, "seed for the population and faults")
	fs.Float64Var(&cfg.Options.TimeScale, "time-scale", 1, "simulated seconds per real second (negative: frozen)")
	fs.StringVar(&cfg.Options.Tenant, "tenant", DefaultTenant, "default tenant domain")
	fs.StringVar(&cfg.Options.Token, "token", "", "fixed bearer token to accept (optional)")
	fs.StringVar(&roles, "roles", "", "comma-separated roles of the printed token (default: all)")
	fs.BoolVar(&cfg.Options.NoPremium, "no-premium", false, "tenant without an Entra ID P1 licence")
	fs.BoolVar(&cfg.Options.Strict, "strict", false, "refuse query shapes and properties the v1.0 documentation does not list")
	quota := fs.Bool("realistic-quota", false, "enforce Graph's throttling budgets (DefaultQuota)")
	fs.StringVar(&faults, "faults", "", "fault spec, e.g. 'rate=0.2;codes=429,503;retry-after=1'")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if roles != "" {
		for _, r := range strings.Split(roles, ",") {
			if r = strings.TrimSpace(r); r != "" {
				cfg.Options.Roles = append(cfg.Options.Roles, r)
			}
		}
	}
	f, err := ParseFaults(faults)
	if err != nil {
		return cfg, fmt.Errorf("serve: --faults: %w", err)
	}
	cfg.Options.Faults = f
	if *quota {
		cfg.Options.Quota = DefaultQuota
	}
	return cfg, nil
}

// Serve runs a simulator until ctx is done: it loads the state file, prints
// the base URL and tokens to stdout, and saves the state file on the way out.
func Serve(ctx context.Context, cfg ServeConfig, stdout io.Writer, log *slog.Logger) error {
	cfg.Options.Logger = log
	s, err := New(cfg.Options)
	if err != nil {
		return err
	}
	if cfg.StateFile != "" {
		if err := s.LoadState(cfg.StateFile); err != nil {
			return err
		}
	}
	base, err := s.Start(cfg.Addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "entrasim listening on %s\nGraph base URL: %s/v1.0\nPortal base URL: %s/api\napp token: %s\nportal token: %s\n",
		base, base, base, s.Token(), s.PortalToken())
	<-ctx.Done()
	var errs []error
	if cfg.StateFile != "" {
		errs = append(errs, s.SaveState(cfg.StateFile))
	}
	errs = append(errs, s.Close())
	return errors.Join(errs...)
}
