package cli

import (
	"context"
	"fmt"

	"github.com/ssprflow/ssprflow/internal/approval"
)

func runEvents(ctx context.Context, io IO, args []string) error {
	c := newCommand(io, "events", "ROLLOUT", "Print every event of a rollout: steps, gates, decisions (accepted or refused).", natsFlags|outputFlag)
	follow := c.fs.Bool("follow", false, "keep printing new events")
	r, nc, err := c.rolloutOnNATS(ctx, args, false)
	if err != nil {
		return err
	}
	defer nc.Close()
	print := func(e approval.Event) error { return printEvent(io.Out, e, c.json()) }
	if *follow {
		return approval.FollowEvents(ctx, nc.js, r.tenant, r.rollout, print)
	}
	evs, err := approval.ListEvents(ctx, nc.js, r.tenant, r.rollout)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if err := print(e); err != nil {
			return err
		}
	}
	if len(evs) == 0 {
		fmt.Fprintln(io.Err, "no events for", r.id())
	}
	return nil
}
