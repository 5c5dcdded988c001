package cli

import (
	"context"

	"fmt"
	"github.com/nats-io/nats.go"
	"strings"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/worker"
	"github.com/ssprflow/ssprflow/workflows"
)

func eventsCmd() *command {
	return &command{name: "events", summary: "print a rollout's audit trail from NATS (--follow to stream)", run: runEvents}
}

func runEvents(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "events", "ROLLOUT", "Print every event of a rollout: steps, gates, decisions (accepted or refused).")
	nf := addNATSFlags(fs)
	follow := fs.Bool("follow", false, "keep printing new events")
	out := outputFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("events needs a rollout id")
	}
	tenant, rollout, ok := workflows.ParseWorkflowID(pos[0])
	if !ok {
		return usageErr("%q is not a rollout id (sspr/<tenant>/<plan>)", pos[0])
	}
	var opts []nats.Option
	if *nf.user != "" {
		opts = append(opts, nats.CustomInboxPrefix(approval.InboxPrefix(*nf.user)))
	}
	nc, js, err := worker.DialNATS(ctx, nf.config(), "ssprflow-events", opts...)
	if err != nil {
		return err
	}
	defer nc.Close()
	print := func(e approval.Event) error {
		if *out == "json" {
			return printJSON(io.Out, e)
		}
		fmt.Fprintf(io.Out, "%s  %-28s %s\n", e.Time.Local().Format("2006-01-02 15:04:05"), strings.TrimPrefix(e.Type, "io.ssprflow."), clip(string(e.Data), 150))
		return nil
	}
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
