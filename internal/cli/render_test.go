package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

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
