package cli

import (
	"context"

	"github.com/ssprflow/ssprflow/internal/cmdline"
)

func reportCmd() *cmdline.Command {
	return &cmdline.Command{Name: "report", Summary: "the report of a rollout: changes, verification, approvals, coverage", Run: runReport}
}

func runReport(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "report", "ROLLOUT", "Print a rollout's report (works while it runs and after it ended).")
	cf := addConnFlags(fs, false, true)
	out := cmdline.OutputFlag(fs)
	id, c, err := oneRollout(ctx, fs, cf, args, "report", out)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := QueryState(ctx, c, id)
	if err != nil {
		return err
	}
	if *out == "json" {
		return cmdline.PrintJSON(io.Out, st)
	}
	RenderReport(io.Out, st)
	return nil
}
