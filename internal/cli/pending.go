package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/ssprflow/ssprflow/internal/cmdline"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/workflows"
)

func pendingCmd() *cmdline.Command {
	return &cmdline.Command{Name: "pending", Summary: "list what a rollout waits for (gates and manual tasks) and whether you may decide", Run: runPending}
}

func runPending(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "pending", "ROLLOUT", "Ask the worker (over NATS, as your NATS user) which gates and manual tasks the rollout waits on, with their request ids.")
	cf := addConnFlags(fs, true, false)
	wait := fs.Duration("wait", 10*time.Second, "how long to wait for a worker's answer")
	out := cmdline.OutputFlag(fs)
	pos, err := cmdline.Parse(fs, args)
	if err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	if len(pos) != 1 {
		return cmdline.Usage("pending needs a rollout id, e.g. ssprflow pending sspr/contoso_onmicrosoft_com/sspr-pilot")
	}
	tenant, rollout, ok := workflows.ParseWorkflowID(pos[0])
	if !ok {
		return cmdline.Usage("%q is not a rollout id (sspr/<tenant>/<plan>)", pos[0])
	}
	user, err := cf.requireUser()
	if err != nil {
		return err
	}
	conn, _, err := cf.dialNATS(ctx, user)
	if err != nil {
		return err
	}
	defer conn.Close()
	p, err := approval.RequestPending(ctx, conn, tenant, rollout, user, *wait)
	if err != nil {
		return err
	}
	if *out == "json" {
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
