package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/workflows"
)

// runDecision is the Run of approve and reject (verdict).
func runDecision(verdict string) func(ctx context.Context, io IO, args []string) error {
	return func(ctx context.Context, io IO, args []string) error { return decide(ctx, io, verdict, args) }
}

func decide(ctx context.Context, io IO, verdict string, args []string) error {
	c := newCommand(io, verdict, "ROLLOUT --gate NAME [--comment TEXT]",
		"Publish your decision on the rollout's approval subject and print the verdict. Your identity is your NATS user.", natsFlags|outputFlag)
	gate := c.fs.String("gate", "", "the gate (a stage name such as pilot) or manual task (stage_step, e.g. pilot_writeback, as 'pending' lists it)")
	comment := c.fs.String("comment", "", "why (kept in the audit trail)")
	as := c.fs.String("as", "", "approver id when it differs from --user (e.g. with --creds)")
	request := c.fs.String("request", "", "the approval request id you are answering (default: the gate's current request, asked of the worker; 'ssprflow pending' lists them); a decision is refused if the gate has since been asked again")
	wait := c.fs.Duration("wait", 30*time.Second, "how long to wait for the verdict")
	r, err := c.parseRollout(args, func() error {
		if *gate == "" {
			return cmdline.Usage("%s needs --gate, e.g. ssprflow %s sspr/contoso_onmicrosoft_com/sspr-pilot --gate pilot", verdict, verdict)
		}
		return nil
	})
	if err != nil {
		return err
	}
	who := *as
	if who == "" {
		who = c.conn.userID()
	}
	if who == "" {
		return cmdline.Usage("say who you are: --user (your NATS user, which is your approver id), $SSPRFLOW_NATS_USER, nats.user in --config, or --as with --creds")
	}
	v, err := Decide(ctx, c.conn.natsConfig(), r.tenant, r.rollout, who, approval.Decision{Gate: *gate, Verdict: verdict, Comment: *comment, RequestID: *request}, *wait)
	if err != nil {
		return err
	}
	if c.json() {
		if err := cmdline.PrintJSON(io.Out, v); err != nil {
			return err
		}
	} else if v.Accepted {
		fmt.Fprintf(io.Out, "accepted: %s\n", safeText(v.Reason))
	} else {
		fmt.Fprintf(io.Out, "refused: %s\n", safeText(v.Reason))
	}
	if !v.Accepted {
		return &cmdline.ExitError{Code: 1}
	}
	return nil
}

// Decide publishes one decision as approver and waits for the verdict.
func Decide(ctx context.Context, nc config.NATS, tenant, rollout, approver string, d approval.Decision, wait time.Duration) (approval.Verdict, error) {
	// An approver may only read its own inbox (see approval.RolePermissions).
	conn, js, err := dialAs(ctx, nc, approver)
	if err != nil {
		return approval.Verdict{}, err
	}
	defer conn.Close()
	if d.ID == "" {
		d.ID = approval.NewDecisionID()
	}
	if d.RequestID == "" {
		// Every decision answers one request of one run: ask the worker
		// which request the gate waits on now.
		id, err := currentRequest(ctx, conn, tenant, rollout, approver, d.Gate, wait)
		if err != nil {
			return approval.Verdict{}, err
		}
		d.RequestID = id
	}
	return approval.PublishDecision(ctx, conn, js, tenant, rollout, approver, d, wait)
}

// currentRequest returns the request id gate waits on, or an error that
// lists what the rollout does wait for.
func currentRequest(ctx context.Context, conn *nats.Conn, tenant, rollout, user, gate string, wait time.Duration) (string, error) {
	p, err := approval.RequestPending(ctx, conn, tenant, rollout, user, wait)
	if err != nil {
		return "", err
	}
	var open []string
	for _, g := range p.Gates {
		if g.Gate == gate {
			return g.RequestID, nil
		}
		open = append(open, g.Gate)
	}
	if len(open) == 0 {
		return "", &cmdline.ExitError{Code: 1, Msg: fmt.Sprintf("rollout %s is %s and waits for no decision now", workflows.WorkflowID(tenant, rollout), p.Status)}
	}
	return "", &cmdline.ExitError{Code: 1, Msg: fmt.Sprintf("rollout %s does not wait on %q; it waits on: %s", workflows.WorkflowID(tenant, rollout), gate, strings.Join(open, ", "))}
}
