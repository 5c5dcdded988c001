package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/workflows"
)

// The "what to do next" line of a waiting gate names the request to bind
// the decision to, when the gate has one.
func TestRenderStatusTellsHowToApprove(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, requestID, want string
	}{
		{"bound", "sspr/t/p-run-pilot-2", "ssprflow approve sspr/t/p --gate pilot --request sspr/t/p-run-pilot-2 --comment"},
		{"no request yet", "", "ssprflow approve sspr/t/p --gate pilot --comment"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := workflows.State{WorkflowID: "sspr/t/p", Status: workflows.StatusWaiting, Gates: []workflows.Gate{{
				Name: "pilot", Status: workflows.GateApproval, Quorum: 1, RequestID: tt.requestID, ExpiresAt: now.Add(time.Hour),
			}}}
			var b bytes.Buffer
			RenderStatus(&b, st, now)
			if !strings.Contains(b.String(), tt.want) {
				t.Errorf("status output lacks %q:\n%s", tt.want, b.String())
			}
		})
	}
}

// forged is an approver's comment that, printed raw, erases its own line
// and prints a line of its own, right-to-left overridden at the end.
const forged = "ok\r\n\x1b[2Kgate passed (CISO sign-off)\u202e"

func TestSafeText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain text, ünïcödé, 😀, CORP\\alice", "plain text, ünïcödé, 😀, CORP\\alice"},
		{forged, `ok\r\n\x1b[2Kgate passed (CISO sign-off)\u202e`},
		{"tab\there\x00nul\x7fdel", `tab\there\x00nul\x7fdel`},
		{"c1 \u0085 \u009b31m", `c1 \u0085 \u009b31m`},
		{"bidi \u202a\u202b\u202c\u202d \u2066\u2067\u2068\u2069 \u200e\u200f\u061c", `bidi \u202a\u202b\u202c\u202d \u2066\u2067\u2068\u2069 \u200e\u200f\u061c`},
		{"lines \u2028 \u2029", `lines \u2028 \u2029`},
		{"zero\u200bwidth \ufeff tag\U000E0041", `zero\u200bwidth \ufeff tag\U000e0041`},
		{"bad \xff\xc3 utf8 \xe2\x80", `bad \xff\xc3 utf8 \xe2\x80`},
		{"replacement \ufffd kept", "replacement \ufffd kept"},
	} {
		if got := safeText(tt.in); got != tt.want {
			t.Errorf("safeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// Text already made safe (a summary inside an error) stays as it is.
		if again := safeText(tt.want); again != tt.want {
			t.Errorf("safeText is not idempotent: %q became %q", tt.want, again)
		}
	}
}

// assertInert fails if out holds a byte or character that acts on a
// terminal instead of showing: every one must have been escaped.
func assertInert(t *testing.T, out string) {
	t.Helper()
	for i, r := range out {
		if r == '\n' {
			continue // the renderer's own line ends
		}
		if r == utf8.RuneError || needsEscape(r) {
			t.Errorf("raw %U at byte %d in output:\n%s", r, i, out)
		}
	}
	if strings.ContainsAny(out, "\r\x1b\u202e") {
		t.Errorf("raw CR, ESC or RLO in output: %q", out)
	}
}

// linesWith returns the output lines that contain sub.
func linesWith(out, sub string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, sub) {
			ls = append(ls, l)
		}
	}
	return ls
}

// An approver's comment (and any other outside text) cannot forge a line
// of the status or the report: it stays on its own line, escapes visible.
func TestRenderEscapesForgedText(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st := workflows.State{
		WorkflowID: "sspr/t/p", Plan: "p", Tenant: "t", StartedBy: "ops\x1b]0;owned\a", Status: workflows.StatusWaiting, Stage: "pilot",
		StartedAt: now.Add(-time.Hour),
		Steps:     []workflows.Step{{Stage: "pilot", Name: "verify", Status: workflows.StepFailed, Error: "graph said:\r\n\x1b[32m✓ verified\x9b"}},
		Gates: []workflows.Gate{{
			Name: "pilot", Status: workflows.GateApproval, Quorum: 2, ExpiresAt: now.Add(time.Hour),
			Decisions:    []workflows.Decision{{ID: "d-1", Approver: "alice", Verdict: "approve", Comment: forged, At: now}},
			Instructions: []string{"check\u2028the dashboard"},
		}},
		Changes:   []workflows.Change{{Seq: 1, Stage: "pilot", Kind: workflows.ChangeGroupCreated, GroupName: "SSPR\rpilot", GroupID: "g-1"}},
		LastError: "boom\n  last error: none",
	}
	want := `ok\r\n\x1b[2Kgate passed (CISO sign-off)\u202e`
	for _, r := range []struct {
		name   string
		render func(*bytes.Buffer)
	}{
		{"status", func(b *bytes.Buffer) { RenderStatus(b, st, now) }},
		{"report", func(b *bytes.Buffer) { RenderReport(b, st) }},
	} {
		t.Run(r.name, func(t *testing.T) {
			var b bytes.Buffer
			r.render(&b)
			out := b.String()
			assertInert(t, out)
			if ls := linesWith(out, "gate passed (CISO sign-off)"); len(ls) != 1 || !strings.Contains(ls[0], "alice") || !strings.Contains(ls[0], want) {
				t.Errorf("the comment is not on alice's line with its escapes visible: %q\n%s", ls, out)
			}
			if ls := linesWith(out, "✓ verified"); len(ls) != 1 || !strings.Contains(ls[0], `\r\n\x1b[32m`) {
				t.Errorf("the step error is not on one line: %q", ls)
			}
			if ls := linesWith(out, "last error"); len(ls) != 1 {
				t.Errorf("the last error forged a line: %q", ls)
			}
		})
	}
}

// ssprflow events prints each event on one line, whatever its data holds.
func TestEventPrintEscapes(t *testing.T) {
	e := approval.Event{
		Type: "io.ssprflow.approval.decision\r\nx", Time: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
		// Valid JSON may hold raw C1 and bidi controls: encoding/json
		// escapes neither.
		Data: json.RawMessage("{\"reason\":\"ok\u202e\u0085\\n\",\"x\":\"\u009b2K\"}"),
	}
	var b bytes.Buffer
	if err := printEvent(&b, e, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("event printed on more than one line: %q", out)
	}
	assertInert(t, out)
	for _, want := range []string{`approval.decision\r\nx`, `ok\u202e\u0085\n`, `\u009b2K`} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	// JSON output stays JSON (encoding/json escapes control characters).
	b.Reset()
	if err := printEvent(&b, e, true); err != nil {
		t.Fatal(err)
	}
	var back approval.Event
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Type != e.Type {
		t.Fatalf("json output %q: %v", b.String(), err)
	}
}
