package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cmdline"
)

func runPending(ctx context.Context, io IO, args []string) error {
	c := newCommand(io, "pending", "ROLLOUT", "Ask the worker (over NATS, as your NATS user) which gates and manual tasks the rollout waits on, with their request ids.", natsFlags|outputFlag)
	wait := c.fs.Duration("wait", 10*time.Second, "how long to wait for a worker's answer")
	r, nc, err := c.rolloutOnNATS(ctx, args, true)
	if err != nil {
		return err
	}
	defer nc.Close()
	p, err := approval.RequestPending(ctx, nc.Conn, r.tenant, r.rollout, nc.user, *wait)
	if err != nil {
		return err
	}
	if c.json() {
		return cmdline.PrintJSON(io.Out, p)
	}
	fmt.Fprintf(io.Out, "%s is %s; you are %s\n", safeText(p.WorkflowID), safeText(p.Status), safeText(p.Person))
	if len(p.Gates) == 0 {
		fmt.Fprintln(io.Out, "  it waits for no decision now")
	}
	for _, g := range p.Gates {
		kind := "gate"
		if g.Task {
			kind = "manual task"
		}
		fmt.Fprintf(io.Out, "  %s %s (stage %s): %d/%d approvals, expires %s, request %s\n", kind, safeText(g.Gate), safeText(g.Stage),
			g.Approvals, g.Quorum, g.ExpiresAt.Local().Format("2006-01-02 15:04"), safeText(g.RequestID))
		for _, in := range g.Instructions {
			fmt.Fprintf(io.Out, "      - %s\n", safeText(in))
		}
		if g.MayDecide {
			fmt.Fprintf(io.Out, "      you may decide: ssprflow approve %s --gate %s\n", safeText(p.WorkflowID), safeText(g.Gate))
		} else {
			fmt.Fprintf(io.Out, "      you may not decide: %s\n", safeText(g.Why))
		}
	}
	return nil
}
