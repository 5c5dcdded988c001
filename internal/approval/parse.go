package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// decisionBody is the wire form of a Decision. It has no approver (the
// subject names the approver) and no time (the decision's time is the
// server's timestamp of the stored message, never the sender's claim), so a
// body carrying "approver" or "at" is refused as an unknown field.
type decisionBody struct {
	ID        string `json:"id"`
	Gate      string `json:"gate"`
	Verdict   string `json:"verdict"`
	Comment   string `json:"comment,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

func (d Decision) body() decisionBody {
	return decisionBody{ID: d.ID, Gate: d.Gate, Verdict: d.Verdict, Comment: d.Comment, RequestID: d.RequestID}
}

// ParseDecision decodes an untrusted decision published on subject. The
// approver is taken from the subject (the server's permissions bind it to the
// publishing user); the time is left zero for the caller to fill from the
// server (the bridge uses the stored message's timestamp). The body must be
// at most MaxDecisionSize bytes of valid UTF-8 holding one JSON object whose
// keys are exactly (case-sensitively) some of id, gate, verdict, comment and
// request_id, each at most once, each a JSON string without an unpaired
// UTF-16 surrogate escape; id and gate must be valid tokens, verdict
// "approve" or "reject", comment at most MaxCommentSize bytes. The comment is
// kept as sent, control characters included: printing it safely is the
// reader's job.
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
	b, err := decodeDecisionBody(data)
	if err != nil {
		return Decision{}, err
	}
	d := Decision{ID: b.ID, Gate: b.Gate, Verdict: b.Verdict, Comment: b.Comment, RequestID: b.RequestID, Approver: approver}
	if err := d.validate(); err != nil {
		return Decision{}, err
	}
	return d, nil
}

// decodeDecisionBody walks one JSON object token by token. encoding/json
// alone matches keys case-insensitively ("VERDICT" sets verdict), lets a
// repeated key override the first, and replaces invalid UTF-8 and unpaired
// surrogates with U+FFFD: each lets the decision the bridge applies differ
// from the bytes the stream keeps and other readers see.
func decodeDecisionBody(data []byte) (decisionBody, error) {
	if !utf8.Valid(data) {
		return decisionBody{}, fmt.Errorf("%w: decision is not valid UTF-8", ErrMalformed)
	}
	var b decisionBody
	fields := map[string]*string{"id": &b.ID, "gate": &b.Gate, "verdict": &b.Verdict, "comment": &b.Comment, "request_id": &b.RequestID}
	seen := make(map[string]bool, len(fields))
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return decisionBody{}, fmt.Errorf("%w: decision must be one JSON object", ErrMalformed)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return decisionBody{}, fmt.Errorf("%w: decode decision: %s", ErrMalformed, truncate(err.Error(), 200))
		}
		key, _ := tok.(string) // the decoder only yields strings as keys
		dst, ok := fields[key]
		switch {
		case !ok:
			return decisionBody{}, fmt.Errorf("%w: unknown field %q (fields are id, gate, verdict, comment, request_id)", ErrMalformed, truncate(key, 32))
		case seen[key]:
			return decisionBody{}, fmt.Errorf("%w: field %q given twice", ErrMalformed, key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return decisionBody{}, fmt.Errorf("%w: decode decision %s: %s", ErrMalformed, key, truncate(err.Error(), 200))
		}
		if len(raw) == 0 || raw[0] != '"' {
			return decisionBody{}, fmt.Errorf("%w: %s must be a JSON string", ErrMalformed, key)
		}
		if hasLoneSurrogate(raw) {
			return decisionBody{}, fmt.Errorf("%w: %s has an unpaired UTF-16 surrogate escape", ErrMalformed, key)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return decisionBody{}, fmt.Errorf("%w: decode decision %s: %s", ErrMalformed, key, truncate(err.Error(), 200))
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return decisionBody{}, fmt.Errorf("%w: decision must be one JSON object", ErrMalformed)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return decisionBody{}, fmt.Errorf("%w: decode decision: data after the JSON object", ErrMalformed)
	}
	return b, nil
}

// hasLoneSurrogate reports whether the JSON string literal lit (quotes
// included, already checked by the decoder) has a \u escape of a UTF-16
// surrogate that is not half of a high-low pair.
func hasLoneSurrogate(lit []byte) bool {
	for i := 0; i < len(lit); i++ {
		if lit[i] != '\\' {
			continue
		}
		i++ // the escaped character; the loop skips it
		if i >= len(lit) || lit[i] != 'u' {
			continue
		}
		r := hex4(lit[i+1:])
		i += 4
		switch {
		case r < 0xd800 || r > 0xdfff:
		case r >= 0xdc00:
			return true // a low surrogate first
		default:
			if i+2 >= len(lit) || lit[i+1] != '\\' || lit[i+2] != 'u' {
				return true
			}
			if lo := hex4(lit[i+3:]); lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 returns the value of the four hex digits at the start of b, or -1.
func hex4(b []byte) int {
	if len(b) < 4 {
		return -1
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 16)
	if err != nil {
		return -1
	}
	return int(v)
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
