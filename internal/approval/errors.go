package approval

import "errors"

// Errors returned by this package. Callers branch on them with errors.Is; the
// returned errors wrap them with detail.
var (
	// ErrMalformed reports a decision, event or request that is not valid
	// JSON, has unknown fields, or misses a required field.
	ErrMalformed = errors.New("approval: malformed message")
	// ErrTooLarge reports a message above its size limit (MaxDecisionSize,
	// MaxCommentSize, MaxRequestSize).
	ErrTooLarge = errors.New("approval: message too large")
	// ErrInvalidVerdict reports a decision verdict other than "approve" or
	// "reject".
	ErrInvalidVerdict = errors.New(`approval: verdict must be "approve" or "reject"`)
	// ErrInvalidToken reports a tenant, rollout, gate, approver, decision id
	// or event kind that is not a valid subject token.
	ErrInvalidToken = errors.New("approval: invalid subject token")
	// ErrInvalidSubject reports a subject that is not a decision subject.
	ErrInvalidSubject = errors.New("approval: not an approval decision subject")
	// ErrInvalidRequest reports an approval request that fails validation.
	ErrInvalidRequest = errors.New("approval: invalid request")
	// ErrNoVerdict reports that PublishDecision stored the decision but got
	// no verdict in time: the worker's bridge may be down.
	ErrNoVerdict = errors.New("approval: no verdict received")
	// ErrNotPermitted reports that the NATS server refused a publish, e.g. an
	// approver publishing on another approver's decision subject.
	ErrNotPermitted = errors.New("approval: not permitted")
	// ErrEventsUnavailable reports that nothing answered a direct get on
	// SSPRFLOW_EVENTS: the stream does not exist yet, or was created without
	// allow_direct (the worker's EnsureStreams sets it).
	ErrEventsUnavailable = errors.New("approval: events stream unavailable")
)

// IsPermanent reports an error that sending the same message again cannot
// fix: it is malformed, too large, or names an invalid token.
func IsPermanent(err error) bool {
	for _, e := range []error{ErrMalformed, ErrTooLarge, ErrInvalidVerdict, ErrInvalidToken, ErrInvalidRequest} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
