package cli

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/workflows"
)

var stepMark = map[workflows.StepStatus]string{
	workflows.StepPending:     "·",
	workflows.StepRunning:     "▶",
	workflows.StepWaiting:     "⏸",
	workflows.StepApplied:     "✓",
	workflows.StepVerified:    "✓",
	workflows.StepUnchanged:   "=",
	workflows.StepSkipped:     "-",
	workflows.StepFailed:      "✗",
	workflows.StepCompensated: "↺",
	workflows.StepConflict:    "!",
	workflows.StepNeedsHuman:  "!",
}

// RenderStatus writes a rollout's state for people: one line per step with
// its state and time, then gates, then what to do next. Every string of st
// is printed through safeText: comments, details and errors come from
// approvers, plans and remote systems.
func RenderStatus(w io.Writer, st workflows.State, now time.Time) {
	how := "authenticated over NATS"
	if !st.StartedByVerified {
		how = "as given to a direct start, not authenticated"
	}
	fmt.Fprintf(w, "Rollout %s\n  plan %s · tenant %s · started by %s (%s)\n", safeText(st.WorkflowID), safeText(st.Plan), safeText(st.Tenant), safeText(st.StartedBy), how)
	elapsed := now.Sub(st.StartedAt)
	if !st.EndedAt.IsZero() {
		elapsed = st.EndedAt.Sub(st.StartedAt)
	}
	fmt.Fprintf(w, "  state %s · stage %s · %s elapsed\n", safeText(strings.ToUpper(string(st.Status))), safeText(st.Stage), round(elapsed))
	switch {
	case st.RevertOf != "":
		fmt.Fprintf(w, "  a revert of run %s: its recorded changes, last first, behind an approval\n", safeText(st.RevertOf))
	case st.Remediation:
		fmt.Fprintln(w, "  a remediation: the plan's settings, AD rights and scope put back where they drifted, behind an approval")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %-10s %-20s %-13s %7s  %s\n", "STAGE", "STEP", "STATE", "TIME", "DETAIL")
	for _, s := range st.Steps {
		d := ""
		switch {
		case !s.EndedAt.IsZero() && !s.StartedAt.IsZero():
			d = round(s.EndedAt.Sub(s.StartedAt))
		case !s.StartedAt.IsZero():
			d = round(now.Sub(s.StartedAt))
		}
		detail := s.Detail
		if s.Error != "" && s.Status == workflows.StepFailed {
			detail = s.Error
		}
		fmt.Fprintf(w, "  %-10s %-20s %s %-11s %7s  %s\n", safeText(s.Stage), safeText(string(s.Name)), stepMark[s.Status], safeText(string(s.Status)), d, clip(detail, 110))
	}
	if len(st.Gates) > 0 {
		fmt.Fprintf(w, "\n  %-16s %-17s %s\n", "GATE", "STATE", "DETAIL")
		for _, g := range st.Gates {
			var parts []string
			if g.Task {
				parts = append(parts, "manual task")
			}
			if g.MinCoverage > 0 {
				parts = append(parts, fmt.Sprintf("registration %.1f%% (needs %.0f%%)", g.Coverage, g.MinCoverage))
			}
			if g.Quorum > 0 {
				parts = append(parts, fmt.Sprintf("approvals %d/%d", approvedCount(g), g.Quorum))
			}
			for _, d := range g.Decisions {
				c := ""
				if d.Comment != "" {
					c = ": " + safeText(d.Comment)
				}
				parts = append(parts, fmt.Sprintf("%s %sd%s", safeText(d.Approver), safeText(string(d.Verdict)), c))
			}
			if g.Status == workflows.GateSoaking {
				parts = append(parts, "soaking until "+g.SoakUntil.Local().Format("15:04:05"))
			}
			if g.Status == workflows.GateApproval {
				parts = append(parts, "expires "+g.ExpiresAt.Local().Format("2006-01-02 15:04"))
			}
			fmt.Fprintf(w, "  %-16s %-17s %s\n", safeText(g.Name), safeText(string(g.Status)), strings.Join(parts, " · "))
			for _, in := range g.Instructions {
				if g.Status == workflows.GateApproval {
					fmt.Fprintf(w, "      → %s\n", safeText(in))
				}
			}
		}
	}
	if st.RevertOf != "" {
		if st.Summary != "" {
			fmt.Fprintf(w, "\n  %s\n", safeText(st.Summary))
		}
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "\n  last error: %s\n", safeText(st.LastError))
	}
	if st.Pending != "" {
		fmt.Fprintf(w, "  paused: %s\n  answer:  ssprflow rollout resume %s --action retry|rollback|abort\n", safeText(st.Pending), safeText(st.WorkflowID))
	}
	for _, g := range st.Gates {
		if g.Status == workflows.GateApproval {
			bind := ""
			if g.RequestID != "" {
				bind = " --request " + safeText(g.RequestID)
			}
			fmt.Fprintf(w, "  waiting for approval: ssprflow approve %s --gate %s%s --comment \"...\"\n", safeText(st.WorkflowID), safeText(g.Name), bind)
		}
	}
}

func approvedCount(g workflows.Gate) int {
	n := 0
	for _, d := range g.Decisions {
		if d.Verdict == workflows.VerdictApprove {
			n++
		}
	}
	return n
}

func round(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

// clip returns s made safe (see safeText) and cut to n runes.
func clip(s string, n int) string {
	s = safeText(s)
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// RenderReport writes the final report: what changed, what was verified,
// who approved what, registration coverage, duration, and what needs a human.
// Like RenderStatus, it prints every string of st through safeText.
func RenderReport(w io.Writer, st workflows.State) {
	fmt.Fprintf(w, "\n══ ssprflow report: %s ══\n", safeText(st.WorkflowID))
	dur := st.EndedAt.Sub(st.StartedAt)
	if st.EndedAt.IsZero() {
		dur = time.Since(st.StartedAt)
	}
	fmt.Fprintf(w, "Result: %s in %s (plan %s, tenant %s)\n", safeText(strings.ToUpper(string(st.Status))), round(dur), safeText(st.Plan), safeText(st.Tenant))
	if pf := st.Preflight; pf != nil {
		fmt.Fprintf(w, "\nPreflight: %d setting(s) to change; SSPR group existed: %t", len(pf.Changes), pf.GroupExists)
		if pf.Connector != "" {
			fmt.Fprintf(w, "; connector %s (%s), %d ACE(s) missing; %d protected object(s), %d adminCount=1 account(s)",
				safeText(pf.Connector), safeText(pf.ConnectorSID), pf.MissingACEs, pf.Protected, pf.AdminCount)
		}
		fmt.Fprintln(w)
		for _, x := range pf.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", safeText(x))
		}
		for _, x := range pf.Notes {
			fmt.Fprintf(w, "  note: %s\n", safeText(x))
		}
	}
	counts := map[workflows.StepStatus]int{}
	fmt.Fprintln(w, "\nSteps:")
	for _, s := range st.Steps {
		counts[s.Status]++
		detail := s.Detail
		if s.Status == workflows.StepFailed {
			detail = s.Error
		}
		fmt.Fprintf(w, "  %s %-10s %-20s %-12s %s\n", stepMark[s.Status], safeText(s.Stage), safeText(string(s.Name)), safeText(string(s.Status)), clip(detail, 120))
	}
	fmt.Fprintf(w, "  applied %d · verified %d · unchanged %d · compensated %d · conflict %d · needs a human %d · failed %d\n",
		counts[workflows.StepApplied], counts[workflows.StepVerified], counts[workflows.StepUnchanged],
		counts[workflows.StepCompensated], counts[workflows.StepConflict], counts[workflows.StepNeedsHuman], counts[workflows.StepFailed])
	fmt.Fprintln(w, "\nChanges made (in order; each recorded before it was made):")
	if len(st.Changes) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, c := range st.Changes {
		fmt.Fprintf(w, "  %2d. %-10s %-16s %s", c.Seq, safeText(c.Stage), safeText(string(c.Kind)), changeSummary(c))
		if c.Compensation != nil {
			fmt.Fprintf(w, "  [%s: %s]", safeText(string(c.Compensation.Status)), safeText(c.Compensation.Detail))
		}
		fmt.Fprintln(w)
	}
	var approvals []string
	for _, g := range st.Gates {
		for _, d := range g.Decisions {
			approvals = append(approvals, fmt.Sprintf("  %-16s %-8s by %-8s at %s  %s", safeText(g.Name), safeText(string(d.Verdict)), safeText(d.Approver), d.At.Local().Format("15:04:05"), safeText(d.Comment)))
		}
	}
	fmt.Fprintln(w, "\nApprovals:")
	if len(approvals) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, a := range approvals {
		fmt.Fprintln(w, a)
	}
	fmt.Fprintln(w, "\nRegistration coverage:")
	if len(st.Coverage) == 0 {
		fmt.Fprintln(w, "  not measured")
	}
	seen := map[string]bool{}
	for i := len(st.Coverage) - 1; i >= 0; i-- {
		c := st.Coverage[i]
		key := c.Stage + "/" + c.Scope
		if seen[key] {
			continue
		}
		seen[key] = true
		fmt.Fprintf(w, "  %-10s %-16s %d/%d registered (%.1f%%), %d SSPR-capable\n", safeText(c.Stage), safeText(c.Scope), c.Registered, c.Total, c.Percent, c.Capable)
	}
	human := 0
	for _, s := range st.Steps {
		if s.Status == workflows.StepConflict || s.Status == workflows.StepNeedsHuman {
			if human == 0 {
				fmt.Fprintln(w, "\nNeeds a human:")
			}
			human++
			fmt.Fprintf(w, "  %s/%s: %s\n", safeText(s.Stage), safeText(string(s.Name)), safeText(s.Detail))
		}
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "\nCause: %s\n", safeText(st.LastError))
	}
}

// printEvent writes one event as JSON or as one line for people. The line
// shows the type and data through safeText: events carry text from plans,
// approvers and remote systems, and raw JSON may hold bidi controls and C1
// characters that encoding/json leaves unescaped.
func printEvent(w io.Writer, e approval.Event, asJSON bool) error {
	if asJSON {
		return cmdline.PrintJSON(w, e)
	}
	_, err := fmt.Fprintf(w, "%s  %-28s %s\n", e.Time.Local().Format("2006-01-02 15:04:05"), safeText(strings.TrimPrefix(e.Type, "io.ssprflow.")), clip(string(e.Data), 150))
	return err
}

func changeSummary(c workflows.Change) string {
	switch c.Kind {
	case workflows.ChangeTenantSettings:
		parts := make([]string, 0, len(c.Settings))
		for _, s := range c.Settings {
			parts = append(parts, fmt.Sprintf("%s %s→%s", s.Field, quote(s.From), quote(s.To))) // clip makes them safe
		}
		return clip(strings.Join(parts, ", "), 140)
	case workflows.ChangeGroupCreated:
		return "created group " + safeText(c.GroupName) + " " + safeText(c.GroupID)
	case workflows.ChangeMembersAdded:
		if r := c.Roster; r != nil {
			// The people are in the roster, not in the history.
			return fmt.Sprintf("added up to %d member(s) to %s (roster %s, %s)", r.Count, safeText(c.GroupName), safeText(r.Digest), safeText(r.Source))
		}
		return fmt.Sprintf("added %d member(s) to %s: %s", len(c.Members), safeText(c.GroupName), clip(strings.Join(c.Members, ", "), 100))
	case workflows.ChangeADACEs:
		return fmt.Sprintf("%d ACE(s) on %s", len(c.ACEs), safeText(c.DN))
	case workflows.ChangeWriteback:
		return "enabled writeback via agent on " + safeText(c.Queue)
	}
	return ""
}

// safeText returns s fit to print on a terminal: each control character (C0,
// DEL, C1), invisible format character (bidi overrides, embeddings, isolates
// and marks, zero-width characters, tag characters), line and paragraph
// separator becomes a visible escape (\n, \r, \t, \x1b, \u202e), and each
// invalid UTF-8 byte becomes \xNN. So text from outside, such as an
// approver's comment, stays on its own line and cannot move the cursor,
// erase, recolour or reorder what is printed around it ("ok\r\n\x1b[2Kgate
// passed" cannot print a line of its own). Backslashes are left as they are
// (DNs and paths stay readable): --output json is the unambiguous form.
func safeText(s string) string {
	for i, r := range s {
		if r == utf8.RuneError || needsEscape(r) {
			return escapeFrom(s, i)
		}
	}
	return s
}

func escapeFrom(s string, i int) string {
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && needsEscape(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xffff && needsEscape(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// needsEscape reports whether r would act on the terminal or the text's
// layout instead of showing as a character.
func needsEscape(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}
