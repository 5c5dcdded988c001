package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cli"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/localstack"
	"github.com/ssprflow/ssprflow/workflows"
)

// TestAfterTheRollout is issue 16's must-show on the real stack. A rollout
// succeeds and leaves a drift watch (a Temporal Schedule, every 6 h of the
// simulator's clock: 6 s at 1 s = 1 h). The tenant exported as a plan
// diffs as "no change". Three settings changed by hand in the tenant and
// one of the connector's ACEs removed by hand are exactly what the next
// check reports; a remediation, once approved, puts them back and the next
// check is clean. A revert of the finished rollout, once approved, leaves
// the DACL byte-equal to before the rollout and the tenant JSON equal but
// for a setting changed by hand after the rollout, which is reported as a
// conflict and left as found.
func TestAfterTheRollout(t *testing.T) {
	// alice also operates: she asks for the revert, so she may not approve it.
	e := newEnvWith(t, localstack.StackOptions{Approvers: []string{"alice", "bob"}, Operators: []string{"alice"}})
	e.cfg.Watch = &config.Watch{Every: "6h", TimeScale: 3600}
	e.runWorker()
	ctx := context.Background()
	base := e.stack.DC.BaseDN
	tenantBefore, daclBefore := e.tenantJSON(), e.dacl(base)

	p := e.plan(nil)
	id := e.start(p)
	st := e.wait(id, 3*time.Minute, ended)
	if st.Status != workflows.StatusSucceeded {
		t.Fatalf("rollout: %s: %s", st.Status, st.LastError)
	}
	rolloutRun := lastRun(t, e, id)

	// The succeeded rollout is watched; its first check runs at once.
	first := e.driftChecks(p.Metadata.Name, 1, time.Minute)[0]
	if first.Drifted() {
		t.Fatalf("the first check after the rollout found drift: %+v", first.Items)
	}

	// Export -> plan diff says no change.
	t.Setenv("SSPRFLOW_E2E_PW_operator", e.stack.Passwords["operator"])
	nats := []string{"--nats", e.stack.NATSURL(), "--user", "operator", "--password-env", "SSPRFLOW_E2E_PW_operator"}
	exported := filepath.Join(e.dir, "exported.yaml")
	e.cli(0, append([]string{"export", "--tenant", "contoso.onmicrosoft.com", "--directory", localstack.LabProfile, "--out", exported}, nats...)...)
	b, _ := os.ReadFile(exported)
	t.Logf("exported plan:\n%s", b)
	if out := e.cli(0, append([]string{"plan", "diff", exported}, nats...)...); !strings.Contains(out, "no change") {
		t.Errorf("plan diff of the export:\n%s", out)
	}

	// By hand: three settings in the tenant, one ACE in the domain.
	if err := e.stack.Sim.EditByHand("", entrasim.AdminEdit{
		PasswordResetPolicies: map[string]any{"registrationReconfirmIntevalInDays": 90, "notifyUsersOnPasswordReset": false},
		Methods:               map[string]string{"sms": "disabled"},
	}); err != nil {
		t.Fatal(err)
	}
	aces := recordedACEs(t, st, base)
	removeACEByHand(t, e, base, aces[0])
	edited := time.Now()

	// The next scheduled check reports exactly those four.
	checks := e.driftChecksAfter(p.Metadata.Name, edited, 2, time.Minute)
	gap := checks[0].CheckedAt.Sub(checks[1].CheckedAt)
	t.Logf("two scheduled checks %s apart (interval 6h at 3600x = 6s)", gap.Round(100*time.Millisecond))
	if gap < 5*time.Second || gap > 8*time.Second {
		t.Errorf("checks %s apart, want the 6 s interval", gap)
	}
	drift := checks[1]
	var got []string
	for _, it := range drift.Items {
		got = append(got, string(it.Kind)+" "+it.Field)
	}
	sort.Strings(got)
	want := []string{"ace " + base, "setting notifications.users", "setting policy.sms", "setting registration.reconfirmDays"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("drift found: %q, want %q (%+v)", got, want, drift.Items)
	}
	status := e.cli(0, "watch", "status", "--plan", p.Metadata.Name, "--temporal", e.stack.Temporal.HostPort())
	if !strings.Contains(status, "DRIFT: 4 item(s)") || !strings.Contains(status, "policy.sms") {
		t.Errorf("watch status:\n%s", status)
	}
	var detected bool
	for _, ev := range e.events(p) {
		detected = detected || ev.Kind() == approval.KindDriftDetected
	}
	if !detected {
		t.Error("no drift.detected event")
	}

	// What one check costs: between two checks nothing else talks to the
	// simulator.
	n0 := e.stack.Sim.Requests()
	cost := e.driftChecksAfter(p.Metadata.Name, time.Now(), 1, time.Minute)
	// The settings, the group and one coverage page: a fixed number for a
	// tenant this size (coverage pages grow with the users, nothing else).
	n := e.stack.Sim.Requests() - n0
	t.Logf("one drift check: %d Graph/portal requests (%d settings, %d scopes)", n, cost[0].Settings, cost[0].Scopes)
	if n == 0 || n > 8 {
		t.Errorf("one drift check made %d requests, want a handful (at most 8)", n)
	}

	// Remediation, approved, puts the four back.
	planFile := filepath.Join(e.dir, "plan.yaml")
	e.cli(0, append([]string{"watch", "remediate", planFile}, nats...)...)
	e.wait(id, time.Minute, func(st workflows.State) bool {
		return gateStatus(st, workflows.RemediateStage) == workflows.GateApproval
	})
	if v := e.decideOn(p.TenantToken(), p.Metadata.Name, workflows.RemediateStage, "alice", "approve"); !v.Accepted {
		t.Fatalf("approve the remediation: %+v", v)
	}
	rem := e.wait(id, 2*time.Minute, ended)
	if rem.Status != workflows.StatusSucceeded || !rem.Remediation {
		t.Fatalf("remediation: %s: %s", rem.Status, rem.LastError)
	}
	if *updateHistories {
		e.saveHistory(id, "watch-remediation.json")
		dc, run := e.latestDriftCheck(p.Metadata.Name)
		e.saveRunHistory(dc, run, "watch-drift-check.json")
	}
	if clean := e.driftChecksAfter(p.Metadata.Name, time.Now(), 1, time.Minute)[0]; clean.Drifted() {
		t.Fatalf("drift after the remediation: %+v", clean.Items)
	}

	// A setting changed by hand after the rollout, then the revert.
	if err := e.stack.Sim.EditByHand("", entrasim.AdminEdit{
		PasswordResetPolicies: map[string]any{"customHelpdeskEmailOrUrl": "https://help.contoso.com/by-hand"},
	}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSPRFLOW_E2E_PW_alice", e.stack.Passwords["alice"])
	out := e.cli(0, "rollout", "revert", id, "--nats", e.stack.NATSURL(), "--user", "alice", "--password-env", "SSPRFLOW_E2E_PW_alice")
	if !strings.Contains(out, rolloutRun) {
		t.Errorf("revert does not name the rollout's run %s:\n%s", rolloutRun, out)
	}
	e.wait(id, time.Minute, func(st workflows.State) bool { return gateStatus(st, workflows.RevertStage) == workflows.GateApproval })
	if v := e.decideOn(p.TenantToken(), p.Metadata.Name, workflows.RevertStage, "alice", "approve"); v.Accepted {
		t.Errorf("alice, who asked for the revert, approved it herself: %+v", v)
	}
	if v := e.decideOn(p.TenantToken(), p.Metadata.Name, workflows.RevertStage, "bob", "approve"); !v.Accepted {
		t.Fatalf("approve the revert: %+v", v)
	}
	rev := e.wait(id, 3*time.Minute, ended)
	if rev.Status != workflows.StatusReverted || rev.RevertOf != rolloutRun {
		t.Fatalf("revert: %s (of %s): %s", rev.Status, rev.RevertOf, rev.LastError)
	}
	t.Logf("revert: %s", rev.Summary)
	if *updateHistories {
		e.saveHistory(id, "watch-revert.json")
	}
	var conflicts []string
	for _, c := range rev.Changes {
		if c.Compensation != nil && c.Compensation.Status == workflows.CompensationConflict {
			conflicts = append(conflicts, c.Compensation.Detail)
		}
	}
	if len(conflicts) != 1 || !strings.Contains(conflicts[0], "helpdesk.contact") {
		t.Errorf("conflicts of the revert: %q", conflicts)
	}
	if after := e.dacl(base); !bytes.Equal(after, daclBefore) {
		t.Errorf("DACL after the revert differs from before the rollout")
	}
	diff := jsonDiff(t, tenantBefore, e.tenantJSON())
	t.Logf("tenant JSON after the revert differs from before the rollout in: %q", diff)
	if len(diff) == 0 || !slices.Contains(diff, "passwordResetPolicies.customHelpdeskEmailOrUrl") {
		t.Errorf("the by-hand helpdesk link is not what is left: %q", diff)
	}
	for _, d := range diff {
		if !strings.HasPrefix(d, "passwordResetPolicies.customHelpdesk") && d != "passwordResetPolicies.customizeHelpdeskLink" {
			t.Errorf("the revert left %s different from before the rollout", d)
		}
	}
	// The watch ended with the revert.
	if _, err := e.tc.ScheduleClient().GetHandle(ctx, workflows.WatchScheduleID(p.TenantToken(), p.Metadata.Name)).Describe(ctx); err == nil {
		t.Error("the watch schedule outlived the revert")
	}
	status = e.cli(0, "rollout", "status", id, "--temporal", e.stack.Temporal.HostPort())
	t.Logf("rollout status after the revert:\n%s", status)
	if !strings.Contains(status, "REVERTED") || !strings.Contains(status, "conflict") {
		t.Errorf("status after the revert:\n%s", status)
	}
}

// cli runs the operator CLI in this process and wants exit code want.
func (e *env) cli(want int, args ...string) string {
	e.t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Main(context.Background(), args, &out, &errb); code != want {
		e.t.Fatalf("ssprflow %s: exit %d, want %d:\n%s%s", strings.Join(args, " "), code, want, out.String(), errb.String())
	}
	return out.String()
}

// driftChecks waits for at least n finished drift checks of the plan and
// returns them newest first.
func (e *env) driftChecks(planName string, n int, d time.Duration) []workflows.DriftResult {
	return e.driftChecksAfter(planName, time.Time{}, n, d)
}

// driftChecksAfter waits for n finished drift checks that started after t.
func (e *env) driftChecksAfter(planName string, after time.Time, n int, d time.Duration) []workflows.DriftResult {
	e.t.Helper()
	ctx := context.Background()
	q := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s' AND ExecutionStatus = 'Completed'", workflows.DriftCheckWorkflowName, workflows.SAPlan, planName)
	for deadline := time.Now().Add(d); ; time.Sleep(250 * time.Millisecond) {
		resp, err := e.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q})
		if err != nil {
			e.t.Fatal(err)
		}
		var out []workflows.DriftResult
		for _, ex := range resp.GetExecutions() {
			if ex.GetStartTime().AsTime().Before(after) {
				continue
			}
			var r workflows.DriftResult
			if err := e.tc.GetWorkflow(ctx, ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()).Get(ctx, &r); err != nil {
				e.t.Fatal(err)
			}
			out = append(out, r)
		}
		if len(out) >= n {
			sort.Slice(out, func(i, j int) bool { return out[i].CheckedAt.After(out[j].CheckedAt) })
			return out
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d drift check(s) of %s after %s, want %d", len(out), planName, after.Format(time.RFC3339), n)
		}
	}
}

// latestDriftCheck is the workflow and run id of the plan's latest
// finished drift check.
func (e *env) latestDriftCheck(planName string) (string, string) {
	q := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s' AND ExecutionStatus = 'Completed'", workflows.DriftCheckWorkflowName, workflows.SAPlan, planName)
	resp, err := e.tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 1})
	if err != nil || len(resp.GetExecutions()) == 0 {
		e.t.Fatalf("no drift check of %s: %v", planName, err)
	}
	ex := resp.GetExecutions()[0].GetExecution()
	return ex.GetWorkflowId(), ex.GetRunId()
}

// lastRun is the latest run id of a workflow.
func lastRun(t *testing.T, e *env, id string) string {
	d, err := e.tc.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	return d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
}

// recordedACEs are the ACEs the rollout recorded adding on dn.
func recordedACEs(t *testing.T, st workflows.State, dn string) [][]byte {
	for _, c := range st.Changes {
		if c.Kind == workflows.ChangeADACEs && strings.EqualFold(c.DN, dn) {
			var out [][]byte
			for _, h := range c.ACEs {
				b, err := hex.DecodeString(h)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, b)
			}
			return out
		}
	}
	t.Fatalf("the rollout recorded no ACE on %s", dn)
	return nil
}

// removeACEByHand removes one ACE as a domain admin would with ADSI Edit
// (this Samba's samba-tool dsacl can add ACEs but not delete them).
func removeACEByHand(t *testing.T, e *env, dn string, ace []byte) {
	c, err := e.stack.DC.Admin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if res, err := c.Revoke(context.Background(), dn, [][]byte{ace}); err != nil || res.Removed != 1 {
		t.Fatalf("remove an ACE by hand: %+v %v", res, err)
	}
}

// jsonDiff lists the paths whose values differ between two JSON documents.
func jsonDiff(t *testing.T, a, b []byte) []string {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(path string, x, y any)
	walk = func(path string, x, y any) {
		xm, okx := x.(map[string]any)
		ym, oky := y.(map[string]any)
		if okx && oky {
			keys := map[string]bool{}
			for k := range xm {
				keys[k] = true
			}
			for k := range ym {
				keys[k] = true
			}
			for k := range keys {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, xm[k], ym[k])
			}
			return
		}
		if !reflect.DeepEqual(x, y) {
			out = append(out, path)
		}
	}
	walk("", x, y)
	sort.Strings(out)
	return out
}

// TestWatchAndRevertSurviveWorkerRestarts: the watch schedule and a revert
// waiting for its approval live in Temporal, not in a worker: with the
// worker SIGKILLed, the schedule's checks wait; a new worker process runs
// them, and the revert started before the kill finishes once approved.
func TestWatchAndRevertSurviveWorkerRestarts(t *testing.T) {
	e := newEnvWith(t, localstack.StackOptions{Approvers: []string{"alice", "bob"}})
	e.cfg.Watch = &config.Watch{Every: "6h", TimeScale: 3600}
	w := e.startWorkerProcess()
	daclBefore := e.dacl(e.stack.DC.BaseDN)
	p := e.plan(nil)
	id := e.start(p)
	if st := e.wait(id, 3*time.Minute, ended); st.Status != workflows.StatusSucceeded {
		t.Fatalf("rollout: %s: %s", st.Status, st.LastError)
	}
	e.driftChecks(p.Metadata.Name, 1, time.Minute)

	// The revert waits for its approval; the worker dies.
	t.Setenv("SSPRFLOW_E2E_PW_operator", e.stack.Passwords["operator"])
	e.cli(0, "rollout", "revert", id, "--nats", e.stack.NATSURL(), "--user", "operator", "--password-env", "SSPRFLOW_E2E_PW_operator")
	e.wait(id, time.Minute, func(st workflows.State) bool { return gateStatus(st, workflows.RevertStage) == workflows.GateApproval })
	_ = w.Process.Kill()
	_, _ = w.Process.Wait()
	killed := time.Now()
	time.Sleep(7 * time.Second) // a scheduled check comes due while no worker runs

	e.startWorkerProcess()
	if checks := e.driftChecksAfter(p.Metadata.Name, killed, 1, time.Minute); len(checks) == 0 {
		t.Fatal("no drift check ran after the restart")
	}
	if v := e.decideOn(p.TenantToken(), p.Metadata.Name, workflows.RevertStage, "bob", "approve"); !v.Accepted {
		t.Fatalf("approve the revert after the restart: %+v", v)
	}
	if st := e.wait(id, 2*time.Minute, ended); st.Status != workflows.StatusReverted {
		t.Fatalf("revert after the restart: %s: %s", st.Status, st.LastError)
	}
	if !bytes.Equal(e.dacl(e.stack.DC.BaseDN), daclBefore) {
		t.Error("DACL after the revert differs from before the rollout")
	}
}
