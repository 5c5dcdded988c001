package approval

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestEventsListAndFollow(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if evs, err := ListEvents(ctx, e.js, e.tenant, e.rollout); err != nil || len(evs) != 0 {
		t.Fatalf("empty trail: %v, %v", evs, err)
	}
	src := "/ssprflow/" + e.tenant + "/" + e.rollout
	started := NewEvent("step.started", src, "pilot-group", map[string]string{"step": "pilot-group"}).WithID(e.tenant, e.rollout, "pilot-group", "1")
	for range 2 { // a retried activity records once
		if err := PublishEvent(ctx, e.js, e.tenant, e.rollout, started); err != nil {
			t.Fatalf("PublishEvent: %v", err)
		}
	}
	// Another rollout's events stay out of this trail.
	if err := PublishEvent(ctx, e.js, e.tenant, e.rollout+"x", NewEvent("step.started", src, "", nil)); err != nil {
		t.Fatal(err)
	}

	// An approver follows, with no consumer rights: direct gets and a
	// core subscription (see RolePermissions).
	_, ajs := e.connect(t, "alice")
	got := make(chan Event, 10)
	fctx, stopFollow := context.WithCancel(ctx)
	followed := make(chan error, 1)
	go func() {
		followed <- FollowEvents(fctx, ajs, e.tenant, e.rollout, func(ev Event) error { got <- ev; return nil })
	}()
	completed := NewEvent("step.completed", src, "pilot-group", map[string]int{"members": 120})
	if err := PublishEvent(ctx, e.js, e.tenant, e.rollout, completed); err != nil {
		t.Fatal(err)
	}
	later := NewEvent("step.started", src, "waves", nil)
	if err := PublishEvent(ctx, e.js, e.tenant, e.rollout, later); err != nil {
		t.Fatal(err)
	}
	// Each once, in order: the catch-up and the live part do not overlap.
	for i, want := range []Event{started, completed, later} {
		select {
		case ev := <-got:
			if ev.ID != want.ID || ev.Type != want.Type || string(ev.Data) != string(want.Data) || !ev.Time.Equal(want.Time) {
				t.Fatalf("event %d = %+v, want %+v", i, ev, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d not followed", i)
		}
	}
	select {
	case ev := <-got:
		t.Fatalf("followed an extra event %+v", ev)
	case <-time.After(followPoll + 500*time.Millisecond): // a poll passes too
	}
	stopFollow()
	if err := <-followed; err != nil {
		t.Fatalf("FollowEvents after cancel: %v", err)
	}

	_, ojs := e.connect(t, "ops")
	evs, err := ListEvents(ctx, ojs, e.tenant, e.rollout)
	if err != nil || len(evs) != 3 || evs[0].ID != started.ID || evs[1].ID != completed.ID || evs[2].ID != later.ID {
		t.Fatalf("ListEvents as an operator = %+v, %v", evs, err)
	}

	// fn's error stops following and is returned.
	stop := errors.New("enough")
	if err := FollowEvents(ctx, e.js, e.tenant, e.rollout, func(Event) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("FollowEvents = %v, want fn's error", err)
	}
	if err := PublishEvent(ctx, e.js, e.tenant, e.rollout, Event{SpecVersion: "1.0", ID: "x", Source: src, Type: "other.type"}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("foreign type: %v", err)
	}
}
