package approval

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

const aliceSubject = "ssprflow.acme.r1.approval.decision.alice"

func TestParseDecision(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		body    string
		want    Decision
		wantErr error
	}{
		{
			name:    "approve",
			subject: aliceSubject,
			body:    `{"id":"d-1","gate":"pilot","verdict":"approve","comment":"looks good","request_id":"acme:r1:pilot:1"}`,
			want:    Decision{ID: "d-1", Gate: "pilot", Verdict: "approve", Comment: "looks good", Approver: "alice", RequestID: "acme:r1:pilot:1"},
		},
		{name: "reject minimal", subject: aliceSubject, body: ` {"id":"d-2","gate":"waves","verdict":"reject"} `,
			want: Decision{ID: "d-2", Gate: "waves", Verdict: "reject", Approver: "alice"}},
		// Stored as given: rendering escapes it, the parser does not judge it.
		{name: "comment with control characters", subject: aliceSubject,
			body: `{"id":"d","gate":"g","verdict":"approve","comment":"ok\r\n\u001b[2Kgate passed\u202e"}`,
			want: Decision{ID: "d", Gate: "g", Verdict: "approve", Comment: "ok\r\n\x1b[2Kgate passed\u202e", Approver: "alice"}},
		{name: "escaped key is the same key", subject: aliceSubject, body: `{"\u0069d":"d","gate":"g","verdict":"approve"}`,
			want: Decision{ID: "d", Gate: "g", Verdict: "approve", Approver: "alice"}},
		{name: "surrogate pair", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","comment":"\ud83d\ude00 \\ud800"}`,
			want: Decision{ID: "d", Gate: "g", Verdict: "approve", Comment: "😀 \\ud800", Approver: "alice"}},

		{name: "approver in body is refused", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","approver":"bob"}`, wantErr: ErrMalformed},
		{name: "time in body is refused", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","at":"2001-01-01T00:00:00Z"}`, wantErr: ErrMalformed},
		{name: "unknown field", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","x":1}`, wantErr: ErrMalformed},
		{name: "uppercase key", subject: aliceSubject, body: `{"id":"d","gate":"g","VERDICT":"approve"}`, wantErr: ErrMalformed},
		{name: "mixed-case key", subject: aliceSubject, body: `{"Id":"d","gate":"g","verdict":"approve"}`, wantErr: ErrMalformed},
		{name: "duplicate key", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"reject","verdict":"approve"}`, wantErr: ErrMalformed},
		{name: "duplicate key, one escaped", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"reject","v\u0065rdict":"approve"}`, wantErr: ErrMalformed},
		{name: "duplicate key, uppercase", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"reject","Verdict":"approve"}`, wantErr: ErrMalformed},
		{name: "invalid UTF-8 in comment", subject: aliceSubject, body: "{\"id\":\"d\",\"gate\":\"g\",\"verdict\":\"approve\",\"comment\":\"ok\xff\"}", wantErr: ErrMalformed},
		{name: "invalid UTF-8 in a key", subject: aliceSubject, body: "{\"id\":\"d\",\"gate\":\"g\",\"verdict\":\"approve\",\"comm\xc3\":\"\"}", wantErr: ErrMalformed},
		{name: "invalid UTF-8 outside strings", subject: aliceSubject, body: "{\"id\":\"d\",\"gate\":\"g\",\"verdict\":\"approve\"}\x80", wantErr: ErrMalformed},
		{name: "overlong UTF-8", subject: aliceSubject, body: "{\"id\":\"d\",\"gate\":\"g\",\"verdict\":\"approve\",\"comment\":\"\xc0\xaf\"}", wantErr: ErrMalformed},
		{name: "unpaired high surrogate", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","comment":"\ud800x"}`, wantErr: ErrMalformed},
		{name: "unpaired low surrogate", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","comment":"\udc00"}`, wantErr: ErrMalformed},
		{name: "high surrogate at the end", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","request_id":"\uD800"}`, wantErr: ErrMalformed},
		{name: "number id", subject: aliceSubject, body: `{"id":1,"gate":"g","verdict":"approve"}`, wantErr: ErrMalformed},
		{name: "null comment", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","comment":null}`, wantErr: ErrMalformed},
		{name: "array verdict", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":["approve"]}`, wantErr: ErrMalformed},
		{name: "object gate", subject: aliceSubject, body: `{"id":"d","gate":{"name":"g"},"verdict":"approve"}`, wantErr: ErrMalformed},
		{name: "bool request_id", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","request_id":true}`, wantErr: ErrMalformed},
		{name: "not json", subject: aliceSubject, body: `approve`, wantErr: ErrMalformed},
		{name: "empty", subject: aliceSubject, body: ``, wantErr: ErrMalformed},
		{name: "null", subject: aliceSubject, body: `null`, wantErr: ErrMalformed},
		{name: "unterminated", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve"`, wantErr: ErrMalformed},
		{name: "trailing data", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve"}{}`, wantErr: ErrMalformed},
		{name: "trailing garbage", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve"} x`, wantErr: ErrMalformed},
		{name: "array", subject: aliceSubject, body: `[]`, wantErr: ErrMalformed},
		{name: "missing gate", subject: aliceSubject, body: `{"id":"d","verdict":"approve"}`, wantErr: ErrMalformed},
		{name: "missing id", subject: aliceSubject, body: `{"gate":"g","verdict":"approve"}`, wantErr: ErrMalformed},
		{name: "bad verdict", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"maybe"}`, wantErr: ErrInvalidVerdict},
		{name: "verdict in another case", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"Approve"}`, wantErr: ErrInvalidVerdict},
		{name: "gate not a token", subject: aliceSubject, body: `{"id":"d","gate":"a.b","verdict":"approve"}`, wantErr: ErrInvalidToken},
		{name: "id not a token", subject: aliceSubject, body: `{"id":"d *","gate":"g","verdict":"approve"}`, wantErr: ErrInvalidToken},
		{name: "long comment", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","comment":"` + strings.Repeat("x", MaxCommentSize+1) + `"}`, wantErr: ErrTooLarge},
		{name: "oversized", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","comment":"` + strings.Repeat(" ", MaxDecisionSize) + `"}`, wantErr: ErrTooLarge},
		{name: "request subject", subject: "ssprflow.acme.r1.approval.request.pilot", body: `{}`, wantErr: ErrInvalidSubject},
		{name: "wildcard approver", subject: "ssprflow.acme.r1.approval.decision.*", body: `{}`, wantErr: ErrInvalidSubject},
		{name: "extra token", subject: aliceSubject + ".x", body: `{}`, wantErr: ErrInvalidSubject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDecision(tt.subject, []byte(tt.body))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if got != (Decision{}) {
					t.Fatalf("error %v with decision %+v", err, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// What PublishDecision sends parses back to the same decision, without the
// time and approver it was given: neither travels in the body.
func TestDecisionBodyRoundTrip(t *testing.T) {
	d := Decision{ID: "d-1", Gate: "pilot", Verdict: VerdictApprove, Comment: "ok <&> \u2028 \x1b", RequestID: "sspr/t/p-run-pilot-1", Approver: "mallory"}
	d.At = d.At.AddDate(2001, 0, 0)
	data, err := json.Marshal(d.body())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"at"`) || strings.Contains(string(data), "mallory") {
		t.Fatalf("body carries the time or the approver: %s", data)
	}
	got, err := ParseDecision(aliceSubject, data)
	if err != nil {
		t.Fatal(err)
	}
	want := d
	want.Approver, want.At = "alice", got.At
	if got != want || !got.At.IsZero() {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func FuzzParseDecision(f *testing.F) {
	f.Add(aliceSubject, []byte(`{"id":"d-1","gate":"pilot","verdict":"approve","comment":"ok","request_id":"r"}`))
	f.Add(aliceSubject, []byte(`{"id":"d-1","gate":"pilot","verdict":"approve","at":"2026-11-25T10:00:00Z"}`))
	f.Add(aliceSubject, []byte(`{"id":"d","gate":"g","verdict":"reject","approver":"bob"}`))
	f.Add(aliceSubject, []byte(`{"id":"d","gate":"g","verdict":"reject","VERDICT":"approve"}`))
	f.Add(aliceSubject, []byte(`{"id":"d","gate":"g","verdict":"reject","verdict":"approve"}`))
	f.Add(aliceSubject, []byte(`{"id":"d","gate":"g","verdict":"approve","comment":"\ud83d\ude00\ud800\\u"}`))
	f.Add(aliceSubject, []byte(`{"id":"d","gate":"g","verdict":"approve","comment":"\r\n\u001b[2K\u202e"}`))
	f.Add("ssprflow.a.b.approval.decision.c", []byte(`{"id":1}`))
	f.Add("ssprflow.a.b.approval.decision.", []byte(`null`))
	f.Add(aliceSubject, []byte("{\"id\":\"d\",\"gate\":\"g\",\"verdict\":\"approve\",\"comment\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		d, err := ParseDecision(subject, data)
		if err != nil {
			if d != (Decision{}) {
				t.Fatalf("error %v with non-zero decision %+v", err, d)
			}
			return
		}
		// Whatever was accepted satisfies every documented rule.
		_, _, approver, serr := ParseDecisionSubject(subject)
		if serr != nil || d.Approver != approver {
			t.Fatalf("approver %q not from subject %q", d.Approver, subject)
		}
		if !d.At.IsZero() {
			t.Fatalf("time %v taken from the body", d.At)
		}
		if len(data) > MaxDecisionSize || len(d.Comment) > MaxCommentSize {
			t.Fatalf("size limits not enforced: %d bytes, comment %d", len(data), len(d.Comment))
		}
		if !utf8.Valid(data) || !utf8.ValidString(d.Comment) || !utf8.ValidString(d.RequestID) {
			t.Fatalf("invalid UTF-8 accepted: %q", data)
		}
		if !ValidToken(d.ID) || !ValidToken(d.Gate) || (d.Verdict != VerdictApprove && d.Verdict != VerdictReject) {
			t.Fatalf("invalid decision accepted: %+v", d)
		}
		if _, err := VerdictSubject("t", "r", "a", d.ID); err != nil {
			t.Fatalf("accepted id cannot be answered: %v", err)
		}
		// The strict reading agrees with encoding/json's: nothing accepted
		// depends on key case, key order, repeats or replaced bytes.
		var std decisionBody
		if err := json.Unmarshal(data, &std); err != nil || std != d.body() {
			t.Fatalf("encoding/json reads %+v (%v), ParseDecision %+v", std, err, d.body())
		}
		// What is accepted re-encodes to a body that parses to the same
		// decision (unless HTML escaping grew it past the limit).
		enc, err := json.Marshal(d.body())
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := ParseDecision(subject, enc)
		if len(enc) > MaxDecisionSize && errors.Is(err, ErrTooLarge) {
			return
		}
		if err != nil || again != d {
			t.Fatalf("re-parse of %s: %+v, %v; want %+v", enc, again, err, d)
		}
	})
}
