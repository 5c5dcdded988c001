package worker

import (
	"testing"

	"github.com/ssprflow/ssprflow/workflows"
)

func TestPendingFor(t *testing.T) {
	st := workflows.State{WorkflowID: "sspr/t/r", Status: workflows.StatusWaiting, StartedBy: "carol", Approvers: []string{"alice", "bob", "carol"},
		Gates: []workflows.Gate{
			{Name: "pre", Status: workflows.GatePassed},
			{Name: "pilot", Stage: "pilot", Status: workflows.GateApproval, Quorum: 2, RequestID: "req-2", Attempt: 2,
				Decisions: []workflows.Decision{{Approver: "bob", Verdict: "approve"}}},
		}}
	tests := []struct {
		person string
		self   bool
		may    bool
	}{
		{"alice", false, true},
		{"bob", false, false},   // decided already
		{"carol", false, false}, // started it
		{"carol", true, true},   // the worker allows self-approval
		{"dave", false, false},  // not an approver
	}
	for _, tt := range tests {
		r := PendingFor(st, tt.person, tt.self)
		if len(r.Gates) != 1 || r.Gates[0].RequestID != "req-2" || r.Gates[0].Approvals != 1 {
			t.Fatalf("%s: gates %+v, want only the open pilot gate with its current request", tt.person, r.Gates)
		}
		if g := r.Gates[0]; g.MayDecide != tt.may || (!g.MayDecide && g.Why == "") {
			t.Errorf("%s (self=%t): may=%t why=%q, want may=%t", tt.person, tt.self, g.MayDecide, g.Why, tt.may)
		}
	}
}
