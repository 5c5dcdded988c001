package cli

import (
	"context"
)

func reportCmd() *command {
	return &command{name: "report", summary: "the report of a rollout: changes, verification, approvals, coverage", run: runReport}
}

func runReport(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "report", "ROLLOUT", "Print a rollout's report (works while it runs and after it ended).")
	tf := addTemporalFlags(fs)
	out := outputFlag(fs)
	id, c, err := oneRollout(ctx, fs, tf, args, "report")
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := QueryState(ctx, c, id)
	if err != nil {
		return err
	}
	if *out == "json" {
		return printJSON(io.Out, st)
	}
	RenderReport(io.Out, st)
	return nil
}
