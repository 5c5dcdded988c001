package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ssprflow/ssprflow/activities"
)

// MemberProgress is a running membership activity's last heartbeat: how
// far a wave's add (or its compensation's removal) is.
type MemberProgress struct {
	Verb string `json:"verb"` // add or remove
	activities.Progress
}

// rosterActivities are the activities whose heartbeat is a Progress.
var rosterActivities = map[string]string{"AddRoster": "add", "RemoveRoster": "remove"}

// PendingProgress reads the heartbeats of a rollout's running membership
// activities (Temporal keeps the last one with the pending activity).
// Payloads are encrypted: dc must be the client's data converter.
func PendingProgress(ctx context.Context, tc client.Client, dc converter.DataConverter, id string) ([]MemberProgress, error) {
	desc, err := tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, err
	}
	var out []MemberProgress
	for _, pa := range desc.GetPendingActivities() {
		verb, ok := rosterActivities[pa.GetActivityType().GetName()]
		if !ok || pa.GetHeartbeatDetails() == nil {
			continue
		}
		mp := MemberProgress{Verb: verb}
		if err := dc.FromPayloads(pa.GetHeartbeatDetails(), &mp.Progress); err != nil {
			return nil, fmt.Errorf("read the progress of %s: %w", id, err)
		}
		out = append(out, mp)
	}
	return out, nil
}

// progressLine renders one: "members 12,400 / 50,000 · 310/s · ETA 2 min".
func progressLine(p MemberProgress) string {
	noun := "members"
	if p.Verb == "remove" {
		noun = "members removed"
	}
	s := fmt.Sprintf("%s %s / %s", noun, thousands(p.Done), thousands(p.Total))
	if p.Rate > 0 {
		s += fmt.Sprintf(" · %s/s", thousands(int(p.Rate+0.5)))
		if left := p.Total - p.Done; left > 0 {
			s += " · ETA " + eta(time.Duration(float64(left)/p.Rate*float64(time.Second)))
		}
	}
	return s
}

func eta(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()+0.5))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()+0.5))
	default:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
