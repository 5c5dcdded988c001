package localstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ssprflow/ssprflow/internal/cmdline"

	"github.com/ssprflow/ssprflow/internal/entrasim"
)

func runSimServe(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "sim serve", "[--addr HOST:PORT]", "Serve a simulated Entra tenant until interrupted. Prints the base URL and bearer tokens.")
	addr := fs.String("addr", "127.0.0.1:8787", "listen address")
	users := fs.Int("users", 200, "synthetic users")
	seed := fs.Int64("seed", 1, "population seed")
	token := fs.String("token", "", "fixed application bearer token (default: random)")
	roles := fs.String("roles", "", "comma-separated roles granted to the printed token (default: all)")
	faults := fs.String("faults", "", "fault injection, e.g. 'rate=0.2;codes=429,503;retry-after=1'")
	scale := fs.Float64("time-scale", 1, "simulated seconds per real second (registration progresses in simulated time)")
	org := fs.Bool("org", true, "model an organisation: departments, countries, job titles, All-<Department> and regional groups, Break-Glass")
	quota := fs.String("quota", "off", "throttling: realistic (Graph's documented budgets for a small tenant, on the simulated clock) or off")
	state := fs.String("state", "", "load tenant state from this JSON file at start and save it on exit")
	strict := fs.Bool("strict", true, "answer only the query shapes and properties Microsoft's v1.0 documentation lists (--strict=false also takes `id in` and $top on userRegistrationDetails)")
	identity := fs.Bool("identity", false, "also serve the identity platform's device code and token endpoints over HTTPS (for ssprflow-worker login portal)")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	opts := entrasim.Options{Users: *users, Seed: *seed, Token: *token, TimeScale: *scale, Org: *org, Strict: *strict}
	switch *quota {
	case "realistic":
		opts.Quota = entrasim.DefaultQuota
	case "off", "":
	default:
		return cmdline.Usage("--quota: want realistic or off, got %q", *quota)
	}
	if *roles != "" {
		opts.Roles = strings.Split(*roles, ",")
	}
	if *faults != "" {
		fc, err := entrasim.ParseFaults(*faults)
		if err != nil {
			return cmdline.Usage("--faults: %v", err)
		}
		opts.Faults = fc
	}
	s, err := entrasim.New(opts)
	if err != nil {
		return err
	}
	if *state != "" {
		if err := s.LoadStateFile(*state); err != nil {
			return err
		}
	}
	url, err := s.Start(*addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --addr)", *addr, err)
	}
	defer s.Close()
	fmt.Fprintf(io.Out, "tenant simulator serving\n  base URL      %s  (Graph at %s/v1.0)\n  app token     %s\n  portal token  %s\n  control       %s/_sim/ (audit, state, clock, faults)\n",
		url, url, s.Token(), s.PortalToken(), url)
	mode := "strict: only documented v1.0 query shapes and properties"
	if !*strict {
		mode = "permissive: also undocumented query shapes (--strict=false)"
	}
	fmt.Fprintf(io.Out, "  Graph         %s\n", mode)
	if *identity {
		host, err := s.StartIdentity("127.0.0.1:0")
		if err != nil {
			return err
		}
		ca := filepath.Join(os.TempDir(), "entrasim-identity-ca.pem")
		if err := os.WriteFile(ca, s.IdentityCA(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(io.Out, "  identity      %s/%s (device code, token; CA %s)\n  sign in       POST %s/_sim/devicecode/approve?code=CODE&upn=admin@%s\n",
			host, s.TenantID(entrasim.DefaultTenant), ca, url, entrasim.DefaultTenant)
	}
	fmt.Fprintf(io.Out, "\na worker configuration's tenant for it:\n  tenants: [{tenant: \"*\", graphURL: %s/v1.0, portalURL: %s,\n    graph: {method: token, token: {env: SSPRFLOW_SIM_TOKEN}}, portal: {method: token, token: {env: SSPRFLOW_SIM_TOKEN_PORTAL}}}]\n  export SSPRFLOW_SIM_TOKEN=%s SSPRFLOW_SIM_TOKEN_PORTAL=%s\n", url, url, s.Token(), s.PortalToken())
	<-ctx.Done()
	if *state != "" {
		if err := s.SaveStateFile(*state); err != nil {
			return err
		}
		fmt.Fprintln(io.Out, "state saved to", *state)
	}
	return nil
}
