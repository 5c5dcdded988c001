package approval

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// orderedEvents opens an ordered consumer over one rollout's events, from
// the first stored event.
func orderedEvents(ctx context.Context, js jetstream.JetStream, tenant, rollout string) (jetstream.Consumer, error) {
	if err := checkTokens("tenant", tenant, "rollout", rollout); err != nil {
		return nil, err
	}
	filter := Prefix + "." + tenant + "." + rollout + ".event.>"
	c, err := js.OrderedConsumer(ctx, EventsStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("read events of %s/%s: %w", tenant, rollout, err)
	}
	return c, nil
}

func decodeEvent(msg jetstream.Msg) (Event, error) {
	var ev Event
	if err := json.Unmarshal(msg.Data(), &ev); err != nil {
		seq := uint64(0)
		if md, mderr := msg.Metadata(); mderr == nil {
			seq = md.Sequence.Stream
		}
		return Event{}, fmt.Errorf("%w: event at %s sequence %d on %s: %w", ErrMalformed, EventsStream, seq, msg.Subject(), err)
	}
	return ev, nil
}

// FollowEvents calls fn for every event of the rollout, oldest first, then
// for each new event as it is stored, until ctx ends (it then returns nil)
// or fn returns an error (returned as is). It survives reconnects.
func FollowEvents(ctx context.Context, js jetstream.JetStream, tenant, rollout string, fn func(Event) error) error {
	c, err := orderedEvents(ctx, js, tenant, rollout)
	if err != nil {
		return err
	}
	it, err := c.Messages()
	if err != nil {
		return fmt.Errorf("follow events of %s/%s: %w", tenant, rollout, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("follow events of %s/%s: %w", tenant, rollout, err)
		}
		ev, err := decodeEvent(msg)
		if err != nil {
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// ListEvents returns the rollout's events stored up to now, oldest first:
// its audit trail.
func ListEvents(ctx context.Context, js jetstream.JetStream, tenant, rollout string) ([]Event, error) {
	c, err := orderedEvents(ctx, js, tenant, rollout)
	if err != nil {
		return nil, err
	}
	info := c.CachedInfo()
	if info == nil || info.NumPending == 0 {
		return nil, nil
	}
	total := info.NumPending
	events := make([]Event, 0, total)
	for {
		batch, err := c.Fetch(int(min(total, 256)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return events, fmt.Errorf("list events of %s/%s: %w", tenant, rollout, err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			ev, err := decodeEvent(msg)
			if err != nil {
				return events, err
			}
			events = append(events, ev)
			md, err := msg.Metadata()
			if err == nil && md.NumPending == 0 {
				return events, nil
			}
		}
		if err := batch.Error(); err != nil {
			return events, fmt.Errorf("list events of %s/%s: %w", tenant, rollout, err)
		}
		if got == 0 {
			return events, fmt.Errorf("list events of %s/%s: got %d of %d events: %w", tenant, rollout, len(events), total, context.DeadlineExceeded)
		}
		if err := ctx.Err(); err != nil {
			return events, err
		}
	}
}
