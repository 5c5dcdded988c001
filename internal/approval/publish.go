package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ssprflow/ssprflow/internal/dial"
)

// DefaultVerdictWait is how long PublishDecision waits when wait is 0.
const DefaultVerdictWait = 30 * time.Second

// PublishRequest validates req and stores it on its request subject. The
// message id is req.ID, so publishing the same request again within the
// duplicate window stores it once. Errors wrap ErrInvalidRequest,
// ErrInvalidToken, ErrTooLarge or the JetStream error.
func PublishRequest(ctx context.Context, js jetstream.JetStream, req Request) error {
	if err := req.Validate(); err != nil {
		return err
	}
	subject, err := RequestSubject(req.Tenant, req.Rollout, req.Gate)
	if err != nil {
		return err
	}
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%w: encode request: %w", ErrInvalidRequest, err)
	}
	if len(data) > MaxRequestSize {
		return fmt.Errorf("%w: request is %d bytes, limit %d: shorten the summary or metrics", ErrTooLarge, len(data), MaxRequestSize)
	}
	if _, err := js.Publish(ctx, subject, data, jetstream.WithMsgID(req.ID), jetstream.WithExpectStream(ApprovalsStream)); err != nil {
		return fmt.Errorf("publish request %s: %w", req.ID, err)
	}
	return nil
}

// PublishEvent stores ev on EventSubject(tenant, rollout, ev.Kind()) with
// message id ev.ID, so a retried publish is stored once. Errors wrap
// ErrMalformed, ErrInvalidToken or the JetStream error.
func PublishEvent(ctx context.Context, js jetstream.JetStream, tenant, rollout string, ev Event) error {
	if err := ev.validate(); err != nil {
		return fmt.Errorf("publish event: %w", err)
	}
	subject, err := EventSubject(tenant, rollout, string(ev.Kind()))
	if err != nil {
		return fmt.Errorf("publish event: %w", err)
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("publish event: %w: %w", ErrMalformed, err)
	}
	if _, err := js.Publish(ctx, subject, data, jetstream.WithMsgID(ev.ID), jetstream.WithExpectStream(EventsStream)); err != nil {
		return fmt.Errorf("publish event %s: %w", ev.ID, err)
	}
	return nil
}

// PublishDecision is what an approver's CLI calls: it stores d on the
// approver's decision subject and waits up to wait (DefaultVerdictWait if 0)
// for the bridge's verdict. It subscribes to the verdict subject before
// publishing so the answer cannot be missed. An empty d.ID gets a new UUID;
// d.At and d.Approver are not sent (the server's timestamp is the time, the
// subject names the approver). The message id is d.ID; retrying with the same d (for
// example after ErrNoVerdict) is answered again and applied once; set d.ID
// with NewDecisionID before the first call if you may retry.
//
// nc is the approver's connection (for an approver user it must use
// nats.CustomInboxPrefix(InboxPrefix(approverID))); js may share it.
// Errors wrap ErrInvalidToken, ErrMalformed, ErrInvalidVerdict, ErrTooLarge,
// ErrNotPermitted (the server refused the subject) or ErrNoVerdict (the
// decision is stored, but no verdict came: the worker's bridge may be down;
// it will be applied when the bridge runs again).
func PublishDecision(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, tenant, rollout, approverID string, d Decision, wait time.Duration) (Verdict, error) {
	if wait <= 0 {
		wait = DefaultVerdictWait
	}
	if d.ID == "" {
		d.ID = NewDecisionID()
	}
	d.Approver = approverID
	if err := d.validate(); err != nil {
		return Verdict{}, err
	}
	subject, err := DecisionSubject(tenant, rollout, approverID)
	if err != nil {
		return Verdict{}, err
	}
	vsubject, err := VerdictSubject(tenant, rollout, approverID, d.ID)
	if err != nil {
		return Verdict{}, err
	}
	data, err := json.Marshal(d.body())
	if err != nil {
		return Verdict{}, fmt.Errorf("%w: encode decision: %w", ErrMalformed, err)
	}
	if len(data) > MaxDecisionSize {
		return Verdict{}, fmt.Errorf("%w: decision is %d bytes, limit %d", ErrTooLarge, len(data), MaxDecisionSize)
	}

	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	sub, err := nc.SubscribeSync(vsubject)
	if err != nil {
		return Verdict{}, fmt.Errorf("subscribe to verdict %s: %w", vsubject, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	// The server must know the subscription before the bridge can answer;
	// js may use another connection.
	if err := nc.FlushWithContext(wctx); err != nil {
		return Verdict{}, fmt.Errorf("subscribe to verdict %s: %w", vsubject, err)
	}
	if perr := dial.PermissionError(nc, vsubject); perr != nil {
		return Verdict{}, fmt.Errorf("subscribe to verdict %s: %w: %w", vsubject, ErrNotPermitted, perr)
	}
	ack, err := publishChecked(wctx, js, subject, data, jetstream.WithMsgID(d.ID), jetstream.WithExpectStream(ApprovalsStream))
	if err == nil && ack.Duplicate {
		// A retry of a decision already stored: it may have been answered
		// while nobody listened. Store it again so the bridge answers; the
		// Decider applies it once.
		_, err = publishChecked(wctx, js, subject, data, jetstream.WithExpectStream(ApprovalsStream))
	}
	if err != nil {
		return Verdict{}, fmt.Errorf("publish decision %s on %s: %w", d.ID, subject, err)
	}
	for {
		msg, err := sub.NextMsgWithContext(wctx)
		if err != nil {
			if ctx.Err() != nil {
				return Verdict{}, fmt.Errorf("wait for verdict on decision %s: %w", d.ID, ctx.Err())
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return Verdict{}, fmt.Errorf("%w for decision %s within %s: the decision is stored and will be applied when the worker's approval bridge runs; the bridge may be down", ErrNoVerdict, d.ID, wait)
			}
			return Verdict{}, fmt.Errorf("wait for verdict on decision %s: %w", d.ID, err)
		}
		var v Verdict
		if err := json.Unmarshal(msg.Data, &v); err != nil || v.DecisionID != d.ID {
			continue // not our answer; keep waiting
		}
		return v, nil
	}
}

// publishChecked publishes to JetStream and waits for the ack, failing fast
// with ErrNotPermitted when the server refuses the subject (a refused
// publish gets no reply, only an asynchronous error on the connection).
func publishChecked(ctx context.Context, js jetstream.JetStream, subject string, data []byte, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	paf, err := js.PublishAsync(subject, data, opts...)
	if err != nil {
		return nil, err
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ack := <-paf.Ok():
			return ack, nil
		case err := <-paf.Err():
			return nil, err
		case <-tick.C:
			if perr := dial.PermissionError(js.Conn(), subject); perr != nil {
				return nil, fmt.Errorf("%w: %w", ErrNotPermitted, perr)
			}
		case <-ctx.Done():
			if perr := dial.PermissionError(js.Conn(), subject); perr != nil {
				return nil, fmt.Errorf("%w: %w", ErrNotPermitted, perr)
			}
			return nil, fmt.Errorf("wait for JetStream ack: %w", ctx.Err())
		}
	}
}
