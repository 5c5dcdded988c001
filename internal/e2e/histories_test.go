package e2e

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

var updateHistories = flag.Bool("update-histories", false, "record rollout histories into workflows/testdata/histories for the replay test")

// TestRecordHistories records real histories of each rollout shape from the
// embedded server. workflows/replay_test.go replays them, so a workflow
// change that would break running rollouts fails CI. The histories without
// a prefix are from before signed starts (no "attested-start" version
// marker) and stay, so rollouts started then still replay. Run after
// changing the workflow on purpose (with a workflow.GetVersion branch):
//
//	go test ./internal/e2e -run TestRecordHistories -update-histories
func TestRecordHistories(t *testing.T) {
	if !*updateHistories {
		t.Skip("records histories only with -update-histories")
	}
	e := newEnv(t, "alice", "bob")
	e.runWorker()
	noDir := func(p *plan.Rollout) { p.Spec.Directory = nil }

	// success
	id := e.start(e.plan(noDir))
	if st := e.wait(id, 2*time.Minute, ended); st.Status != workflows.StatusSucceeded {
		t.Fatalf("success shape: %s %s", st.Status, st.LastError)
	}
	e.saveHistory(id, "attested-success.json")

	// rollback after a rejection
	id = e.start(e.plan(func(p *plan.Rollout) { noDir(p); p.Spec.Stages[0].Gate.Approvals = 1 }))
	e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	if v := e.decide("bob", "reject"); !v.Accepted {
		t.Fatal(v.Reason)
	}
	if st := e.wait(id, 2*time.Minute, ended); st.Status != workflows.StatusRolledBack {
		t.Fatalf("rollback shape: %s", st.Status)
	}
	e.saveHistory(id, "attested-rollback.json")

	// pause, then resume: a member that does not exist stops the pilot; the
	// operator answers rollback
	id = e.start(e.plan(func(p *plan.Rollout) {
		noDir(p)
		p.Spec.FailurePolicy = plan.Pause
		p.Spec.Stages[0].Members = append(p.Spec.Stages[0].Members, "nobody@contoso.onmicrosoft.com")
	}))
	if st := e.wait(id, 2*time.Minute, func(st workflows.State) bool { return st.Status == workflows.StatusPaused }); st.Status != workflows.StatusPaused {
		t.Fatalf("pause shape did not pause: %s %s", st.Status, st.LastError)
	}
	if err := e.operate(id, workflows.ActionRollback); err != nil {
		t.Fatal(err)
	}
	if st := e.wait(id, 2*time.Minute, ended); st.Status != workflows.StatusRolledBack {
		t.Fatalf("pause shape: %s %s", st.Status, st.LastError)
	}
	e.saveHistory(id, "attested-pause-resume.json")
}

// TestRecordHistoriesDirectoryAndTasks records the shapes the step split
// moved that the histories above lack: the directory steps with their
// compensation (ad-permissions granted, then undone after a rejection) and
// a manual task answered over NATS. Run on its own so the older histories
// stay as recorded:
//
//	go test ./internal/e2e -run TestRecordHistoriesDirectoryAndTasks -update-histories
func TestRecordHistoriesDirectoryAndTasks(t *testing.T) {
	if !*updateHistories {
		t.Skip("records histories only with -update-histories")
	}
	e := newEnv(t, "alice", "bob")
	e.runWorker()

	// directory steps, then a rejected gate: the ACEs are revoked
	id := e.start(e.plan(func(p *plan.Rollout) { p.Spec.Stages[0].Gate.Approvals = 1 }))
	e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	if v := e.decide("bob", "reject"); !v.Accepted {
		t.Fatal(v.Reason)
	}
	if st := e.wait(id, 2*time.Minute, ended); st.Status != workflows.StatusRolledBack {
		t.Fatalf("directory shape: %s %s", st.Status, st.LastError)
	}
	e.saveHistory(id, "tasks-directory-rollback.json")

	// manual mode: the helpdesk task is confirmed over NATS after the
	// change is made by hand, then the rollout finishes
	p := e.plan(func(p *plan.Rollout) {
		p.Metadata.Name = "sspr-manual"
		p.Spec.Directory = nil
		p.Spec.SSPRPolicy.Mode = plan.PolicyModeManual
	})
	id = e.start(p)
	e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot_helpdesk") == workflows.GateApproval })
	if v := e.decideOn(p.TenantToken(), p.Metadata.Name, "pilot_helpdesk", "bob", "reject"); !v.Accepted {
		t.Fatalf("task: %+v", v)
	}
	if st := e.wait(id, 2*time.Minute, ended); st.Status != workflows.StatusRolledBack {
		t.Fatalf("task shape: %s %s", st.Status, st.LastError)
	}
	e.saveHistory(id, "tasks-manual-rejected.json")
}

func (e *env) operate(id string, action workflows.Action) error {
	h, err := e.tc.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.UpdateOperate, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []interface{}{workflows.OperatorAction{Action: action, By: "e2e"}},
	})
	if err != nil {
		return err
	}
	return h.Get(context.Background(), nil)
}

func (e *env) saveHistory(id, name string) { e.saveRunHistory(id, "", name) }

// saveRunHistory saves one run's history (runID "" is the latest).
func (e *env) saveRunHistory(id, runID, name string) {
	e.t.Helper()
	hist := runHistory(e.t, e.tc, id, runID)
	// Recorded in clear text, so the replay test needs no key.
	decodeHistory(e.t, e.cfg.Temporal, hist)
	b, err := protojson.MarshalOptions{Indent: " "}.Marshal(hist)
	if err != nil {
		e.t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "workflows", "testdata", "histories")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
}
