package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ssprflow/ssprflow/internal/cmdline"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/workflows"
)

func eventsCmd() *cmdline.Command {
	return &cmdline.Command{Name: "events", Summary: "print a rollout's audit trail from NATS (--follow to stream)", Run: runEvents}
}

func runEvents(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "events", "ROLLOUT", "Print every event of a rollout: steps, gates, decisions (accepted or refused).")
	cf := addConnFlags(fs, true, false)
	follow := fs.Bool("follow", false, "keep printing new events")
	out := cmdline.OutputFlag(fs)
	pos, err := cmdline.Parse(fs, args)
	if err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	if len(pos) != 1 {
		return cmdline.Usage("events needs a rollout id")
	}
	tenant, rollout, ok := workflows.ParseWorkflowID(pos[0])
	if !ok {
		return cmdline.Usage("%q is not a rollout id (sspr/<tenant>/<plan>)", pos[0])
	}
	user, err := cf.userID()
	if err != nil {
		return err
	}
	nc, js, err := cf.dialNATS(ctx, user)
	if err != nil {
		return err
	}
	defer nc.Close()
	print := func(e approval.Event) error { return printEvent(io.Out, e, *out == "json") }
	if *follow {
		return approval.FollowEvents(ctx, js, tenant, rollout, print)
	}
	evs, err := approval.ListEvents(ctx, js, tenant, rollout)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if err := print(e); err != nil {
			return err
		}
	}
	if len(evs) == 0 {
		fmt.Fprintln(io.Err, "no events for", pos[0])
	}
	return nil
}

// printEvent writes one event as JSON or as one line for people. The line
// shows the type and data through safeText: events carry text from plans,
// approvers and remote systems, and raw JSON may hold bidi controls and C1
// characters that encoding/json leaves unescaped.
func printEvent(w io.Writer, e approval.Event, asJSON bool) error {
	if asJSON {
		return cmdline.PrintJSON(w, e)
	}
	_, err := fmt.Fprintf(w, "%s  %-28s %s\n", e.Time.Local().Format("2006-01-02 15:04:05"), safeText(strings.TrimPrefix(e.Type, "io.ssprflow.")), clip(string(e.Data), 150))
	return err
}
