package approval

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/ssprflow/ssprflow/internal/attest"
)

// Verdict values of a Decision.
const (
	VerdictApprove = "approve"
	VerdictReject  = "reject"
)

// Size limits. MaxStoredMsgSize is the approvals stream's limit; decisions
// are held to the stricter MaxDecisionSize by ParseDecision.
const (
	MaxDecisionSize  = 8 << 10
	MaxCommentSize   = 1 << 10
	MaxRequestSize   = 16 << 10
	MaxStoredMsgSize = 16 << 10
	maxRequestIDLen  = 512
)

// Request asks approvers to decide a gate. It is published by the workflow
// side (an activity) on RequestSubject and stored in SSPRFLOW_APPROVALS.
type Request struct {
	// ID is deterministic (see RequestID) so a retried publish is stored once.
	ID         string `json:"id"`
	Tenant     string `json:"tenant"`
	Rollout    string `json:"rollout"`
	WorkflowID string `json:"workflow_id"`
	Gate       string `json:"gate"`
	Attempt    int    `json:"attempt,omitempty"`
	Stage      string `json:"stage"`
	NextStage  string `json:"next_stage,omitempty"`
	// Summary says what will change if the gate is approved.
	Summary string `json:"summary"`
	// Instructions are the steps of a manual task (empty for a gate).
	Instructions []string           `json:"instructions,omitempty"`
	Metrics      map[string]float64 `json:"metrics,omitempty"`
	Approvers    []string           `json:"approvers"`
	// Quorum is how many distinct approvals open the gate.
	Quorum      int       `json:"quorum"`
	ExpiresAt   time.Time `json:"expires_at"`
	RequestedAt time.Time `json:"requested_at"`
}

// RequestID returns the deterministic id of attempt number attempt of a
// gate in one run of a rollout workflow: the same inputs give the same id,
// so a retried activity de-duplicates in JetStream, while a later rollout
// of the same plan (a new run) or a retried gate (a new attempt) asks anew.
// Decisions bind to it (Decision.RequestID).
func RequestID(workflowID, runID, gate string, attempt int) string {
	return workflowID + "-" + runID + "-" + gate + "-" + strconv.Itoa(attempt)
}

// Validate checks the request before it is published.
func (r Request) Validate() error {
	if err := checkTokens("tenant", r.Tenant, "rollout", r.Rollout, "gate", r.Gate); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if r.ID == "" || len(r.ID) > maxRequestIDLen {
		return fmt.Errorf("%w: id is required (use RequestID) and at most %d bytes", ErrInvalidRequest, maxRequestIDLen)
	}
	if len(r.Approvers) == 0 {
		return fmt.Errorf("%w: gate %q has no approvers", ErrInvalidRequest, r.Gate)
	}
	seen := make(map[string]bool, len(r.Approvers))
	for _, a := range r.Approvers {
		if err := checkTokens("approver", a); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
		}
		if seen[a] {
			return fmt.Errorf("%w: approver %q listed twice", ErrInvalidRequest, a)
		}
		seen[a] = true
	}
	if r.Quorum < 1 || r.Quorum > len(r.Approvers) {
		return fmt.Errorf("%w: quorum %d must be between 1 and the number of approvers (%d)", ErrInvalidRequest, r.Quorum, len(r.Approvers))
	}
	if r.ExpiresAt.IsZero() {
		return fmt.Errorf("%w: expires_at is required", ErrInvalidRequest)
	}
	return nil
}

// Decision is an approver's answer to a gate.
type Decision struct {
	// ID is chosen by the publisher (a UUID); the Decider de-duplicates by it
	// and the verdict is published on VerdictSubject(.., ID).
	ID      string `json:"id"`
	Gate    string `json:"gate"`
	Verdict string `json:"verdict"`
	Comment string `json:"comment,omitempty"`
	// Approver is filled by ParseDecision from the subject. It is never read
	// from the body: a body that carries "approver" is rejected.
	Approver  string `json:"approver,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// At is when the server stored the decision, filled by the bridge; it
	// is never read from the body (a body carrying "at" is refused).
	At time.Time `json:"at,omitzero"`
	// Via is the authenticated identity the decision came through, such as
	// "nats:alice"; Approver is then the person that identity belongs to.
	// Both are set by the worker, never read from the wire body.
	Via string `json:"via,omitempty"`
	// Signature is the worker's attestation of the fields above for one
	// workflow (see attest); the rollout refuses a decision without it.
	Signature attest.Signature `json:"signature,omitzero"`
}

// Verdict is the bridge's answer to one decision.
type Verdict struct {
	DecisionID string `json:"decision_id"`
	// Accepted reports whether the decision took effect (an approval counted
	// or a rejection applied). False is final: publish a new decision.
	Accepted bool   `json:"accepted"`
	Reason   string `json:"reason,omitempty"`
	// GateState is the gate's state after the decision, e.g. "pending",
	// "approved", "rejected" (chosen by the Decider).
	GateState string `json:"gate_state,omitempty"`
}

// NewDecisionID returns a random UUID (version 4) for Decision.ID.
func NewDecisionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// stableID returns a UUID-shaped id derived from parts (SHA-256), for
// messages whose id must be the same on every retry.
func stableID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x80 // version 8: custom
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
