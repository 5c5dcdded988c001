package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ssprflow/ssprflow/workflows"
)

// FollowRollout prints each step and gate as its state changes — a line per
// transition with elapsed time — and returns the final state. With dc (the
// client's data converter), a long membership step also prints a progress
// line every few seconds.
func FollowRollout(ctx context.Context, w io.Writer, tc client.Client, dc converter.DataConverter, id string) (workflows.State, error) {
	t0 := time.Now()
	lastProgress := time.Now()
	prev := map[string]string{}
	var st workflows.State
	for {
		var err error
		st, err = QueryState(ctx, tc, id)
		if err != nil && ctx.Err() != nil {
			return st, ctx.Err()
		}
		if err == nil {
			// A gate that closed did so before the next stage's steps ran,
			// and one that opened did so after the last stage's steps: print
			// them on that side of this poll's step lines.
			printGates := func(closed bool) {
				for _, g := range st.Gates {
					key := "gate/" + g.Name
					val := string(g.Status) + fmt.Sprint(len(g.Decisions)) + fmt.Sprintf("%.0f", g.Coverage)
					if g.Status.Closed() != closed || prev[key] == val || g.Status == workflows.GatePending {
						continue
					}
					extra := ""
					if g.MinCoverage > 0 && g.Coverage > 0 {
						extra = fmt.Sprintf("registration %.0f%% (needs %.0f%%)", g.Coverage, g.MinCoverage)
					}
					if g.Quorum > 0 {
						extra += fmt.Sprintf(" approvals %d/%d", approvedCount(g), g.Quorum)
					}
					fmt.Fprintf(w, "  %6s  ◆ gate %-15s %-17s %s\n", round(time.Since(t0)), safeText(g.Name), g.Status, extra)
					prev[key] = val
				}
			}
			printGates(true)
			for _, s := range st.Steps {
				key := s.Stage + "/" + string(s.Name)
				if prev[key] != string(s.Status) {
					if s.Status != workflows.StepPending {
						fmt.Fprintf(w, "  %6s  %s %-10s %-20s %-11s %s\n", round(time.Since(t0)), stepMark[s.Status], safeText(s.Stage), safeText(string(s.Name)), s.Status, clip(cmp.Or(s.Error, s.Detail), 90))
					}
					prev[key] = string(s.Status)
				}
			}
			printGates(false)
			if dc != nil && !st.Status.Ended() && time.Since(lastProgress) >= 3*time.Second {
				lastProgress = time.Now()
				if ps, err := PendingProgress(ctx, tc, dc, id); err == nil {
					for _, p := range ps {
						if p.Total > 0 && p.Done < p.Total {
							fmt.Fprintf(w, "  %6s  ⟳ %-10s %s\n", round(time.Since(t0)), safeText(st.Stage), progressLine(p))
						}
					}
				}
			}
			if st.Status.Ended() {
				return st, nil
			}
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
