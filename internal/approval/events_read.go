package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ssprflow/ssprflow/internal/dial"
)

// Reading the audit trail uses only read-only means, so approvers and
// operators need no consumer rights (a consumer can be pointed anywhere):
// JetStream direct gets of SSPRFLOW_EVENTS, one stored event per request
// ("the first event of this rollout at or after sequence n"), and, when
// following, a core NATS subscription on the rollout's event subjects that
// says when to read again.

const (
	// directGetTimeout bounds one direct get.
	directGetTimeout = 5 * time.Second
	// followPoll is how often FollowEvents reads the stream without being
	// woken, for events whose core NATS copy it missed (a reconnect, a slow
	// subscriber).
	followPoll = 2 * time.Second
)

// directGetRequest is the body of $JS.API.DIRECT.GET.<stream>: the first
// message at or after Seq whose subject matches NextBySubject (servers 2.9+).
type directGetRequest struct {
	Seq           uint64 `json:"seq"`
	NextBySubject string `json:"next_by_subj"`
}

func eventsFilter(tenant, rollout string) (string, error) {
	if err := checkTokens("tenant", tenant, "rollout", rollout); err != nil {
		return "", err
	}
	return Prefix + "." + tenant + "." + rollout + ".event.>", nil
}

// nextEvent returns the first event matching filter stored at or after seq
// and its stream sequence; found is false when there is none (yet). Errors
// wrap ErrNotPermitted, ErrEventsUnavailable, ErrMalformed or the
// connection's error.
func nextEvent(ctx context.Context, nc *nats.Conn, filter string, seq uint64) (ev Event, at uint64, found bool, err error) {
	body, err := json.Marshal(directGetRequest{Seq: seq, NextBySubject: filter})
	if err != nil {
		return Event{}, 0, false, err
	}
	rctx, cancel := context.WithTimeout(ctx, directGetTimeout)
	defer cancel()
	m, err := nc.RequestWithContext(rctx, directGetEvents, body)
	if err != nil {
		// A refused publish gets no answer, only an asynchronous error.
		if perr := dial.PermissionError(nc, directGetEvents); perr != nil {
			return Event{}, 0, false, fmt.Errorf("%w: %w", ErrNotPermitted, perr)
		}
		if errors.Is(err, nats.ErrNoResponders) {
			return Event{}, 0, false, fmt.Errorf("%w: no answer to a direct get on %s", ErrEventsUnavailable, EventsStream)
		}
		return Event{}, 0, false, err
	}
	if status := m.Header.Get("Status"); status != "" && len(m.Data) == 0 {
		if status == "404" {
			return Event{}, 0, false, nil
		}
		return Event{}, 0, false, fmt.Errorf("direct get on %s: status %s %s", EventsStream, status, m.Header.Get("Description"))
	}
	at, err = strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
	if err != nil || at < seq {
		return Event{}, 0, false, fmt.Errorf("direct get on %s: bad %s header %q", EventsStream, jetstream.SequenceHeader, m.Header.Get(jetstream.SequenceHeader))
	}
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		return Event{}, 0, false, fmt.Errorf("%w: event at %s sequence %d on %s: %w", ErrMalformed, EventsStream, at, m.Header.Get(jetstream.SubjectHeader), err)
	}
	return ev, at, true, nil
}

// fnError marks an error returned by the caller's fn, returned as is.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// readFrom calls fn for every event matching filter stored at or after
// *next, oldest first, advancing *next past each one, until none is left.
// It reports how many it read.
func readFrom(ctx context.Context, nc *nats.Conn, filter string, next *uint64, fn func(Event) error) (int, error) {
	n := 0
	for {
		ev, at, found, err := nextEvent(ctx, nc, filter, *next)
		if err != nil || !found {
			return n, err
		}
		*next = at + 1
		n++
		if err := fn(ev); err != nil {
			return n, fnError{err}
		}
	}
}

// FollowEvents calls fn for every event of the rollout, oldest first, then
// for each new event as it is stored, until ctx ends (it then returns nil)
// or fn returns an error (returned as is). Each stored event is passed once,
// in stream order: events are read from the stream by sequence, and core
// NATS only says when to read again. It survives reconnects and server
// restarts. It needs only the direct get of SSPRFLOW_EVENTS and a
// subscription to the rollout's event subjects; errors wrap
// ErrNotPermitted, ErrEventsUnavailable (when the stream cannot be read at
// the start) or ErrMalformed.
func FollowEvents(ctx context.Context, js jetstream.JetStream, tenant, rollout string, fn func(Event) error) error {
	filter, err := eventsFilter(tenant, rollout)
	if err != nil {
		return err
	}
	nc := js.Conn()
	wake := make(chan struct{}, 1)
	// Subscribed before the first read: an event stored after that read
	// wakes us.
	sub, err := nc.Subscribe(filter, func(*nats.Msg) {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return fmt.Errorf("follow events of %s/%s: %w", tenant, rollout, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.FlushWithContext(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("follow events of %s/%s: %w", tenant, rollout, err)
	}
	if perr := dial.PermissionError(nc, filter); perr != nil {
		return fmt.Errorf("follow events of %s/%s: %w: %w", tenant, rollout, ErrNotPermitted, perr)
	}

	poll := time.NewTicker(followPoll)
	defer poll.Stop()
	next := uint64(1)
	first := true
	// A woken read may run before the stream has stored what woke it: read
	// again a few times, shortly after.
	var retry <-chan time.Time
	retryIn := time.Duration(0)
	for {
		n, err := readFrom(ctx, nc, filter, &next, fn)
		var fe fnError
		switch {
		case errors.As(err, &fe):
			return fe.err
		case ctx.Err() != nil:
			return nil
		case err != nil && (first || errors.Is(err, ErrNotPermitted) || errors.Is(err, ErrMalformed) || errors.Is(err, nats.ErrConnectionClosed)):
			return fmt.Errorf("follow events of %s/%s: %w", tenant, rollout, err)
		}
		// Any other error (reconnecting, a restarting server) is retried
		// at the next poll.
		first = false
		if n == 0 && retryIn > 0 && retryIn < 500*time.Millisecond {
			retry = time.After(retryIn)
			retryIn *= 2
		} else {
			retry, retryIn = nil, 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
			retryIn = 10 * time.Millisecond
		case <-retry:
		case <-poll.C:
		}
	}
}

// ListEvents returns the rollout's events stored up to now, oldest first:
// its audit trail. It needs only the direct get of SSPRFLOW_EVENTS; errors
// wrap ErrNotPermitted, ErrEventsUnavailable or ErrMalformed.
func ListEvents(ctx context.Context, js jetstream.JetStream, tenant, rollout string) ([]Event, error) {
	filter, err := eventsFilter(tenant, rollout)
	if err != nil {
		return nil, err
	}
	var events []Event
	next := uint64(1)
	_, err = readFrom(ctx, js.Conn(), filter, &next, func(ev Event) error {
		events = append(events, ev)
		return nil
	})
	if err != nil {
		return events, fmt.Errorf("list events of %s/%s: %w", tenant, rollout, err)
	}
	return events, nil
}
