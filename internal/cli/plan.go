package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/worker"
)

func planCmd() *command {
	return &command{name: "plan", summary: "check a rollout plan, and preview what it would change", subs: []*command{
		{name: "validate", summary: "report every problem in a plan file (exit 0 valid, 1 invalid)", run: runPlanValidate},
		{name: "diff", summary: "read-only preflight: the SSPR settings the plan would change in the tenant", run: runPlanDiff},
		{name: "schema", summary: "print the plan's JSON Schema (for editors)", run: func(ctx context.Context, io IO, args []string) error {
			_, err := io.Out.Write(plan.Schema())
			return err
		}},
	}}
}

type validateResult struct {
	File     string         `json:"file"`
	Valid    bool           `json:"valid"`
	Problems []plan.Problem `json:"problems,omitempty"`
	Error    string         `json:"error,omitempty"`
}

func runPlanValidate(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "plan validate", "FILE...", "Validate rollout plans: unknown fields, wrong types, out-of-range values, unsafe settings.")
	out := outputFlag(fs)
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageErr("plan validate needs a plan file, e.g. ssprflow plan validate examples/pilot.yaml")
	}
	var results []validateResult
	bad := false
	for _, f := range files {
		res := validateResult{File: f, Valid: true}
		if _, err := plan.LoadFile(f); err != nil {
			res.Valid, bad = false, true
			var ve *plan.ValidationError
			if errors.As(err, &ve) {
				res.Problems = ve.Problems
			} else {
				res.Error = err.Error()
			}
		}
		results = append(results, res)
	}
	if *out == "json" {
		if err := printJSON(io.Out, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			switch {
			case r.Valid:
				fmt.Fprintf(io.Out, "%s: valid\n", r.File)
			case r.Error != "":
				fmt.Fprintf(io.Out, "%s: %s\n", r.File, r.Error)
			default:
				for _, p := range r.Problems {
					fmt.Fprintln(io.Out, p.String())
				}
				fmt.Fprintf(io.Out, "%s: %d problem(s)\n", r.File, len(r.Problems))
			}
		}
	}
	if bad {
		return &exitError{code: 1}
	}
	return nil
}

// tenantFlags select how a command reaches a tenant: a worker config file,
// or a simulator URL and token (for local use).
type tenantFlags struct {
	config, sim, tokenEnv *string
}

func addTenantFlags(fs interface {
	String(string, string, string) *string
}) tenantFlags {
	return tenantFlags{
		config:   fs.String("config", env("SSPRFLOW_CONFIG", ""), "worker configuration file with the tenant's credentials ($SSPRFLOW_CONFIG)"),
		sim:      fs.String("sim", env("SSPRFLOW_SIM_URL", ""), "tenant simulator base URL instead of Graph ($SSPRFLOW_SIM_URL)"),
		tokenEnv: fs.String("token-env", "SSPRFLOW_SIM_TOKEN", "environment variable holding the simulator's bearer token"),
	}
}

func (t tenantFlags) load() (*config.Config, error) {
	switch {
	case *t.config != "":
		return config.Load(*t.config)
	case *t.sim != "":
		return SimConfig(*t.sim, *t.tokenEnv, "127.0.0.1:7233", ""), nil
	}
	return nil, usageErr("say where the tenant is: --config worker.yaml (real tenant) or --sim URL (simulator; token in $%s)", *t.tokenEnv)
}

// SimConfig is a worker configuration for the tenant simulator.
func SimConfig(simURL, tokenEnv, temporal, natsURL string) *config.Config {
	return &config.Config{
		Temporal: config.Temporal{Address: temporal, Namespace: "default"},
		NATS:     config.NATS{URL: natsURL},
		Tenants: []config.Tenant{{
			Tenant: "*", GraphURL: simURL + "/v1.0", PortalURL: simURL,
			Graph:  config.Credential{Method: "token", Token: config.Secret{Env: tokenEnv}},
			Portal: &config.Credential{Method: "token", Token: config.Secret{Env: tokenEnv + "_PORTAL"}},
		}},
	}
}

func runPlanDiff(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "plan diff", "FILE", "Read the tenant (nothing is changed) and list the SSPR settings the plan would change.")
	tf := addTenantFlags(fs)
	out := outputFlag(fs)
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usageErr("plan diff needs exactly one plan file")
	}
	p, err := plan.LoadFile(files[0])
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	cfg, err := tf.load()
	if err != nil {
		return err
	}
	t, err := worker.TenantFactory(cfg, nil)(ctx, p.Metadata.Tenant, p.Spec.SSPRPolicy.Mode)
	if err != nil {
		return err
	}
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("read tenant: %w", err)
	}
	groupID := snap.Settings[entra.FieldGroup]
	groupNote := ""
	if len(p.Spec.Stages) > 0 && p.Spec.Stages[0].Group != nil {
		name := p.Spec.Stages[0].Group.Name
		g, err := t.FindGroup(ctx, name)
		switch {
		case err == nil:
			groupID = g.ID
		case errors.Is(err, entra.ErrNotFound):
			groupID, groupNote = "<new group "+name+">", "group "+name+" does not exist yet and would be created"
		default:
			return fmt.Errorf("find group %s: %w", name, err)
		}
	}
	scope := entra.ScopeSelected
	if n := len(p.Spec.Stages); n > 0 && p.Spec.Stages[n-1].All {
		scope = entra.ScopeAll
	}
	changes := entra.Diff(snap, entra.DesiredSettings(p, groupID, scope))
	if *out == "json" {
		return printJSON(io.Out, map[string]any{"plan": p.Metadata.Name, "tenant": p.Metadata.Tenant, "changes": changes, "note": groupNote})
	}
	if len(changes) == 0 {
		fmt.Fprintf(io.Out, "%s: no change — the tenant already matches the plan's final state\n", files[0])
		return nil
	}
	fmt.Fprintf(io.Out, "%s would change %d setting(s) in %s (final state, after stage %q):\n", files[0], len(changes), p.Metadata.Tenant, p.Spec.Stages[len(p.Spec.Stages)-1].Name)
	for _, c := range changes {
		how := "Graph"
		if c.Portal {
			how = "portal (" + string(p.Spec.SSPRPolicy.Mode) + ")"
		}
		fmt.Fprintf(io.Out, "  %-32s %-14s -> %-14s via %s\n", c.Field, quote(c.From), quote(c.To), how)
	}
	if groupNote != "" {
		fmt.Fprintln(io.Out, "  note:", groupNote)
	}
	return nil
}

func quote(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

var _ = os.Getenv
