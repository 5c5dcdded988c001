package approval

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// EventTypePrefix prefixes every Event.Type: kind "step.completed" has type
// "io.ssprflow.step.completed".
const EventTypePrefix = "io.ssprflow."

// EventKind names what an event reports: Event.Type without
// EventTypePrefix, one or more subject tokens joined by '.'. The values are
// wire format (event types and NATS subjects): never change one.
type EventKind string

// Event kinds recorded by this package.
const (
	// KindDecision is recorded by the bridge for every decision it answers,
	// accepted, refused or malformed.
	KindDecision EventKind = "approval.decision"
	// KindRequest is recorded by PublishRequest callers that want requests in
	// the audit trail (optional).
	KindRequest EventKind = "approval.request"
)

// Event kinds the rollout workflow records.
const (
	KindStageStarted EventKind = "stage.started"
	KindStepStarted  EventKind = "step.started"
	KindStepFailed   EventKind = "step.failed"
	// KindStepProgress reports how far a long step (a wave's members) is.
	KindStepProgress    EventKind = "step.progress"
	KindStepApplied     EventKind = "step.applied"
	KindStepVerified    EventKind = "step.verified"
	KindStepUnchanged   EventKind = "step.unchanged"
	KindStepCompensated EventKind = "step.compensated"
	KindStepConflict    EventKind = "step.conflict"
	KindStepNeedsHuman  EventKind = "step.needs-human"
	KindGateOpened      EventKind = "gate.opened"
	KindGatePassed      EventKind = "gate.passed"
	KindGateFailed      EventKind = "gate.failed"
	KindGateRejected    EventKind = "gate.rejected"
	KindGateExpired     EventKind = "gate.expired"
	// KindGateExpiring: a fifth of the gate's time is left, undecided.
	KindGateExpiring      EventKind = "gate.expiring"
	KindApprovalRequested EventKind = "approval.requested"
	KindRolloutPaused     EventKind = "rollout.paused"
	KindRolloutSucceeded  EventKind = "rollout.succeeded"
	KindRolloutFailed     EventKind = "rollout.failed"
	KindRolloutRolledBack EventKind = "rollout.rolled-back"
	KindRolloutCancelled  EventKind = "rollout.cancelled"
	// KindDriftDetected: a scheduled drift check found the tenant or the
	// domain no longer as the plan left it; KindDriftClear: it found none.
	KindDriftDetected EventKind = "drift.detected"
	KindDriftClear    EventKind = "drift.clear"
	// KindDriftFailed: the drift check could not read what it compares.
	KindDriftFailed EventKind = "drift.failed"
)

// Event is a CloudEvents 1.0 event in structured JSON mode.
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            time.Time       `json:"time"`
	Subject         string          `json:"subject,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`

	// err keeps a failure of NewEvent to encode data, reported by
	// PublishEvent.
	err error
}

// NewEvent returns an event of the given kind ("step.completed") with a
// random id, the current time and data encoded as JSON. Use WithID for a
// deterministic id, so that a retried publish is stored once. Data must not
// carry secrets: events are readable by approvers. If data cannot be
// encoded, PublishEvent returns the error.
func NewEvent(kind EventKind, source, subject string, data any) Event {
	e := Event{
		SpecVersion:     "1.0",
		ID:              NewDecisionID(),
		Source:          source,
		Type:            EventTypePrefix + string(kind),
		Time:            time.Now().UTC(),
		Subject:         subject,
		DataContentType: "application/json",
	}
	if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			e.err = fmt.Errorf("encode event data: %w", err)
		}
		e.Data = raw
	}
	return e
}

// WithID returns e with a deterministic id derived from parts (for example
// workflow id, step and attempt): the same parts give the same id.
func (e Event) WithID(parts ...string) Event {
	e.ID = stableID(append([]string{e.Type}, parts...)...)
	return e
}

// Kind returns the event kind: Type without EventTypePrefix.
func (e Event) Kind() EventKind {
	return EventKind(strings.TrimPrefix(e.Type, EventTypePrefix))
}

func (e Event) validate() error {
	if e.err != nil {
		return e.err
	}
	if e.SpecVersion != "1.0" {
		return fmt.Errorf("%w: event specversion %q, want \"1.0\"", ErrMalformed, e.SpecVersion)
	}
	if e.ID == "" || len(e.ID) > maxRequestIDLen {
		return fmt.Errorf("%w: event id is required, at most %d bytes", ErrMalformed, maxRequestIDLen)
	}
	if e.Source == "" {
		return fmt.Errorf("%w: event source is required", ErrMalformed)
	}
	if !strings.HasPrefix(e.Type, EventTypePrefix) {
		return fmt.Errorf("%w: event type %q must start with %q", ErrMalformed, e.Type, EventTypePrefix)
	}
	return checkKind(string(e.Kind()))
}
