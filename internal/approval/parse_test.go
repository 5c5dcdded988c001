package approval

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const aliceSubject = "ssprflow.acme.r1.approval.decision.alice"

func TestParseDecision(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
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
			body:    `{"id":"d-1","gate":"pilot","verdict":"approve","comment":"looks good","request_id":"acme:r1:pilot:1","at":"2026-11-25T10:00:00Z"}`,
			want:    Decision{ID: "d-1", Gate: "pilot", Verdict: "approve", Comment: "looks good", Approver: "alice", RequestID: "acme:r1:pilot:1", At: at},
		},
		{name: "reject minimal", subject: aliceSubject, body: ` {"id":"d-2","gate":"waves","verdict":"reject"} `,
			want: Decision{ID: "d-2", Gate: "waves", Verdict: "reject", Approver: "alice"}},
		{name: "approver in body is refused", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","approver":"bob"}`, wantErr: ErrMalformed},
		{name: "unknown field", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve","x":1}`, wantErr: ErrMalformed},
		{name: "not json", subject: aliceSubject, body: `approve`, wantErr: ErrMalformed},
		{name: "empty", subject: aliceSubject, body: ``, wantErr: ErrMalformed},
		{name: "trailing data", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"approve"}{}`, wantErr: ErrMalformed},
		{name: "array", subject: aliceSubject, body: `[]`, wantErr: ErrMalformed},
		{name: "missing gate", subject: aliceSubject, body: `{"id":"d","verdict":"approve"}`, wantErr: ErrMalformed},
		{name: "missing id", subject: aliceSubject, body: `{"gate":"g","verdict":"approve"}`, wantErr: ErrMalformed},
		{name: "bad verdict", subject: aliceSubject, body: `{"id":"d","gate":"g","verdict":"maybe"}`, wantErr: ErrInvalidVerdict},
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

func FuzzParseDecision(f *testing.F) {
	f.Add(aliceSubject, []byte(`{"id":"d-1","gate":"pilot","verdict":"approve","comment":"ok","at":"2026-11-25T10:00:00Z"}`))
	f.Add(aliceSubject, []byte(`{"id":"d","gate":"g","verdict":"reject","approver":"bob"}`))
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
		if len(data) > MaxDecisionSize || len(d.Comment) > MaxCommentSize {
			t.Fatalf("size limits not enforced: %d bytes, comment %d", len(data), len(d.Comment))
		}
		if !ValidToken(d.ID) || !ValidToken(d.Gate) || (d.Verdict != VerdictApprove && d.Verdict != VerdictReject) {
			t.Fatalf("invalid decision accepted: %+v", d)
		}
		if _, err := VerdictSubject("t", "r", d.ID); err != nil {
			t.Fatalf("accepted id cannot be answered: %v", err)
		}
	})
}
