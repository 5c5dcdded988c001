package workflows

import (
	"slices"

	"github.com/ssprflow/ssprflow/internal/approval"
)

// PendingFor lists the open gates and tasks of the rollout as person sees
// them: whether they may decide each, and why not. The CLI's pending
// service and the approval web app both answer from it.
func (s State) PendingFor(person string, selfApproval bool) []approval.PendingGate {
	var out []approval.PendingGate
	for _, g := range s.Gates {
		if g.Status != GateApproval {
			continue
		}
		pg := approval.PendingGate{Gate: g.Name, Stage: g.Stage, Task: g.Task, RequestID: g.RequestID, Attempt: g.Attempt,
			Instructions: g.Instructions, Quorum: g.Quorum, ExpiresAt: g.ExpiresAt, MayDecide: true}
		for _, d := range g.Decisions {
			pg.Decided = append(pg.Decided, d.Approver+" "+string(d.Verdict))
			if d.Verdict == VerdictApprove {
				pg.Approvals++
			}
			if d.Approver == person {
				pg.MayDecide, pg.Why = false, "you already decided ("+string(d.Verdict)+")"
			}
		}
		switch {
		case !slices.Contains(s.Approvers, person):
			pg.MayDecide, pg.Why = false, "you are not an approver of this rollout"
		case !selfApproval && person == s.StartedBy:
			pg.MayDecide, pg.Why = false, "you started this rollout and the worker's policy forbids self-approval"
		}
		out = append(out, pg)
	}
	return out
}
