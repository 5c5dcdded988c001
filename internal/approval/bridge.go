package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Decider applies a decision to its rollout. The worker implements it with a
// Temporal Update whose validator refuses invalid decisions.
//
// A returned error means "transient, try again": the bridge redelivers the
// decision later. A returned Verdict with Accepted false is final. Decide
// must be idempotent by Decision.ID (and Approver): the bridge calls it again
// for a redelivered decision and expects the same verdict.
type Decider interface {
	Decide(ctx context.Context, tenant, rollout string, d Decision) (Verdict, error)
}

// BridgeOptions configures a Bridge. Zero values take the defaults.
type BridgeOptions struct {
	// Durable is the durable consumer's name; default "ssprflow-bridge".
	// Bridges sharing a name share the work; restarting one loses nothing.
	Durable string
	// AckWait is how long a delivered decision stays unacknowledged before
	// the server redelivers it; default 30s. It must exceed a Decide call.
	AckWait time.Duration
	// MaxDeliver bounds deliveries of one decision; default 20, negative for
	// no limit. After the last failed attempt the bridge answers with a
	// refused verdict ("not applied, publish again") and terminates it.
	MaxDeliver int
	// RetryDelay is the first redelivery delay after a Decider error,
	// doubled on each attempt up to MaxRetryDelay; defaults 500ms and 30s.
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// Logger receives operational logs; default discards them.
	Logger *slog.Logger
	// FilterSubject narrows the decisions consumed, e.g. one tenant's
	// "ssprflow.acme.*.approval.decision.*"; default DecisionSubjects. It must
	// be a decision subject pattern.
	FilterSubject string
}

// DefaultDurable is the default name of the bridge's durable consumer.
const DefaultDurable = "ssprflow-bridge"

// Bridge turns decisions stored in SSPRFLOW_APPROVALS into Decider calls and
// answers each with a Verdict and an "approval.decision" event.
type Bridge struct {
	js   jetstream.JetStream
	nc   *nats.Conn
	d    Decider
	opts BridgeOptions
	log  *slog.Logger

	// beforeAck, when set (tests), runs after Decide and before the verdict
	// is published and the message acknowledged.
	beforeAck func(Decision)
}

// NewBridge returns a bridge that consumes decisions with js, publishes
// verdicts with nc and applies decisions with d. Call Run to start it.
func NewBridge(js jetstream.JetStream, nc *nats.Conn, d Decider, opts BridgeOptions) *Bridge {
	if opts.Durable == "" {
		opts.Durable = DefaultDurable
	}
	if opts.FilterSubject == "" {
		opts.FilterSubject = DecisionSubjects
	}
	if opts.AckWait <= 0 {
		opts.AckWait = 30 * time.Second
	}
	if opts.MaxDeliver == 0 {
		opts.MaxDeliver = 20
	}
	if opts.MaxDeliver < 0 {
		opts.MaxDeliver = -1
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = 500 * time.Millisecond
	}
	if opts.MaxRetryDelay <= 0 {
		opts.MaxRetryDelay = 30 * time.Second
	}
	if opts.MaxRetryDelay < opts.RetryDelay {
		opts.MaxRetryDelay = opts.RetryDelay
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bridge{js: js, nc: nc, d: d, opts: opts, log: log}
}

// ConsumerConfig returns the durable consumer the bridge creates or updates.
func (b *Bridge) ConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       b.opts.Durable,
		Description:   "ssprflow approval bridge: decisions to the rollout workflow",
		FilterSubject: b.opts.FilterSubject,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.opts.AckWait,
		MaxDeliver:    b.opts.MaxDeliver,
		MaxAckPending: 256,
	}
}

// Run consumes decisions until ctx ends, then returns nil. It creates or
// updates the durable consumer (the streams must exist, see EnsureStreams),
// and rides out server restarts and reconnects. A decision whose handling
// was interrupted is redelivered after AckWait, to this or another bridge.
func (b *Bridge) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := b.consume(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if b.nc.IsClosed() {
			return fmt.Errorf("approval bridge: %w", nats.ErrConnectionClosed)
		}
		b.log.Warn("approval bridge: consumer interrupted, retrying", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (b *Bridge) consume(ctx context.Context) error {
	cons, err := b.js.CreateOrUpdateConsumer(ctx, ApprovalsStream, b.ConsumerConfig())
	if err != nil {
		return fmt.Errorf("ensure consumer %s: %w", b.opts.Durable, err)
	}
	// One message at a time: buffered messages would age towards AckWait
	// while an earlier Decide runs. Short expiry: quick recovery after a
	// server restart.
	it, err := cons.Messages(jetstream.PullMaxMessages(1), jetstream.PullExpiry(5*time.Second))
	if err != nil {
		return fmt.Errorf("consume %s: %w", b.opts.Durable, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				continue // the iterator re-pulls by itself
			}
			return err
		}
		b.handle(ctx, msg)
	}
}

// handle processes one delivery. It never acknowledges a decision before its
// verdict and event are out; on any doubt it leaves the message to be
// redelivered.
func (b *Bridge) handle(ctx context.Context, msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		b.log.Error("approval bridge: message without metadata", "error", err)
		_ = msg.Term()
		return
	}
	log := b.log.With("stream_seq", md.Sequence.Stream, "delivery", md.NumDelivered)
	tenant, rollout, approver, err := ParseDecisionSubject(msg.Subject())
	if err != nil {
		// Cannot happen with the consumer's filter; never retry it.
		log.Error("approval bridge: unexpected subject", "error", err)
		_ = msg.Term()
		return
	}
	log = log.With("tenant", tenant, "rollout", rollout, "approver", approver)

	d, perr := ParseDecision(msg.Subject(), msg.Data())
	if perr != nil {
		b.refuseMalformed(ctx, log, msg, md, tenant, rollout, approver, perr)
		return
	}
	// The time of a decision is when the server stored it, never a time
	// the approver's body claims.
	d.At = md.Timestamp.UTC()
	log = log.With("decision_id", d.ID, "gate", d.Gate)

	_ = msg.InProgress() // restart AckWait: Decide may be slow
	v, err := b.d.Decide(ctx, tenant, rollout, d)
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: redelivered after AckWait
		}
		if b.opts.MaxDeliver > 0 && md.NumDelivered >= uint64(b.opts.MaxDeliver) {
			log.Error("approval bridge: decision not applied, giving up", "error", err)
			v = Verdict{DecisionID: d.ID, Accepted: false, Reason: "not applied after " + strconv.FormatUint(md.NumDelivered, 10) + " attempts (the workflow could not be reached); publish the decision again"}
			if b.answer(ctx, log, msg, tenant, rollout, d, v) {
				_ = msg.Term()
			}
			return
		}
		delay := b.retryDelay(md.NumDelivered)
		log.Warn("approval bridge: decider failed, will retry", "error", err, "in", delay)
		_ = msg.NakWithDelay(delay)
		return
	}
	v.DecisionID = d.ID
	if b.beforeAck != nil {
		b.beforeAck(d)
	}
	if ctx.Err() != nil {
		return // killed between Decide and ack: redelivery re-answers
	}
	if !b.answer(ctx, log, msg, tenant, rollout, d, v) {
		return
	}
	if err := msg.DoubleAck(ctx); err != nil {
		// The decision is applied and answered; a redelivery is harmless.
		log.Warn("approval bridge: ack not confirmed", "error", err)
		return
	}
	log.Info("approval bridge: decision answered", "accepted", v.Accepted, "gate_state", v.GateState)
}

// answer records the event, then publishes the verdict: whoever holds a
// verdict finds it in the audit trail. It reports false (and arranges a
// redelivery) if the event could not be stored.
func (b *Bridge) answer(ctx context.Context, log *slog.Logger, msg jetstream.Msg, tenant, rollout string, d Decision, v Verdict) bool {
	if err := RecordDecision(ctx, b.js, tenant, rollout, "nats:"+d.Approver, d, v); err != nil {
		log.Warn("approval bridge: record event failed, will retry", "error", err)
		_ = msg.NakWithDelay(b.opts.RetryDelay)
		return false
	}
	b.publishVerdict(log, tenant, rollout, d.Approver, v)
	return true
}

// publishVerdict answers on the approver's own verdict subject: the only
// one their NATS user may subscribe to.
func (b *Bridge) publishVerdict(log *slog.Logger, tenant, rollout, approver string, v Verdict) {
	subject, err := VerdictSubject(tenant, rollout, approver, v.DecisionID)
	if err != nil {
		return // no usable id: nobody can be waiting for it
	}
	data, err := json.Marshal(v)
	if err == nil {
		err = b.nc.Publish(subject, data)
	}
	if err != nil {
		// Core NATS is best effort anyway; the event is the record.
		log.Warn("approval bridge: publish verdict failed", "error", err)
	}
}

// refuseMalformed answers a decision that failed ParseDecision: it can
// never succeed, so it is terminated after being recorded.
func (b *Bridge) refuseMalformed(ctx context.Context, log *slog.Logger, msg jetstream.Msg, md *jetstream.MsgMetadata, tenant, rollout, approver string, perr error) {
	id := recoverDecisionID(msg.Data())
	reason := "refused: " + perr.Error()
	seq := strconv.FormatUint(md.Sequence.Stream, 10)
	ev := NewEvent(KindDecision, source(tenant, rollout), "", decisionEventData{
		DecisionID: id, Approver: approver, Accepted: false, Reason: reason, Malformed: true, StreamSeq: md.Sequence.Stream,
	}).WithID("malformed", seq)
	if err := PublishEvent(ctx, b.js, tenant, rollout, ev); err != nil {
		log.Warn("approval bridge: record event failed, will retry", "error", err)
		_ = msg.NakWithDelay(b.opts.RetryDelay)
		return
	}
	if id != "" {
		b.publishVerdict(log, tenant, rollout, approver, Verdict{DecisionID: id, Accepted: false, Reason: reason})
	}
	log.Warn("approval bridge: malformed decision terminated", "reason", reason)
	// Plain Term: servers before 2.10 ignore "+TERM <reason>" and would
	// redeliver.
	_ = msg.Term()
}

func (b *Bridge) retryDelay(delivered uint64) time.Duration {
	d := b.opts.RetryDelay
	for i := uint64(1); i < delivered && d < b.opts.MaxRetryDelay; i++ {
		d *= 2
	}
	return min(d, b.opts.MaxRetryDelay)
}

func source(tenant, rollout string) string {
	return "/ssprflow/" + tenant + "/" + rollout + "/approval-bridge"
}

// RecordDecision stores a decision and its verdict in the rollout's audit
// trail (a KindDecision event), whichever way it came: via names the
// identity that made it ("nats:alice", "entra:<object id>"). Recorded
// once per decision and verdict, however often it is retried.
func RecordDecision(ctx context.Context, js jetstream.JetStream, tenant, rollout, via string, d Decision, v Verdict) error {
	src := source(tenant, rollout)
	if strings.HasPrefix(via, "entra:") {
		src = "/ssprflow/" + tenant + "/" + rollout + "/approval-web"
	}
	ev := NewEvent(KindDecision, src, d.Gate, decisionEventData{
		DecisionID: d.ID, Approver: d.Approver, Via: via, Gate: d.Gate, Verdict: d.Verdict, RequestID: d.RequestID,
		Accepted: v.Accepted, Reason: v.Reason, GateState: v.GateState,
	}).WithID(d.Approver, d.ID, strconv.FormatBool(v.Accepted), v.GateState, v.Reason)
	return PublishEvent(ctx, js, tenant, rollout, ev)
}

// decisionEventData is the data of a KindDecision event. It carries no
// comment: free text may hold anything, and events are widely readable.
type decisionEventData struct {
	DecisionID string `json:"decision_id,omitempty"`
	Approver   string `json:"approver"`
	Via        string `json:"via,omitempty"`
	Gate       string `json:"gate,omitempty"`
	Verdict    string `json:"verdict,omitempty"`
	RequestID  string `json:"request_id,omitempty"`
	Accepted   bool   `json:"accepted"`
	Reason     string `json:"reason,omitempty"`
	GateState  string `json:"gate_state,omitempty"`
	Malformed  bool   `json:"malformed,omitempty"`
	StreamSeq  uint64 `json:"stream_seq,omitempty"`
}
