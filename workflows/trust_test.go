package workflows

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/attest"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// Attack 7 of issue 11: with access to Temporal alone, a direct "decide"
// update naming bob passed a gate. Every such decision is refused now:
// unsigned, signed with another key, signed for another rollout, altered
// after signing, or not bound to the gate's current request.
func TestDecisionsWithoutTheBridgesAttestationAreRefused(t *testing.T) {
	other, err := attest.NewKeyring("x", map[string][]byte{"x": []byte("another deployment's key, 32 byte")})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	at := time.Minute
	refuse := func(mk func() approval.Decision) {
		h.env.RegisterDelayedCallback(func() {
			d := mk()
			h.decideAs(0, d, true, false, t)
		}, at)
		at += time.Second
	}
	refuse(func() approval.Decision { // typed in, unsigned
		d := approve("u1", "bob", "pilot")
		d.RequestID = h.requestID("pilot")
		return d
	})
	refuse(func() approval.Decision { // another deployment's key
		d := approve("u2", "bob", "pilot")
		d.RequestID = h.requestID("pilot")
		return SignDecision(other, testWorkflowID, d)
	})
	refuse(func() approval.Decision { // signed for another rollout
		d := approve("u3", "bob", "pilot")
		d.RequestID = h.requestID("pilot")
		return SignDecision(testKeys, "sspr/fabrikam/other", d)
	})
	refuse(func() approval.Decision { // signed for alice, altered to bob
		d := h.attest(approve("u4", "alice", "pilot"))
		d.Approver = "bob"
		return d
	})
	refuse(func() approval.Decision { // signed, but bound to no request
		return SignDecision(testKeys, testWorkflowID, approve("u5", "bob", "pilot"))
	})
	h.decide(time.Hour, approve("ok", "bob", "pilot"), false, t)
	st, err := h.run(t, testPlan())
	if err != nil || st.Status != StatusSucceeded {
		t.Fatalf("status %s, err %v", st.Status, err)
	}
	for _, g := range st.Gates {
		if g.Name == "pilot" && (len(g.Decisions) != 1 || g.Decisions[0].ID != "ok") {
			t.Fatalf("pilot decisions %+v, want only the attested one", g.Decisions)
		}
	}
}

// Attack 6: self-approval was a plan switch. It is the worker's policy now:
// the same plan refuses the starter's approval unless the worker allows it.
func TestSelfApprovalIsTheWorkersPolicy(t *testing.T) {
	for _, allow := range []bool{false, true} {
		h := newHarness(t, func(h *harness) { h.selfApproval = allow })
		p := testPlan()
		p.Spec.Approvers = append(p.Spec.Approvers, plan.Approver{ID: "operator"})
		h.decide(time.Minute, approve("s1", "operator", "pilot"), !allow, t)
		if !allow {
			h.decide(2*time.Minute, approve("s2", "bob", "pilot"), false, t)
		}
		if st, err := h.run(t, p); err != nil || st.Status != StatusSucceeded {
			t.Fatalf("allow=%t: status %s, err %v", allow, st.Status, err)
		}
	}
}

// A direct start on Temporal cannot claim an authenticated starter; the
// start service's signature makes one verified, and only for the exact
// plan it signed.
func TestStartIsVerifiedOnlyWhenAttested(t *testing.T) {
	p := testPlan()
	signed := SignStart(testKeys, testWorkflowID, RolloutInput{Plan: p, StartedBy: "carol", StartedVia: "nats:ops1"})
	tampered := signed
	tampered.Plan.Spec.Stages = append([]plan.Stage(nil), signed.Plan.Spec.Stages...)
	tampered.Plan.Spec.Stages[0].Name = "pilot2"
	tests := []struct {
		name string
		in   RolloutInput
		want bool
	}{
		{"direct start", RolloutInput{Plan: p, StartedBy: "carol", StartedVia: "nats:ops1"}, false},
		{"attested", signed, true},
		{"attested, other starter", func() RolloutInput { in := signed; in.StartedBy = "mallory"; return in }(), false},
		{"attested, other plan", tampered, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.env.RegisterDelayedCallback(func() {
				st := h.state(t)
				if st.StartedByVerified != tt.want {
					t.Errorf("StartedByVerified = %t, want %t", st.StartedByVerified, tt.want)
				}
				h.env.CancelWorkflow()
			}, time.Second)
			h.execute(tt.in)
		})
	}
}

// A start that carries resume state (the whole state, decisions included)
// is refused unless it is the workflow's own continue-as-new.
func TestForgedResumeIsRefused(t *testing.T) {
	h := newHarness(t)
	p := testPlan()
	forged := &State{StartedBy: "bob", StartedByVerified: true, Status: StatusRunning, Next: len(program(&p)) - 1}
	h.execute(RolloutInput{Plan: p, StartedBy: "bob", Resume: forged})
	err := h.env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "ResumeForged" {
		t.Fatalf("err = %v, want ResumeForged", err)
	}
}

// Review finding: a direct start names its starter by hand, so the
// self-approval rule could not hold; such a rollout takes no decision
// unless the worker's policy accepts unverified starts.
func TestDirectStartTakesNoDecisionUnlessThePolicyAllows(t *testing.T) {
	for _, allow := range []bool{false, true} {
		h := newHarness(t, func(h *harness) { h.unverifiedStart = allow })
		h.decide(time.Minute, approve("d1", "bob", "pilot"), !allow, t)
		h.execute(RolloutInput{Plan: testPlan(), StartedBy: "someone-else"})
		var st State
		err := h.env.GetWorkflowResult(&st)
		if allow && (err != nil || st.Status != StatusSucceeded) {
			t.Fatalf("allowed: status %s, err %v", st.Status, err)
		}
		if !allow && err == nil {
			t.Fatal("a directly started rollout passed its gate")
		}
	}
}

// Review finding: a start attestation copied out of an old history must not
// make a later run look authenticated.
func TestStaleStartAttestationIsUnverified(t *testing.T) {
	old := RolloutInput{Plan: testPlan(), StartedBy: "carol", StartedVia: "nats:carol", AttestedAt: time.Now().Add(-time.Hour)}
	old.Attestation = testKeys.Sign(StartPurpose, StartClaim(testWorkflowID, old)...)
	h := newHarness(t)
	h.env.RegisterDelayedCallback(func() {
		st := h.state(t)
		if st.StartedByVerified {
			t.Error("an hour-old start attestation was believed")
		}
		h.env.CancelWorkflow()
	}, time.Second)
	h.execute(old)
}
