package cli

import (
	"context"

	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/internal/dial"

	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/workflows"
)

func decisionCmd(verdict string) *cmdline.Command {
	summary := "approve a gate (or confirm a manual task is done) over NATS"
	if verdict == "reject" {
		summary = "reject a gate; the rollout applies its failure policy"
	}
	return &cmdline.Command{Name: verdict, Summary: summary, Run: func(ctx context.Context, io IO, args []string) error {
		return runDecision(ctx, io, verdict, args)
	}}
}

func runDecision(ctx context.Context, io IO, verdict string, args []string) error {
	fs := newFlags(io, verdict, "ROLLOUT --gate NAME [--comment TEXT]",
		"Publish your decision on the rollout's approval subject and print the verdict. Your identity is your NATS user.")
	gate := fs.String("gate", "", "the gate (a stage name such as pilot) or manual task (e.g. pilot-scope)")
	comment := fs.String("comment", "", "why (kept in the audit trail)")
	as := fs.String("as", "", "approver id when it differs from --user (e.g. with --creds)")
	request := fs.String("request", "", "the approval request id you are answering (default: the gate's current request, asked of the worker; 'ssprflow pending' lists them); a decision is refused if the gate has since been asked again")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the verdict")
	cf := addConnFlags(fs, true, false)
	out := cmdline.OutputFlag(fs)
	pos, err := cmdline.Parse(fs, args)
	if err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	if len(pos) != 1 || *gate == "" {
		return cmdline.Usage("%s needs a rollout id and --gate, e.g. ssprflow %s sspr/contoso_onmicrosoft_com/sspr-pilot --gate pilot", verdict, verdict)
	}
	tenant, rollout, ok := workflows.ParseWorkflowID(pos[0])
	if !ok {
		return cmdline.Usage("%q is not a rollout id (sspr/<tenant>/<plan>)", pos[0])
	}
	who := *as
	if who == "" {
		if who, err = cf.userID(); err != nil {
			return err
		}
	}
	if who == "" {
		return cmdline.Usage("say who you are: --user (your NATS user, which is your approver id), $SSPRFLOW_NATS_USER, nats.user in --config, or --as with --creds")
	}
	nc, err := cf.natsConfig()
	if err != nil {
		return err
	}
	v, err := Decide(ctx, nc, tenant, rollout, who, approval.Decision{Gate: *gate, Verdict: verdict, Comment: *comment, RequestID: *request}, *wait)
	if err != nil {
		return err
	}
	if *out == "json" {
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
	conn, js, err := dial.NATS(ctx, nc, "ssprflow-cli-"+approver, nats.CustomInboxPrefix(approval.InboxPrefix(approver)))
	if err != nil {
		return approval.Verdict{}, err
	}
	defer conn.Close()
	if d.ID == "" {
		d.ID = newID()
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

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
