package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/dial"
	"github.com/ssprflow/ssprflow/internal/localstack"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cli"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/devstack"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

// gatedPlan has one approval on the pilot gate and no directory.
func (e *env) gatedPlan(approvers ...string) *plan.Rollout {
	return e.plan(func(p *plan.Rollout) {
		p.Spec.Directory = nil
		p.Spec.Approvers = nil
		for _, a := range approvers {
			p.Spec.Approvers = append(p.Spec.Approvers, plan.Approver{ID: a})
		}
		p.Spec.Stages[0].Gate.Approvals = 1
	})
}

func decisionsOn(st workflows.State, gate string) []workflows.Decision {
	for _, g := range st.Gates {
		if g.Name == gate {
			return g.Decisions
		}
	}
	return nil
}

// Attack 3 of issue 11: run 1 of a plan is approved by bob; the plan is
// started again, and the bridge's consumer is recreated (deleted, or a new
// worker), so it redelivers every stored decision from the start. Before,
// run 2 SUCCEEDED on "bob approves run 1 only". Now a decision is bound to
// the request of one run, and bob's old one is refused.
func TestOldDecisionsDoNotReachANewRun(t *testing.T) {
	// An administrator's NATS user, to delete the bridge's consumer (the
	// worker's own user may not).
	admin := devstack.NATSUser{Name: "nats-admin", Password: "nats-admin-password"}
	e := newEnvWith(t, localstack.StackOptions{Approvers: []string{"alice", "bob"}, ExtraUsers: []devstack.NATSUser{admin}})
	e.runWorker()
	p := e.gatedPlan("alice", "bob")
	id := e.start(p)
	e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	if v := e.decide("bob", "approve"); !v.Accepted {
		t.Fatalf("bob's approval of run 1 refused: %s", v.Reason)
	}
	if st := e.wait(id, 2*time.Minute, ended); st.Status != workflows.StatusSucceeded {
		t.Fatalf("run 1: %s %s", st.Status, st.LastError)
	}

	e.start(p) // run 2, same workflow id
	e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	t.Setenv("SSPRFLOW_E2E_ADMIN_PW", admin.Password)
	nc, js, err := dial.NATS(context.Background(), config.NATS{URL: e.stack.NATSURL(), User: admin.Name, Password: config.Secret{Env: "SSPRFLOW_E2E_ADMIN_PW"}}, "e2e-admin")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := js.DeleteConsumer(context.Background(), approval.ApprovalsStream, approval.DefaultDurable); err != nil {
		t.Fatal(err)
	}
	// The bridge recreates its consumer and replays the stream; give it time
	// to reach bob's old decision.
	// The test means something only if the replay reached bob's decision:
	// wait until the recreated consumer has handled every stored message.
	replayed := false
	for deadline := time.Now().Add(30 * time.Second); !replayed && time.Now().Before(deadline); {
		if c, err := js.Consumer(context.Background(), approval.ApprovalsStream, approval.DefaultDurable); err == nil {
			ci, err := c.Info(context.Background())
			replayed = err == nil && ci.Delivered.Stream > 0 && ci.NumPending == 0 && ci.NumAckPending == 0
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !replayed {
		t.Fatal("the recreated bridge consumer did not replay the stored decisions within 30 s")
	}
	st, err := cli.QueryState(context.Background(), e.tc, id)
	if err != nil {
		t.Fatal(err)
	}
	if ds := decisionsOn(st, "pilot"); len(ds) != 0 || gateStatus(st, "pilot") != workflows.GateApproval {
		t.Fatalf("run 2's gate is %s with decisions %+v: a decision for run 1 was applied to run 2", gateStatus(st, "pilot"), ds)
	}
	if v := e.decide("alice", "approve"); !v.Accepted {
		t.Fatalf("alice's approval of run 2 refused: %s", v.Reason)
	}
	if st := e.wait(id, 2*time.Minute, ended); st.Status != workflows.StatusSucceeded {
		t.Fatalf("run 2: %s %s", st.Status, st.LastError)
	}
}

// Attack 7: with access to Temporal alone, a direct "decide" update naming
// bob passed a gate, a direct start with startedByVerified showed
// "authenticated over NATS", and a terminated rollout kept showing
// "waiting". None of that holds now.
func TestTemporalAccessAloneCannotApproveOrVerify(t *testing.T) {
	e := newEnv(t, "alice", "bob")
	e.runWorker()
	p := e.gatedPlan("alice", "bob")
	id := workflows.WorkflowID(p.TenantToken(), p.Metadata.Name)
	// A direct start that claims to be authenticated, in the old input shape.
	_, err := e.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.RolloutWorkflowName, map[string]any{"plan": p, "startedBy": "alice", "startedByVerified": true, "startedVia": "nats:alice"})
	if err != nil {
		t.Fatal(err)
	}
	st := e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	if st.StartedByVerified {
		t.Fatal("a direct start on Temporal is shown as verified")
	}
	var req string
	for _, g := range st.Gates {
		if g.Name == "pilot" {
			req = g.RequestID
		}
	}
	h, err := e.tc.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateID: "forged", UpdateName: workflows.UpdateDecide, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{approval.Decision{ID: "forged", Approver: "bob", Via: "nats:bob", Gate: "pilot", Verdict: "approve", RequestID: req, At: time.Now()}},
	})
	if err == nil {
		err = h.Get(context.Background(), nil)
	}
	if err == nil || !strings.Contains(err.Error(), "not attested") {
		t.Fatalf("direct decide update: %v, want refused as not attested", err)
	}
	if st, _ := cli.QueryState(context.Background(), e.tc, id); len(decisionsOn(st, "pilot")) != 0 {
		t.Fatalf("forged decision recorded: %+v", decisionsOn(st, "pilot"))
	}

	// Even a real approver's decision through NATS and the bridge does not
	// count on a rollout whose starter nobody verified.
	if v := e.decide("bob", "approve"); v.Accepted || !strings.Contains(v.Reason, "started directly") {
		t.Fatalf("bob's decision on a directly started rollout: %+v", v)
	}

	// Terminated on Temporal: status says so, and what it left behind.
	if err := e.tc.TerminateWorkflow(context.Background(), id, "", "e2e: terminate"); err != nil {
		t.Fatal(err)
	}
	st, err = cli.QueryState(context.Background(), e.tc, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != workflows.StatusTerminated || !strings.Contains(st.LastError, "left behind") || !strings.Contains(st.LastError, "group") {
		t.Fatalf("terminated rollout reads %s: %s", st.Status, st.LastError)
	}
	desc, err := e.tc.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("describe: %v", err)
	}
}

// Attack 6: one person with an operator user and an approver user approved
// their own rollout. The worker maps both users to the one person, and
// self-approval is the worker's policy, not the plan's.
func TestOnePersonWithTwoUsersCannotApproveTheirOwnRollout(t *testing.T) {
	e := newEnvWith(t, localstack.StackOptions{Approvers: []string{"alice", "carol-approver"}, Operators: []string{"carol-ops"}})
	var people []config.Person
	for _, p := range e.cfg.People {
		if p.ID != "carol-approver" && p.ID != "carol-ops" {
			people = append(people, p)
		}
	}
	e.cfg.People = append(people, config.Person{ID: "carol", NATS: []string{"carol-ops", "carol-approver"}})
	e.runWorker()
	p := e.gatedPlan("alice", "carol")
	raw, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSPRFLOW_E2E_PW_carol-ops", e.stack.Passwords["carol-ops"])
	id, err := cli.StartOverNATS(context.Background(), config.NATS{URL: e.stack.NATSURL(), User: "carol-ops", Password: config.Secret{Env: "SSPRFLOW_E2E_PW_carol-ops"}}, "carol-ops", p, "plan.yaml", raw)
	if err != nil {
		t.Fatal(err)
	}
	st := e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	if st.StartedBy != "carol" || !st.StartedByVerified || st.StartedVia != "nats:carol-ops" {
		t.Fatalf("started by %q via %q verified=%t, want the person carol", st.StartedBy, st.StartedVia, st.StartedByVerified)
	}
	if v := e.decide("carol-approver", "approve"); v.Accepted || !strings.Contains(v.Reason, "self-approval") {
		t.Fatalf("carol approving her own rollout through her approver user: %+v", v)
	}
	if v := e.decide("alice", "approve"); !v.Accepted {
		t.Fatalf("alice's approval refused: %s", v.Reason)
	}
	st = e.wait(id, 2*time.Minute, ended)
	if st.Status != workflows.StatusSucceeded {
		t.Fatalf("status %s: %s", st.Status, st.LastError)
	}
	if ds := decisionsOn(st, "pilot"); len(ds) != 1 || ds[0].Approver != "alice" || ds[0].Via != "nats:alice" {
		t.Fatalf("decisions %+v, want alice's alone, through her NATS user", ds)
	}
}
