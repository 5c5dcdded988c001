package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cmdline"

	"github.com/ssprflow/ssprflow/internal/plan"
)

func runPlanSchema(ctx context.Context, io IO, args []string) error {
	_, err := io.Out.Write(plan.Schema())
	return err
}

type validateResult struct {
	File     string         `json:"file"`
	Valid    bool           `json:"valid"`
	Problems []plan.Problem `json:"problems,omitempty"`
	// Warnings are risky but valid settings; they leave Valid true.
	Warnings []plan.Problem `json:"warnings,omitempty"`
	Error    string         `json:"error,omitempty"`
}

func runPlanValidate(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "plan validate", "FILE...", "Validate rollout plans: unknown fields, wrong types, out-of-range values, unsafe settings.\nRisky but valid settings are printed as warnings and still exit 0.")
	out := cmdline.OutputFlag(fs)
	files, err := cmdline.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return cmdline.Usage("plan validate needs a plan file, e.g. ssprflow plan validate examples/pilot.yaml")
	}
	var results []validateResult
	bad := false
	for _, f := range files {
		res := validateResult{File: f, Valid: true}
		_, warnings, err := plan.CheckFile(f)
		res.Warnings = warnings
		if err != nil {
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
		if err := cmdline.PrintJSON(io.Out, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			for _, w := range r.Warnings {
				fmt.Fprintln(io.Out, w.String())
			}
			switch {
			case r.Valid && len(r.Warnings) > 0:
				fmt.Fprintf(io.Out, "%s: valid, %d warning(s)\n", r.File, len(r.Warnings))
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
		return &cmdline.ExitError{Code: 1}
	}
	return nil
}

func runPlanDiff(ctx context.Context, io IO, args []string) error {
	c := newCommand(io, "plan diff", "FILE",
		"Preview what a plan would change. A worker reads the tenant with its own credentials (nothing is changed)\n"+
			"and answers over NATS; you ask as your NATS user, an operator.\n"+
			"Exit 0: no change; 2: changes (or settings it could not read); 1: an error, or the rollout would stop (a failed check,\n"+
			"missing members under missingMembers: stop) — as terraform plan -detailed-exitcode.", natsFlags|outputFlag)
	file, p, raw, nc, err := c.planOnNATS(ctx, args)
	if err != nil {
		return err
	}
	defer nc.Close()
	req, err := planRequest(ctx, nc.Conn, file, raw, p)
	if err != nil {
		return cmdline.Failed(err)
	}
	reply, err := approval.RequestDiff(ctx, nc.Conn, p.TenantToken(), p.Metadata.Name, nc.user, req, approval.DiffWait)
	if err != nil {
		return cmdline.Failed(err)
	}
	if c.json() {
		if err := cmdline.PrintJSON(io.Out, reply); err != nil {
			return err
		}
	} else {
		renderDiff(io.Out, file, reply)
	}
	if code := diffExit(reply); code != 0 {
		return &cmdline.ExitError{Code: code}
	}
	return nil
}

// diffExit is plan diff's exit code: 1 the rollout would stop, 2 it would
// change something (or something could not be read), 0 nothing to do.
func diffExit(r approval.DiffReply) int {
	if len(r.Blockers) > 0 {
		return 1
	}
	if len(r.Changes) > 0 || len(r.Unreadable) > 0 {
		return 2
	}
	for _, st := range r.Stages {
		if st.ToAdd > 0 {
			return 2
		}
	}
	return 0
}

func renderDiff(w io.Writer, file string, r approval.DiffReply) {
	fmt.Fprintf(w, "%s: tenant %s, ssprPolicy.mode %s\n", safeText(file), safeText(r.Tenant), safeText(r.Mode))
	if len(r.Checks) > 0 {
		fmt.Fprintln(w, "checks:")
	}
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-16s %s\n", mark, safeText(c.Name), safeText(c.Detail))
	}
	if len(r.Changes) == 0 {
		fmt.Fprintln(w, "settings: no change that could be read — the tenant already matches the plan")
	}
	stage := ""
	for _, c := range r.Changes {
		if c.Stage != stage {
			stage = c.Stage
			n := 0
			for _, x := range r.Changes {
				if x.Stage == stage {
					n++
				}
			}
			fmt.Fprintf(w, "stage %s changes %d setting(s):\n", safeText(stage), n)
		}
		how := "Graph"
		if c.Portal {
			how = "portal (" + r.Mode + ")"
		}
		name := c.Field
		if c.Label != "" {
			name = c.Label + "  [" + c.Field + "]"
		}
		fmt.Fprintf(w, "  %s\n      %s -> %s  via %s\n", safeText(name), safeText(quote(c.From)), safeText(quote(c.To)), how)
	}
	// Grouped by reason: one reason (no portal credential) usually covers
	// every portal setting.
	var whys []string
	byWhy := map[string][]approval.UnreadSetting{}
	for _, u := range r.Unreadable {
		if _, ok := byWhy[u.Why]; !ok {
			whys = append(whys, u.Why)
		}
		byWhy[u.Why] = append(byWhy[u.Why], u)
	}
	for _, why := range whys {
		fmt.Fprintf(w, "could not read %d setting(s) — not shown as changes: %s\n", len(byWhy[why]), safeText(why))
		for _, u := range byWhy[why] {
			name := u.Field
			if u.Label != "" {
				name = u.Label + "  [" + u.Field + "]"
			}
			fmt.Fprintf(w, "  %s\n      plan sets %s\n", safeText(name), safeText(quote(u.To)))
		}
	}
	for _, b := range r.BlastRadius {
		fmt.Fprintln(w, "  blast radius:", safeText(b))
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "  note:", safeText(n))
	}
	if len(r.Stages) > 0 {
		fmt.Fprintln(w, "members per stage (as the tenant stands now; each stage resolves again when it starts):")
	}
	for _, st := range r.Stages {
		line := fmt.Sprintf("  %-14s %s: %s to add, %s already members", safeText(st.Stage), safeText(st.Source), thousands(st.ToAdd), thousands(st.Already))
		if st.Excluded > 0 {
			line += fmt.Sprintf(", %s excluded", thousands(st.Excluded))
		}
		if st.Missing > 0 {
			line += fmt.Sprintf(", %s not in the tenant (e.g. %s)", thousands(st.Missing), safeText(strings.Join(st.MissingSample, ", ")))
		}
		if len(st.Sample) > 0 {
			line += " — e.g. " + safeText(strings.Join(st.Sample, ", "))
		}
		fmt.Fprintln(w, line)
	}
	if len(r.Blockers) > 0 {
		fmt.Fprintln(w, "the rollout would stop:")
	}
	for _, b := range r.Blockers {
		fmt.Fprintln(w, "  -", safeText(b))
	}
}

func quote(s string) string {
	if s == "" {
		return `""`
	}
	return s
}
