package cli

import (
	"context"

	"github.com/ssprflow/ssprflow/internal/cmdline"
)

func runReport(ctx context.Context, io IO, args []string) error {
	c := newCommand(io, "report", "ROLLOUT", "Print a rollout's report (works while it runs and after it ended).", temporalFlags|outputFlag)
	id, tc, err := c.rolloutOnTemporal(ctx, args)
	if err != nil {
		return err
	}
	defer tc.Close()
	st, err := QueryState(ctx, tc, id)
	if err != nil {
		return err
	}
	if c.json() {
		return cmdline.PrintJSON(io.Out, st)
	}
	RenderReport(io.Out, st)
	return nil
}
