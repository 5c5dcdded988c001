package cli

import (
	"context"
	"time"

	"github.com/ssprflow/ssprflow/internal/cmdline"
)

func runReport(ctx context.Context, io IO, args []string) error {
	c := newCommand(io, "report", "ROLLOUT [--format text|html|markdown]", "Print a rollout's report (works while it runs and after it ended);\n"+
		"--format html is one self-contained page for a change ticket, markdown the same as text for a wiki or a PR.", temporalFlags|outputFlag)
	format := c.fs.String("format", "text", "text, html (self-contained) or markdown")
	id, tc, err := c.rolloutOnTemporal(ctx, args, func() error { return cmdline.OneOf("format", *format, "text", "html", "markdown") })
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
	if *format != "text" {
		return RenderReportDocument(io.Out, st, *format, time.Now())
	}
	RenderReport(io.Out, st)
	return nil
}
