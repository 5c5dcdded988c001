package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// decisionBody is the wire form of a Decision: no approver field, so a body
// trying to name its approver is rejected as an unknown field.
type decisionBody struct {
	ID        string    `json:"id"`
	Gate      string    `json:"gate"`
	Verdict   string    `json:"verdict"`
	Comment   string    `json:"comment,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	At        time.Time `json:"at,omitzero"`
}

func (d Decision) body() decisionBody {
	return decisionBody{ID: d.ID, Gate: d.Gate, Verdict: d.Verdict, Comment: d.Comment, RequestID: d.RequestID, At: d.At}
}

// ParseDecision decodes an untrusted decision published on subject. The
// approver is taken from the subject (the server's permissions bind it to the
// publishing user). The body must be one JSON object of at most
// MaxDecisionSize bytes with only the fields id, gate, verdict, comment,
// request_id and at; id and gate must be valid tokens, verdict "approve" or
// "reject", comment at most MaxCommentSize bytes of UTF-8.
//
// Errors wrap ErrInvalidSubject, ErrTooLarge, ErrMalformed, ErrInvalidToken
// or ErrInvalidVerdict.
func ParseDecision(subject string, data []byte) (Decision, error) {
	_, _, approver, err := ParseDecisionSubject(subject)
	if err != nil {
		return Decision{}, err
	}
	if len(data) > MaxDecisionSize {
		return Decision{}, fmt.Errorf("%w: decision is %d bytes, limit %d", ErrTooLarge, len(data), MaxDecisionSize)
	}
	var b decisionBody
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return Decision{}, fmt.Errorf("%w: decode decision: %s", ErrMalformed, truncate(err.Error(), 200))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Decision{}, fmt.Errorf("%w: decode decision: data after the JSON object", ErrMalformed)
	}
	d := Decision{ID: b.ID, Gate: b.Gate, Verdict: b.Verdict, Comment: b.Comment, RequestID: b.RequestID, At: b.At, Approver: approver}
	if err := d.validate(); err != nil {
		return Decision{}, err
	}
	return d, nil
}

// validate checks the body fields (not Approver).
func (d Decision) validate() error {
	if d.ID == "" {
		return fmt.Errorf("%w: decision id is required", ErrMalformed)
	}
	if d.Gate == "" {
		return fmt.Errorf("%w: gate is required", ErrMalformed)
	}
	if err := checkTokens("decision id", d.ID, "gate", d.Gate); err != nil {
		return err
	}
	if d.Verdict != VerdictApprove && d.Verdict != VerdictReject {
		return fmt.Errorf("%w, got %q", ErrInvalidVerdict, truncate(d.Verdict, 32))
	}
	if len(d.Comment) > MaxCommentSize {
		return fmt.Errorf("%w: comment is %d bytes, limit %d", ErrTooLarge, len(d.Comment), MaxCommentSize)
	}
	if !utf8.ValidString(d.Comment) {
		return fmt.Errorf("%w: comment is not valid UTF-8", ErrMalformed)
	}
	if len(d.RequestID) > maxRequestIDLen || !utf8.ValidString(d.RequestID) {
		return fmt.Errorf("%w: request_id must be UTF-8, at most %d bytes", ErrMalformed, maxRequestIDLen)
	}
	return nil
}

// recoverDecisionID extracts a usable decision id from a body that failed
// ParseDecision, so the bridge can still answer its sender.
func recoverDecisionID(data []byte) string {
	if len(data) > MaxStoredMsgSize {
		return ""
	}
	var b struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &b) != nil || !ValidToken(b.ID) {
		return ""
	}
	return b.ID
}
