package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

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
// its state and time, then gates, then what to do next.
func RenderStatus(w io.Writer, st workflows.State, now time.Time) {
	how := "authenticated over NATS"
	if !st.StartedByVerified {
		how = "as given to a direct start, not authenticated"
	}
	fmt.Fprintf(w, "Rollout %s\n  plan %s · tenant %s · started by %s (%s)\n", st.WorkflowID, st.Plan, st.Tenant, st.StartedBy, how)
	elapsed := now.Sub(st.StartedAt)
	if !st.EndedAt.IsZero() {
		elapsed = st.EndedAt.Sub(st.StartedAt)
	}
	fmt.Fprintf(w, "  state %s · stage %s · %s elapsed\n\n", strings.ToUpper(string(st.Status)), st.Stage, round(elapsed))
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
		fmt.Fprintf(w, "  %-10s %-20s %s %-11s %7s  %s\n", s.Stage, s.Name, stepMark[s.Status], s.Status, d, clip(detail, 110))
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
					c = ": " + d.Comment
				}
				parts = append(parts, fmt.Sprintf("%s %sd%s", d.Approver, d.Verdict, c))
			}
			if g.Status == workflows.GateSoaking {
				parts = append(parts, "soaking until "+g.SoakUntil.Local().Format("15:04:05"))
			}
			if g.Status == workflows.GateApproval {
				parts = append(parts, "expires "+g.ExpiresAt.Local().Format("2006-01-02 15:04"))
			}
			fmt.Fprintf(w, "  %-16s %-17s %s\n", g.Name, g.Status, strings.Join(parts, " · "))
			for _, in := range g.Instructions {
				if g.Status == workflows.GateApproval {
					fmt.Fprintf(w, "      → %s\n", in)
				}
			}
		}
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "\n  last error: %s\n", st.LastError)
	}
	if st.Pending != "" {
		fmt.Fprintf(w, "  paused: %s\n  answer:  ssprflow rollout resume %s --action retry|rollback|abort\n", st.Pending, st.WorkflowID)
	}
	for _, g := range st.Gates {
		if g.Status == workflows.GateApproval {
			bind := ""
			if g.RequestID != "" {
				bind = " --request " + g.RequestID
			}
			fmt.Fprintf(w, "  waiting for approval: ssprflow approve %s --gate %s%s --comment \"...\"\n", st.WorkflowID, g.Name, bind)
		}
	}
}

func approvedCount(g workflows.Gate) int {
	n := 0
	for _, d := range g.Decisions {
		if d.Verdict == "approve" {
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

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// RenderReport writes the final report: what changed, what was verified,
// who approved what, registration coverage, duration, and what needs a human.
func RenderReport(w io.Writer, st workflows.State) {
	fmt.Fprintf(w, "\n══ ssprflow report: %s ══\n", st.WorkflowID)
	dur := st.EndedAt.Sub(st.StartedAt)
	if st.EndedAt.IsZero() {
		dur = time.Since(st.StartedAt)
	}
	fmt.Fprintf(w, "Result: %s in %s (plan %s, tenant %s)\n", strings.ToUpper(string(st.Status)), round(dur), st.Plan, st.Tenant)
	if pf := st.Preflight; pf != nil {
		fmt.Fprintf(w, "\nPreflight: %d setting(s) to change; SSPR group existed: %t", len(pf.Changes), pf.GroupExists)
		if pf.Connector != "" {
			fmt.Fprintf(w, "; connector %s (%s), %d ACE(s) missing; %d protected object(s), %d adminCount=1 account(s)",
				pf.Connector, pf.ConnectorSID, pf.MissingACEs, pf.Protected, pf.AdminCount)
		}
		fmt.Fprintln(w)
		for _, x := range pf.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", x)
		}
		for _, x := range pf.Notes {
			fmt.Fprintf(w, "  note: %s\n", x)
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
		fmt.Fprintf(w, "  %s %-10s %-20s %-12s %s\n", stepMark[s.Status], s.Stage, s.Name, s.Status, clip(detail, 120))
	}
	fmt.Fprintf(w, "  applied %d · verified %d · unchanged %d · compensated %d · conflict %d · needs a human %d · failed %d\n",
		counts[workflows.StepApplied], counts[workflows.StepVerified], counts[workflows.StepUnchanged],
		counts[workflows.StepCompensated], counts[workflows.StepConflict], counts[workflows.StepNeedsHuman], counts[workflows.StepFailed])
	fmt.Fprintln(w, "\nChanges made (in order; each recorded before it was made):")
	if len(st.Changes) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, c := range st.Changes {
		fmt.Fprintf(w, "  %2d. %-10s %-16s %s", c.Seq, c.Stage, c.Kind, changeSummary(c))
		if c.Compensation != nil {
			fmt.Fprintf(w, "  [%s: %s]", c.Compensation.Status, c.Compensation.Detail)
		}
		fmt.Fprintln(w)
	}
	var approvals []string
	for _, g := range st.Gates {
		for _, d := range g.Decisions {
			approvals = append(approvals, fmt.Sprintf("  %-16s %-8s by %-8s at %s  %s", g.Name, d.Verdict, d.Approver, d.At.Local().Format("15:04:05"), d.Comment))
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
		fmt.Fprintf(w, "  %-10s %-16s %d/%d registered (%.1f%%), %d SSPR-capable\n", c.Stage, c.Scope, c.Registered, c.Total, c.Percent, c.Capable)
	}
	human := 0
	for _, s := range st.Steps {
		if s.Status == workflows.StepConflict || s.Status == workflows.StepNeedsHuman {
			if human == 0 {
				fmt.Fprintln(w, "\nNeeds a human:")
			}
			human++
			fmt.Fprintf(w, "  %s/%s: %s\n", s.Stage, s.Name, s.Detail)
		}
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "\nCause: %s\n", st.LastError)
	}
}

func changeSummary(c workflows.Change) string {
	switch c.Kind {
	case workflows.ChangeTenantSettings:
		parts := make([]string, 0, len(c.Settings))
		for _, s := range c.Settings {
			parts = append(parts, fmt.Sprintf("%s %s→%s", s.Field, quote(s.From), quote(s.To)))
		}
		return clip(strings.Join(parts, ", "), 140)
	case workflows.ChangeGroupCreated:
		return "created group " + c.GroupName + " " + c.GroupID
	case workflows.ChangeMembersAdded:
		return fmt.Sprintf("added %d member(s) to %s: %s", len(c.Members), c.GroupName, clip(strings.Join(c.Members, ", "), 100))
	case workflows.ChangeADACEs:
		return fmt.Sprintf("%d ACE(s) on %s", len(c.ACEs), c.DN)
	case workflows.ChangeWriteback:
		return "enabled writeback via agent on " + c.Queue
	}
	return ""
}
