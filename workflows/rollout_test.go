package workflows

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/attest"
	"github.com/ssprflow/ssprflow/internal/blob"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

type harness struct {
	env    *testsuite.TestWorkflowEnvironment
	tenant *memTenant
	dir    *memDirectory
	events *recorder
	blobs  blob.Dir
	before entra.Settings
	// selfApproval and unverifiedStart are the worker's policy in this test.
	selfApproval, unverifiedStart bool
	// rollouts reads finished runs (a revert's).
	rollouts activities.RolloutReader
}

func newHarness(t *testing.T, opts ...func(*harness)) *harness {
	t.Helper()
	h := &harness{env: newEnv(), tenant: newMemTenant(), dir: newMemDirectory(), events: &recorder{}, blobs: blob.Dir(t.TempDir())}
	for _, o := range opts {
		o(h)
	}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		h.tenant.users[u+"@contoso.onmicrosoft.com"] = true
	}
	h.before = h.tenant.snapshot()
	acts := &activities.Activities{
		Tenants: func(ctxx contextT, tenant string, mode plan.PolicyMode) (entra.Tenant, error) { return h.tenant, nil },
		Directory: func(ctxx contextT, d *plan.Directory) (activities.Directory, error) {
			h.dir.setAdminSDHolder(d.AdminSDHolder)
			return h.dir, nil
		},
		Events:   h.events,
		Blobs:    h.blobs,
		Locker:   grantLock,
		Rollouts: h.rollouts,
	}
	h.env.RegisterActivity(acts)
	h.register()
	return h
}

// testKeys sign decisions and starts as the worker's bridge and start
// service do.
var testKeys = func() *attest.Keyring {
	k, err := attest.NewKeyring("t1", map[string][]byte{"t1": []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		panic(err)
	}
	return k
}()

// signedStart is the input the start service gives the workflow for a
// start by person.
func signedStart(p plan.Rollout, person string) RolloutInput {
	return SignStart(testKeys, testWorkflowID, RolloutInput{Plan: p, StartedBy: person, StartedVia: "nats:" + person})
}

// testWorkflowID is the test environment's workflow id.
const testWorkflowID = "default-test-workflow-id"

// register registers the workflow as the worker does, with its trust.
func (h *harness) register() {
	Register(h.env, KeyringTrust{Keys: testKeys, SelfApproval: h.selfApproval, UnverifiedStart: h.unverifiedStart})
}

// decide delivers a decision through the update handler, as the bridge
// does: bound to the gate's current request (unless d names one) and
// signed.
func (h *harness) decide(after time.Duration, d approval.Decision, wantErr bool, t *testing.T) {
	h.decideAs(after, d, wantErr, true, t)
}

// decideAs is decide with the bridge's part optional: unattested, d goes
// to the workflow exactly as given, as a client with Temporal access alone
// could send it.
func (h *harness) decideAs(after time.Duration, d approval.Decision, wantErr, attested bool, t *testing.T) {
	h.env.RegisterDelayedCallback(func() {
		if attested {
			d = h.attest(d)
		}
		h.env.UpdateWorkflow(UpdateDecide, d.ID, &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				if !wantErr {
					t.Errorf("decision %s rejected: %v", d.ID, err)
				}
			},
			OnAccept: func() {
				if wantErr {
					t.Errorf("decision %s accepted at %s, want rejected", d.ID, h.env.Now())
				}
			},
			OnComplete: func(any, error) {},
		}, d)
	}, after)
}

// attest does the bridge's part for d: bound to the gate's current
// request unless d names one, and signed.
func (h *harness) attest(d approval.Decision) approval.Decision {
	if d.RequestID == "" {
		d.RequestID = h.requestID(d.Gate)
	}
	return SignDecision(testKeys, testWorkflowID, d)
}

// state queries the running workflow's state.
func (h *harness) state(t *testing.T) State {
	t.Helper()
	v, err := h.env.QueryWorkflow(QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// requestID is the current request id of a gate or task ("" before the
// workflow answers queries).
func (h *harness) requestID(gate string) string {
	v, err := h.env.QueryWorkflow(QueryState)
	if err != nil {
		return ""
	}
	var st State
	if v.Get(&st) != nil {
		return ""
	}
	for _, g := range st.Gates {
		if g.Name == gate {
			return g.RequestID
		}
	}
	return ""
}

func approve(id, who, gate string) approval.Decision {
	return approval.Decision{ID: id, Approver: who, Gate: gate, Verdict: "approve"}
}

func (h *harness) run(t *testing.T, p plan.Rollout) (State, error) {
	t.Helper()
	h.execute(signedStart(p, "operator"))
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var st State
	err := h.env.GetWorkflowResult(&st)
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.HasDetails() {
			if derr := appErr.Details(&st); derr != nil {
				t.Fatalf("details: %v", derr)
			}
		}
	}
	return st, err
}

func TestRolloutHappyPath(t *testing.T) {
	h := newHarness(t)
	h.decide(time.Minute, approve("d1", "alice", "pilot"), false, t)
	st, err := h.run(t, testPlan())
	if err != nil {
		t.Fatalf("rollout failed: %v\n%+v", err, st.Steps)
	}
	if st.Status != StatusSucceeded {
		t.Fatalf("status %s", st.Status)
	}
	got := h.tenant.snapshot()
	if got[entra.FieldScope] != "all" || got[entra.FieldHelpdeskContact] != "https://help.contoso.com/sspr" {
		t.Errorf("tenant after rollout: %v", got)
	}
	if n := len(h.tenant.members[st.GroupID]); n != 2 {
		t.Errorf("group has %d members, want 2", n)
	}
	if d := h.dir.daclOf("DC=example,DC=test"); len(d) != 4 {
		t.Errorf("DACL %v, want admin ACE + 3 writeback ACEs", d)
	}
	for _, s := range st.Steps {
		if !slices.Contains([]StepStatus{StepApplied, StepVerified, StepUnchanged}, s.Status) {
			t.Errorf("step %s/%s is %s", s.Stage, s.Name, s.Status)
		}
	}
	if len(h.events.requests) != 1 || h.events.requests[0].Gate != "pilot" || h.events.requests[0].Quorum != 1 {
		t.Errorf("approval requests: %+v", h.events.requests)
	}
	if len(h.events.events) < len(st.Steps) {
		t.Errorf("only %d events for %d steps", len(h.events.events), len(st.Steps))
	}
}

func TestRolloutIsIdempotentOnAConfiguredTenant(t *testing.T) {
	h := newHarness(t)
	h.decide(time.Minute, approve("d1", "alice", "pilot"), false, t)
	if _, err := h.run(t, testPlan()); err != nil {
		t.Fatal(err)
	}
	writes := h.tenant.writes
	h2 := newHarness(t)
	h2.tenant, h2.dir = h.tenant, h.dir
	// a second run against the same state finds everything in place
	h2.env = newEnv()
	h2.register()
	h2.env.RegisterActivity(&activities.Activities{
		Tenants:   func(ctxx contextT, _ string, _ plan.PolicyMode) (entra.Tenant, error) { return h.tenant, nil },
		Directory: func(ctxx contextT, _ *plan.Directory) (activities.Directory, error) { return h.dir, nil },
		Events:    h2.events,
		Blobs:     h.blobs,
		Locker:    grantLock,
	})
	h2.decide(time.Minute, approve("d2", "bob", "pilot"), false, t)
	st, err := h2.run(t, testPlan())
	if err != nil {
		t.Fatal(err)
	}
	if h.tenant.writes != writes {
		t.Errorf("second run wrote %d more changes", h.tenant.writes-writes)
	}
	if len(st.Changes) != 0 {
		t.Errorf("second run recorded changes: %+v", st.Changes)
	}
}

func TestGateRejectionCompensatesEverything(t *testing.T) {
	h := newHarness(t)
	h.decide(time.Minute, approval.Decision{ID: "r1", Approver: "bob", Gate: "pilot", Verdict: "reject", Comment: "helpdesk not ready"}, false, t)
	st, err := h.run(t, testPlan())
	if err == nil {
		t.Fatal("rollout succeeded after a rejection")
	}
	if st.Status != StatusRolledBack {
		t.Fatalf("status %s, want rolled-back", st.Status)
	}
	if got := h.tenant.snapshot(); !maps.Equal(got, h.before) {
		t.Errorf("tenant not restored:\n got %v\nwant %v", got, h.before)
	}
	if len(h.tenant.groups) != 0 {
		t.Errorf("group not deleted: %v", h.tenant.groups)
	}
	if d := h.dir.daclOf("DC=example,DC=test"); !slices.Equal(d, []string{"admin-ace"}) {
		t.Errorf("DACL %v, want only the administrator's ACE", d)
	}
	for _, c := range st.Changes {
		if c.Compensation == nil || c.Compensation.Status != CompensationDone {
			t.Errorf("change %d (%s) compensation %+v", c.Seq, c.Kind, c.Compensation)
		}
	}
}

func TestFailureInEachStepIsCompensated(t *testing.T) {
	for _, tc := range []struct {
		name   string
		breakf func(h *harness)
		step   StepName
		policy plan.FailurePolicy
		status Status
	}{
		{"methods write denied", func(h *harness) { h.tenant.failOn = entra.MethodField(plan.MethodEmail) }, StepMethods, plan.RollbackAll, StatusRolledBack},
		{"AD grant denied", func(h *harness) { h.dir.failDN = "DC=example,DC=test" }, StepADPermissions, plan.RollbackAll, StatusRolledBack},
		{"password age changed after preflight", func(h *harness) { h.dir.minAgeAfter = 1 }, StepPasswordAge, plan.RollbackAll, StatusRolledBack},
		{"scope write denied, rollback-stage", func(h *harness) { h.tenant.failOn = entra.FieldScope }, StepScope, plan.RollbackStage, StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.breakf(h)
			p := testPlan()
			p.Spec.FailurePolicy = tc.policy
			st, err := h.run(t, p)
			if err == nil {
				t.Fatal("rollout succeeded")
			}
			if st.Status != tc.status {
				t.Fatalf("status %s, want %s (%s)", st.Status, tc.status, st.LastError)
			}
			if s := st.StepStatus("pilot", tc.step); s != StepFailed {
				t.Errorf("step %s is %s, want failed (%s)", tc.step, s, st.LastError)
			}
			if got := h.tenant.snapshot(); !maps.Equal(got, h.before) {
				t.Errorf("tenant not restored:\n got %v\nwant %v", got, h.before)
			}
			if d := h.dir.daclOf("DC=example,DC=test"); !slices.Equal(d, []string{"admin-ace"}) {
				t.Errorf("DACL %v, want only the administrator's ACE", d)
			}
		})
	}
}

func TestPreflightStopsOnPasswordAge(t *testing.T) {
	h := newHarness(t)
	h.dir.minAge = true
	st, err := h.run(t, testPlan())
	if err == nil || st.Status != StatusFailed || h.tenant.writes != 0 || len(st.Changes) != 0 {
		t.Fatalf("status %s err %v writes %d changes %d", st.Status, err, h.tenant.writes, len(st.Changes))
	}
	if s := st.StepStatus(PreflightStage, StepDirectoryPreflight); s != StepFailed {
		t.Errorf("directory-preflight is %s", s)
	}
}

func TestPreflightFailureChangesNothing(t *testing.T) {
	h := newHarness(t)
	p := testPlan()
	f := false
	p.Spec.Stages[0].Group.Create = &f
	st, err := h.run(t, p)
	if err == nil || st.Status != StatusFailed {
		t.Fatalf("status %s err %v", st.Status, err)
	}
	if h.tenant.writes != 0 || len(st.Changes) != 0 {
		t.Errorf("preflight failure changed things: writes %d changes %+v", h.tenant.writes, st.Changes)
	}
}

func TestConflictIsReportedNotClobbered(t *testing.T) {
	h := newHarness(t)
	// An admin changes the helpdesk link while the gate waits, then the gate is rejected.
	h.env.RegisterDelayedCallback(func() {
		_ = h.tenant.Apply(nil, []entra.Change{{Field: entra.FieldHelpdeskContact, To: "https://it.contoso.com"}})
	}, 30*time.Second)
	h.decide(time.Minute, approval.Decision{ID: "r1", Approver: "bob", Gate: "pilot", Verdict: "reject"}, false, t)
	st, _ := h.run(t, testPlan())
	if got := h.tenant.snapshot()[entra.FieldHelpdeskContact]; got != "https://it.contoso.com" {
		t.Errorf("admin's manual change was overwritten: %q", got)
	}
	if s := st.StepStatus("pilot", StepHelpdesk); s != StepConflict {
		t.Errorf("helpdesk step is %s, want conflict", s)
	}
}

func TestDecisionValidation(t *testing.T) {
	h := newHarness(t)
	h.decide(5*time.Second, approve("x0", "alice", "pilot"), true, t)      // gate still soaking
	h.decide(time.Minute, approve("x1", "mallory", "pilot"), true, t)      // not an approver
	h.decide(time.Minute, approve("x2", "operator", "pilot"), true, t)     // not an approver either
	h.decide(time.Minute, approve("x3", "alice", "no-such-gate"), true, t) // unknown gate
	h.decide(time.Minute, approval.Decision{ID: "x4", Approver: "alice", Gate: "pilot", Verdict: "maybe"}, true, t)
	h.decide(time.Minute, approval.Decision{ID: "x5", Approver: "alice", Gate: "pilot", Verdict: "approve", RequestID: "an-earlier-attempt"}, true, t)
	h.decide(61*time.Second, approve("ok", "alice", "pilot"), false, t)
	h.decide(62*time.Second, approve("ok", "alice", "pilot"), false, t) // duplicate delivery: harmless
	st, err := h.run(t, testPlan())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range st.Gates {
		if g.Name == "pilot" && len(g.Decisions) != 1 {
			t.Errorf("pilot gate decisions %+v, want exactly one", g.Decisions)
		}
	}
}

func TestSelfApprovalForbidden(t *testing.T) {
	h := newHarness(t)
	p := testPlan()
	p.Spec.Approvers = append(p.Spec.Approvers, plan.Approver{ID: "operator"})
	h.decide(time.Minute, approve("s1", "operator", "pilot"), true, t)
	h.decide(2*time.Minute, approve("s2", "bob", "pilot"), false, t)
	if _, err := h.run(t, p); err != nil {
		t.Fatal(err)
	}
}

func TestQuorumNeedsDistinctApprovers(t *testing.T) {
	h := newHarness(t)
	p := testPlan()
	p.Spec.Stages[0].Gate.Approvals = 2
	h.decide(time.Minute, approve("q1", "alice", "pilot"), false, t)
	h.decide(2*time.Minute, approve("q2", "alice", "pilot"), true, t) // same person again
	h.decide(3*time.Minute, approve("q3", "bob", "pilot"), false, t)
	var passedAt time.Time
	st, err := h.run(t, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range st.Gates {
		if g.Name == "pilot" {
			passedAt = g.ClosedAt
			if len(g.Decisions) != 2 {
				t.Errorf("decisions %+v", g.Decisions)
			}
		}
	}
	if passedAt.Sub(st.StartedAt) < 3*time.Minute {
		t.Errorf("gate passed after %s, before the second approver", passedAt.Sub(st.StartedAt))
	}
}

func TestGateExpiresIntoFailurePolicy(t *testing.T) {
	h := newHarness(t)
	st, err := h.run(t, testPlan()) // nobody approves within the 1h timeout
	if err == nil || st.Status != StatusRolledBack {
		t.Fatalf("status %s err %v", st.Status, err)
	}
	for _, g := range st.Gates {
		if g.Name == "pilot" && g.Status != GateExpired {
			t.Errorf("gate %s", g.Status)
		}
	}
}

func TestCoverageGateWaitsThenFails(t *testing.T) {
	h := newHarness(t)
	h.tenant.coverage = entra.Coverage{Total: 10, Registered: 2}
	p := testPlan()
	p.Spec.Stages[0].Gate.MetricTimeout = plan.Duration(10 * time.Minute)
	st, err := h.run(t, p)
	if err == nil {
		t.Fatal("gate passed with 20% coverage")
	}
	if st.Status != StatusRolledBack || len(st.Coverage) < 3 {
		t.Errorf("status %s, %d coverage readings", st.Status, len(st.Coverage))
	}
}

func TestPauseThenRetry(t *testing.T) {
	h := newHarness(t)
	h.dir.minAgeAfter = 1
	p := testPlan()
	p.Spec.FailurePolicy = plan.Pause
	h.env.RegisterDelayedCallback(func() {
		// the admin fixes the GPO, then retries
		h.dir.mu.Lock()
		h.dir.minAgeAfter = 0
		h.dir.mu.Unlock()
		h.env.UpdateWorkflow(UpdateOperate, "op1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("retry rejected: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, OperatorAction{Action: ActionRetry, By: "admin"})
	}, 10*time.Minute)
	h.decide(20*time.Minute, approve("d1", "alice", "pilot"), false, t)
	st, err := h.run(t, p)
	if err != nil {
		t.Fatalf("%v: %s", err, st.LastError)
	}
	s := st.Steps[slices.IndexFunc(st.Steps, func(s Step) bool { return s.Name == StepPasswordAge })]
	if s.Attempt != 2 || s.Status != StepVerified {
		t.Errorf("password-age step %+v", s)
	}
}

func TestPauseThenRollback(t *testing.T) {
	h := newHarness(t)
	h.dir.minAgeAfter = 1
	p := testPlan()
	p.Spec.FailurePolicy = plan.Pause
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateOperate, "op1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rollback rejected: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, OperatorAction{Action: ActionRollback})
	}, time.Hour)
	st, _ := h.run(t, p)
	if st.Status != StatusRolledBack {
		t.Fatalf("status %s", st.Status)
	}
	if got := h.tenant.snapshot(); !maps.Equal(got, h.before) {
		t.Errorf("tenant not restored: %v", got)
	}
}

func TestCancelDuringSoakCompensates(t *testing.T) {
	h := newHarness(t)
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, 5*time.Second)
	st, _ := h.run(t, testPlan())
	if st.Status != StatusCancelled {
		t.Fatalf("status %s", st.Status)
	}
	if got := h.tenant.snapshot(); !maps.Equal(got, h.before) {
		t.Errorf("tenant not restored after cancel: %v", got)
	}
	if d := h.dir.daclOf("DC=example,DC=test"); !slices.Equal(d, []string{"admin-ace"}) {
		t.Errorf("DACL after cancel %v", d)
	}
}

func TestManualTaskCatchesALie(t *testing.T) {
	h := newHarness(t)
	p := testPlan()
	p.Spec.SSPRPolicy.Mode = plan.PolicyModeManual
	// The operator says "done" for the methods task without doing it.
	h.decide(time.Minute, approve("t1", "alice", "pilot_methods"), false, t)
	st, err := h.run(t, p)
	if err == nil {
		t.Fatal("a lie was not caught")
	}
	s := st.Steps[slices.IndexFunc(st.Steps, func(s Step) bool { return s.Name == StepMethods })]
	if s.Error == "" || !strings.Contains(s.Error, "operator reported the task done") {
		t.Errorf("methods step error %q", s.Error)
	}
	if len(h.events.requests) == 0 || len(h.events.requests[0].Instructions) == 0 {
		t.Errorf("no instructions published: %+v", h.events.requests)
	}
}

func TestManualTaskDone(t *testing.T) {
	h := newHarness(t)
	p := testPlan()
	p.Spec.SSPRPolicy.Mode = plan.PolicyModeManual
	// An operator who does each task by hand, then answers; the gate is approved.
	h.doTasksAndApprove(t, "pilot")
	st, err := h.run(t, p)
	if err != nil {
		t.Fatalf("%v: %s", err, st.LastError)
	}
}

func TestContinueAsNewMidSoakCarriesState(t *testing.T) {
	h := newHarness(t)
	p := testPlan()
	p.Spec.Stages[0].Gate.Soak = plan.Duration(3 * time.Hour)
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, 30*time.Minute)
	h.execute(signedStart(p, "operator"))
	err := h.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var in RolloutInput
	if err := decodePayloads(can, &in); err != nil {
		t.Fatal(err)
	}
	if in.Resume == nil {
		t.Fatal("no state carried")
	}
	gate := in.Resume.Gates[slices.IndexFunc(in.Resume.Gates, func(g Gate) bool { return g.Name == "pilot" })]
	if gate.Status != GateSoaking || gate.SoakUntil.IsZero() {
		t.Errorf("gate carried as %+v", gate)
	}
	if r := program(&p)[in.Resume.Next]; r.kind != opGate {
		t.Errorf("resume point %+v, want the gate", r)
	}
	// The next run resumes at the gate, finishes the soak and passes.
	h2 := newHarness(t)
	h2.tenant, h2.dir = h.tenant, h.dir
	h2.env = newEnv()
	h2.env.RegisterActivity(&activities.Activities{
		Tenants:   func(ctxx contextT, _ string, _ plan.PolicyMode) (entra.Tenant, error) { return h.tenant, nil },
		Directory: func(ctxx contextT, _ *plan.Directory) (activities.Directory, error) { return h.dir, nil },
		Events:    h2.events,
		Blobs:     h.blobs,
		Locker:    grantLock,
	})
	h2.register()
	h2.env.SetContinuedExecutionRunID("run-1")
	h2.decide(3*time.Hour, approve("d1", "alice", "pilot"), false, t)
	h2.execute(in)
	var st State
	if err := h2.env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if st.Runs != 2 || st.Status != StatusSucceeded {
		t.Errorf("runs %d status %s", st.Runs, st.Status)
	}
	if len(h2.events.requests) != 1 {
		t.Errorf("approval requested %d times after continue-as-new", len(h2.events.requests))
	}
}

type contextT = context.Context

func decodePayloads(can *workflow.ContinueAsNewError, in *RolloutInput) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, in)
}

func newEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return s.NewTestWorkflowEnvironment()
}

func TestMain(m *testing.M) {
	// The suite flags a workflow task that runs over 1 s as a deadlock; on a
	// loaded 2-core CI machine with -race that is noise, not a bug.
	os.Setenv("TEMPORAL_DEBUG", "true")
	os.Exit(m.Run())
}

func TestDecisionAfterGateClosed(t *testing.T) {
	h := newHarness(t)
	p := testPlan()
	p.Spec.Stages = []plan.Stage{p.Spec.Stages[0],
		{Name: "wave-1", Members: []string{"carol@contoso.onmicrosoft.com"}, Gate: &plan.Gate{Soak: plan.Duration(time.Hour), Approvals: 1, Timeout: plan.Duration(time.Hour)}},
		p.Spec.Stages[1]}
	h.decide(time.Minute, approve("p1", "alice", "pilot"), false, t)
	h.decide(10*time.Minute, approve("p1", "alice", "pilot"), false, t) // the same decision redelivered: harmless
	h.decide(11*time.Minute, approve("p2", "bob", "pilot"), true, t)    // a new vote on a closed gate: refused
	h.decide(90*time.Minute, approve("w1", "bob", "wave-1"), false, t)
	st, err := h.run(t, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range st.Gates {
		if g.Name == "pilot" && (len(g.Decisions) != 1 || g.Status != GatePassed) {
			t.Errorf("pilot gate %s with decisions %+v", g.Status, g.Decisions)
		}
	}
	if n := len(h.tenant.members[st.GroupID]); n != 3 {
		t.Errorf("group has %d members after the wave, want 3", n)
	}
}

// TestContinueAsNewDuringTaskIsNotAFailure: a manual task that waits long
// enough for Temporal to suggest continue-as-new carries over; it must not
// count as a failed step (which would roll the rollout back).
func TestContinueAsNewDuringTaskIsNotAFailure(t *testing.T) {
	h := newHarness(t)
	p := testPlan()
	p.Spec.SSPRPolicy.Mode = plan.PolicyModeManual
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, 30*time.Minute)
	h.execute(signedStart(p, "operator"))
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var in RolloutInput
	if err := decodePayloads(can, &in); err != nil {
		t.Fatal(err)
	}
	o := program(&p)[in.Resume.Next]
	s := in.Resume.Steps[indexStep(*in.Resume, o.stage, o.step)]
	if o.step != StepMethods || s.Status == StepFailed || in.Resume.Status == StatusRolledBack {
		t.Errorf("resumes at %s/%s with step %s, rollout %s", o.stage, o.step, s.Status, in.Resume.Status)
	}
	if len(h.tenant.members) == 0 || h.tenant.writes == 0 {
		t.Errorf("changes before the task were undone: writes %d", h.tenant.writes)
	}
}

// A gate that expired, paused and was retried asks again under a new
// request id; a decision bound to the first request is refused, one bound
// to the current request counts.
func TestDecisionBoundToAnEarlierRequestIsRefused(t *testing.T) {
	h := newHarness(t)
	p := testPlan()
	p.Spec.FailurePolicy = plan.Pause
	requests := func() []approval.Request {
		h.events.mu.Lock()
		defer h.events.mu.Unlock()
		return slices.Clone(h.events.requests)
	}
	update := func(name, id string, arg any, wantErr bool) {
		h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				if !wantErr {
					t.Errorf("%s rejected: %v", id, err)
				}
			},
			OnAccept: func() {
				if wantErr {
					t.Errorf("%s accepted, want refused", id)
				}
			},
			OnComplete: func(any, error) {},
		}, arg)
	}
	bound := func(id string, req approval.Request) approval.Decision {
		d := approve(id, "alice", "pilot")
		d.RequestID = req.ID
		return h.attest(d)
	}
	// Nobody answers the first request: the gate expires after 1h and the
	// rollout pauses; the operator retries at 2h.
	h.env.RegisterDelayedCallback(func() { update(UpdateOperate, "retry", OperatorAction{Action: ActionRetry, By: "admin"}, false) }, 2*time.Hour)
	h.env.RegisterDelayedCallback(func() {
		rs := requests()
		if len(rs) != 2 || rs[0].ID == rs[1].ID || rs[1].Attempt != 2 {
			t.Fatalf("requests %+v, want two attempts with distinct ids", rs)
		}
		update(UpdateDecide, "stale", bound("stale", rs[0]), true)
	}, 2*time.Hour+30*time.Minute)
	h.env.RegisterDelayedCallback(func() { update(UpdateDecide, "current", bound("current", requests()[1]), false) }, 2*time.Hour+31*time.Minute)
	st, err := h.run(t, p)
	if err != nil || st.Status != StatusSucceeded {
		t.Fatalf("status %s, err %v (%s)", st.Status, err, st.LastError)
	}
}

// execute runs the rollout workflow; the lock workflow is not running in
// the test environment, so the rollout's release of the tenant lock is
// answered here.
func (h *harness) execute(in RolloutInput) {
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, SignalTenantRelease, mock.Anything).Return(nil).Maybe()
	h.env.ExecuteWorkflow(RolloutWorkflowName, in)
}
