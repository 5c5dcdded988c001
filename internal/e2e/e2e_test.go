// Package e2e runs whole rollouts on the real parts: the embedded Temporal
// server, embedded NATS with JetStream, the tenant simulator over HTTP
// through msgraph-sdk-go, a Samba AD DC, and the ssprflow worker — in
// process, or as a separate process that the tests kill.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/dial"
	"github.com/ssprflow/ssprflow/internal/localstack"

	"github.com/nats-io/nats.go"
	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/examples"
	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cli"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/sambadc"
	"github.com/ssprflow/ssprflow/internal/worker"
	"github.com/ssprflow/ssprflow/workflows"
)

// TestMain lets this test binary run as ssprflow-worker, so a test can kill
// a worker process and start another.
func TestMain(m *testing.M) {
	if cfg := os.Getenv("SSPRFLOW_E2E_WORKER_CONFIG"); cfg != "" {
		// SIGTERM stops it gracefully, as cmdline.Exec does for ssprflow-worker.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := worker.Main(ctx, []string{"--config", cfg, "--log-level", "warn"}, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	if len(os.Args) > 1 && os.Args[1] == "agent" { // the writeback agent on its simulated sync server
		os.Exit(localstack.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const (
	envToken      = "SSPRFLOW_E2E_SIM_TOKEN"
	envWorkerPW   = "SSPRFLOW_E2E_NATS_PASSWORD"
	envADPassword = "SSPRFLOW_E2E_AD_PASSWORD"
)

type env struct {
	t     testing.TB
	stack *localstack.Stack
	cfg   *config.Config
	tc    client.Client
	dir   string
}

func requireSamba(t testing.TB) {
	t.Helper()
	if err := sambadc.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("samba is required in CI (.ci/install-deps installs it): %v", err)
		}
		t.Skipf("SKIPPED LOUDLY: samba is not installed: %v", err)
	}
}

func newEnv(t testing.TB, approvers ...string) *env {
	return newEnvWith(t, localstack.StackOptions{Approvers: approvers})
}

func newEnvWith(t testing.TB, o localstack.StackOptions) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	requireSamba(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if o.Users == 0 {
		o.Users = 200
	}
	if o.TimeScale == 0 {
		o.TimeScale = 3600
	}
	o.Dir, o.SimAddr, o.Directory = dir, "127.0.0.1:0", true
	if !slices.Contains(o.Operators, "operator") {
		o.Operators = append(o.Operators, "operator") // e.start's user
	}
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := localstack.StartStack(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	t.Setenv(envToken, st.Sim.Token())
	t.Setenv(envToken+"_PORTAL", st.Sim.PortalToken())
	t.Setenv(envWorkerPW, st.Passwords[localstack.WorkerUser])
	t.Setenv(envADPassword, st.DC.AdminPassword)
	cfg := localstack.SimConfig(st.SimURL, envToken, st.Temporal.HostPort(), st.NATSURL(), o.TimeScale)
	st.LabDirectory(cfg, envADPassword)
	st.Identity(cfg)
	st.Codec(cfg)
	t.Setenv(config.EnvCodecKeys, st.CodecKeys()) // for the CLI commands the tests run in process
	cfg.NATS.User, cfg.NATS.Password = localstack.WorkerUser, config.Secret{Env: envWorkerPW}
	tc, err := dial.Temporal(context.Background(), cfg.Temporal, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	if _, err := st.DC.CreateConnectorAccount(ctx, "MSOL_ssprflow", "Connector-Pa55!"+st.DC.AdminPassword[:6]); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DC.SambaTool(ctx, "domain", "passwordsettings", "set", "--min-pwd-age=0"); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, stack: st, cfg: cfg, tc: tc, dir: dir}
}

// plan is the example pilot plan pointed at this stack, without writeback
// (the agent has its own test) and with short gates.
func (e *env) plan(mutate func(*plan.Rollout)) *plan.Rollout {
	b, err := examples.FS.ReadFile("pilot.yaml")
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := plan.Load("pilot.yaml", b)
	if err != nil {
		e.t.Fatal(err)
	}
	p.Spec.Directory.Profile = localstack.LabProfile // the worker's profile of this stack's DC
	p.Spec.Writeback = plan.Writeback{Mode: plan.WritebackNone}
	p.Spec.Stages[0].Gate = &plan.Gate{Soak: plan.Duration(time.Second), Approvals: 0, Timeout: plan.Duration(time.Hour)}
	if mutate != nil {
		mutate(p)
	}
	if err := p.Validate(); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// runWorker runs the worker in this process until the test ends.
func (e *env) runWorker() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		defer close(done)
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		if err := worker.Run(ctx, e.cfg, worker.Options{Logger: logger, Ready: func() { close(ready) }}); err != nil && ctx.Err() == nil {
			e.t.Errorf("worker: %v", err)
		}
	}()
	e.t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case <-time.After(time.Minute):
		e.t.Fatal("worker did not start")
	}
}

// startWorkerProcess runs the worker as its own process (this test binary).
func (e *env) startWorkerProcess() *exec.Cmd {
	path := filepath.Join(e.dir, "worker.yaml")
	b, err := yaml.Marshal(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SSPRFLOW_E2E_WORKER_CONFIG="+path)
	// A file, not a buffer: exec copies into a buffer from goroutines that
	// outlive Process.Wait, and the log stays for a look afterwards.
	out, err := os.CreateTemp(e.dir, "worker-*.log")
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_, _ = cmd.Process.Wait()
		out.Close()
		if e.t.Failed() {
			said, _ := os.ReadFile(out.Name())
			e.t.Logf("worker process %d said:\n%s", cmd.Process.Pid, said)
		}
	})
	return cmd
}

// start starts the rollout as an operator does: over NATS as the user
// "operator", so the start is verified and its gates take decisions.
func (e *env) start(p *plan.Rollout) string {
	e.t.Helper()
	return e.startFile(p, filepath.Join(e.dir, "plan.yaml"))
}

// wait polls the rollout until cond holds or it ends.
func (e *env) wait(id string, d time.Duration, cond func(workflows.State) bool) workflows.State {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for {
		st, err := cli.QueryState(context.Background(), e.tc, id)
		if err == nil && (cond(st) || st.EndedAt.After(st.StartedAt)) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting on %s (last state %s, err %v)", id, st.Status, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ended(st workflows.State) bool { return !st.EndedAt.IsZero() }

func (e *env) tenantJSON() []byte {
	b, err := e.stack.Sim.StateJSON("contoso.onmicrosoft.com")
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) dacl(dn string) []byte {
	c, err := e.stack.DC.Admin(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	_, raw, err := c.ReadSD(context.Background(), dn)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

// TestADFailureRestoresTenantAndDACLByteEqual: the AD step fails permanently
// (the bind identity may read but not write the domain's permissions); the
// rollout compensates and the tenant JSON and the DACL end byte-equal.
func TestADFailureRestoresTenantAndDACLByteEqual(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.stack.DC.CreateUser(ctx, "CN=Users,"+e.stack.DC.BaseDN, "readonly-op", "Read0nly-Pa55!"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSPRFLOW_E2E_RO_PASSWORD", "Read0nly-Pa55!")
	ro := e.cfg.Directories[0]
	ro.Profile, ro.BindUser, ro.BindPassword = "readonly", `EXAMPLE\readonly-op`, config.Secret{Env: "SSPRFLOW_E2E_RO_PASSWORD"}
	e.cfg.Directories = append(e.cfg.Directories, ro)
	e.runWorker()
	beforeTenant, beforeDACL := e.tenantJSON(), e.dacl(e.stack.DC.BaseDN)
	p := e.plan(func(p *plan.Rollout) {
		p.Spec.Directory.Profile = "readonly"
	})
	id := e.start(p)
	st := e.wait(id, 2*time.Minute, ended)
	if st.Status != workflows.StatusRolledBack {
		t.Fatalf("status %s, want rolled-back (%s)", st.Status, st.LastError)
	}
	if !strings.Contains(st.LastError, "insufficientAccessRights") {
		t.Errorf("cause does not name the LDAP error: %s", st.LastError)
	}
	if len(st.Changes) < 3 {
		t.Errorf("expected tenant changes before the AD step, got %d", len(st.Changes))
	}
	if after := e.tenantJSON(); !bytes.Equal(after, beforeTenant) {
		t.Errorf("tenant JSON differs after compensation:\nbefore %s\nafter  %s", beforeTenant, after)
	}
	if after := e.dacl(e.stack.DC.BaseDN); !bytes.Equal(after, beforeDACL) {
		t.Errorf("domain root DACL differs after compensation")
	}
}

// TestRejectionOverNATSCompensates: an approver rejects the pilot gate with
// the CLI path (NATS → bridge → Temporal update); the rollout undoes
// everything, byte-equal.
func TestRejectionOverNATSCompensates(t *testing.T) {
	e := newEnv(t, "alice", "bob")
	e.runWorker()
	beforeTenant, beforeDACL := e.tenantJSON(), e.dacl(e.stack.DC.BaseDN)
	p := e.plan(func(p *plan.Rollout) { p.Spec.Stages[0].Gate.Approvals = 2 })
	id := e.start(p)
	e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	// alice approves; quorum is 2, so the gate still waits.
	v := e.decide("alice", "approve")
	if !v.Accepted {
		t.Fatalf("alice's approval refused: %s", v.Reason)
	}
	// alice again does not count twice.
	if v := e.decide("alice", "approve"); v.Accepted {
		t.Errorf("a second vote by alice was accepted: %s", v.Reason)
	}
	v = e.decide("bob", "reject")
	if !v.Accepted {
		t.Fatalf("bob's rejection refused: %s", v.Reason)
	}
	st := e.wait(id, 2*time.Minute, ended)
	if st.Status != workflows.StatusRolledBack {
		t.Fatalf("status %s (%s)", st.Status, st.LastError)
	}
	if after := e.tenantJSON(); !bytes.Equal(after, beforeTenant) {
		t.Errorf("tenant JSON differs after rejection")
	}
	if after := e.dacl(e.stack.DC.BaseDN); !bytes.Equal(after, beforeDACL) {
		t.Errorf("DACL differs after rejection")
	}
	evs := e.events(p)
	var decisions int
	for _, ev := range evs {
		if ev.Kind() == approval.KindDecision {
			decisions++
		}
	}
	if decisions < 3 {
		t.Errorf("%d decision events recorded, want every decision (accepted or not)", decisions)
	}
}

// decide answers the example plan's pilot gate as who, over NATS.
func (e *env) decide(who, verdict string) approval.Verdict {
	e.t.Helper()
	return e.decideOn("contoso_onmicrosoft_com", "sspr-pilot", "pilot", who, verdict)
}

// decideOn answers a gate or task of a rollout as who, over NATS.
func (e *env) decideOn(tenant, rollout, gate, who, verdict string) approval.Verdict {
	e.t.Helper()
	nc := config.NATS{URL: e.stack.NATSURL(), User: who, Password: config.Secret{Env: "SSPRFLOW_E2E_PW_" + who}}
	e.t.Setenv("SSPRFLOW_E2E_PW_"+who, e.stack.Passwords[who])
	v, err := cli.Decide(context.Background(), nc, tenant, rollout, who,
		approval.Decision{Gate: gate, Verdict: verdict, Comment: "e2e"}, 30*time.Second)
	if err != nil {
		e.t.Fatalf("%s %s: %v", who, verdict, err)
	}
	return v
}

func (e *env) events(p *plan.Rollout) []approval.Event {
	nc, js, err := dial.NATS(context.Background(), e.cfg.NATS, "e2e-events")
	if err != nil {
		e.t.Fatal(err)
	}
	defer nc.Close()
	evs, err := approval.ListEvents(context.Background(), js, p.TenantToken(), p.Metadata.Name)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func gateStatus(st workflows.State, name string) workflows.GateStatus {
	for _, g := range st.Gates {
		if g.Name == name {
			return g.Status
		}
	}
	return ""
}

// TestWorkerKilledMidStageAppliesOnce: the worker process is SIGKILLed in the
// middle of the pilot; a new worker finishes the rollout, and every change
// was applied exactly once — the simulator's write audit and the DACL prove
// it.
func TestWorkerKilledMidStageAppliesOnce(t *testing.T) {
	e := newEnv(t)
	// Slow every Graph write so the kill lands inside a step.
	faults, err := entrasim.ParseFaults("path=/v1.0/*;method=POST,PATCH,PUT;latency=400ms")
	if err != nil {
		t.Fatal(err)
	}
	e.stack.Sim.SetFaults(faults)
	first := e.startWorkerProcess()
	p := e.plan(nil)
	id := e.start(p)
	e.wait(id, 2*time.Minute, func(st workflows.State) bool {
		return st.StepStatus("pilot", workflows.StepMembers) == workflows.StepRunning ||
			st.StepStatus("pilot", workflows.StepMethods) == workflows.StepRunning
	})
	if err := syscall.Kill(-first.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = first.Process.Wait()
	e.startWorkerProcess()
	st := e.wait(id, 4*time.Minute, ended)
	if st.Status != workflows.StatusSucceeded {
		t.Fatalf("status %s (%s)", st.Status, st.LastError)
	}
	e.assertAppliedOnce(p)
}

// assertAppliedOnce checks what a rollout of p that a worker failure
// interrupted applied: exactly one group and each member added once in
// the simulator's write audit, each writeback ACE once on the domain root.
func (e *env) assertAppliedOnce(p *plan.Rollout) {
	t := e.t
	t.Helper()
	// Exactly one group, five successful member additions, no duplicate.
	created, added := 0, 0
	var trail []string
	for _, a := range e.stack.Sim.Audit() {
		if strings.Contains(a.Path, "/groups") {
			trail = append(trail, fmt.Sprintf("%s %s %s %d %.120s", a.Time.Format("15:04:05.000"), a.Method, a.Path, a.Status, a.Body))
		}
		if a.Status < 200 || a.Status >= 300 { // 0: the client was gone before the answer
			continue
		}
		switch {
		case a.Method == "POST" && a.Path == "/v1.0/groups":
			created++
		case a.Method == "POST" && strings.HasSuffix(a.Path, "/members/$ref"):
			added++
		case a.Method == "PATCH" && strings.Contains(a.Body, "members@odata.bind"):
			added += strings.Count(a.Body, "directoryObjects/")
		}
	}
	if created != 1 || added != len(p.Spec.Stages[0].Members) {
		t.Errorf("groups created %d (want 1), members added %d (want %d); group writes:\n%s", created, added, len(p.Spec.Stages[0].Members), strings.Join(trail, "\n"))
	}
	// Each writeback ACE exactly once on the domain root.
	c, err := e.stack.DC.Admin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	acct, err := c.ResolveAccount(context.Background(), `EXAMPLE\MSOL_ssprflow`)
	if err != nil {
		t.Fatal(err)
	}
	_, raw, err := c.ReadSD(context.Background(), e.stack.DC.BaseDN)
	if err != nil {
		t.Fatal(err)
	}
	for _, ace := range ad.WritebackACEs(acct.SID, ad.Rights{}) {
		if n := bytes.Count(raw, ace); n != 1 {
			t.Errorf("ACE %s present %d times", ad.ACESDDL(ace, nil), n)
		}
	}
}

// TestPlanDiffRolloutNoDiff: `ssprflow plan diff` asks the worker (over NATS,
// as an operator; the CLI holds no tenant credential) what the plan changes
// in the simulated tenant: exit 2 and the changes before the rollout, exit 0
// and "no change" after it.
func TestPlanDiffRolloutNoDiff(t *testing.T) {
	e := newEnv(t)
	e.runWorker()
	p := e.plan(func(p *plan.Rollout) { p.Spec.Directory = nil })
	file := filepath.Join(e.dir, "plan.yaml")
	b, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSPRFLOW_E2E_PW_operator", e.stack.Passwords["operator"])
	diff := func(want int) string {
		var out, errb bytes.Buffer
		code := cli.Main(context.Background(), []string{"plan", "diff", file, "--nats", e.stack.NATSURL(), "--user", "operator",
			"--password-env", "SSPRFLOW_E2E_PW_operator"}, &out, &errb)
		if code != want {
			t.Fatalf("plan diff exit %d, want %d: %s%s", code, want, out.String(), errb.String())
		}
		return out.String()
	}
	before := diff(2)
	for _, want := range []string{"[scope]", "helpdesk.contact", "policy.softwareOath", "stage pilot changes"} {
		if !strings.Contains(before, want) {
			t.Errorf("diff before the rollout lacks %q:\n%s", want, before)
		}
	}
	id := e.start(p)
	st := e.wait(id, 2*time.Minute, ended)
	if st.Status != workflows.StatusSucceeded {
		t.Fatalf("rollout %s: %s", st.Status, st.LastError)
	}
	if after := diff(0); !strings.Contains(after, "no change") {
		t.Errorf("diff after the rollout:\n%s", after)
	}

	// The operator's commands on the finished rollout.
	run := func(args ...string) string {
		var out, errb bytes.Buffer
		if code := cli.Main(context.Background(), args, &out, &errb); code != 0 {
			t.Fatalf("ssprflow %s: exit %d: %s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
		return out.String()
	}
	temporal := []string{"--temporal", e.stack.Temporal.HostPort()}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{append([]string{"rollout", "status", id}, temporal...), []string{"SUCCEEDED", "sspr-group", "verified"}},
		{append([]string{"rollout", "list", "--tenant", "contoso.onmicrosoft.com"}, temporal...), []string{id, "succeeded"}},
		{append([]string{"report", id}, temporal...), []string{"Result: SUCCEEDED", "Changes made", "Registration coverage"}},
		{[]string{"events", id, "--nats", e.stack.NATSURL(), "--user", localstack.WorkerUser, "--password-env", envWorkerPW},
			[]string{"step.verified", "rollout.succeeded"}},
	} {
		out := run(tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("ssprflow %s: output lacks %q:\n%s", tc.args[0]+" "+tc.args[1], w, out)
			}
		}
	}
}

// TestADCommands: `ssprflow-worker ad check|grant|revoke` against the DC,
// through the worker configuration's directory profile: check fails (exit
// 1) before the grant, passes after it; grant twice adds nothing; revoke
// restores the DACL byte for byte; AdminSDHolder is warned about.
func TestADCommands(t *testing.T) {
	e := newEnv(t)
	before := e.dacl(e.stack.DC.BaseDN)
	cfgFile := filepath.Join(e.dir, "worker-ad.yaml")
	b, err := yaml.Marshal(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(want int, args ...string) (string, string) {
		var out, errb bytes.Buffer
		args = append(args, "--config", cfgFile, "--directory", localstack.LabProfile)
		if code := worker.Main(context.Background(), args, &out, &errb); code != want {
			t.Fatalf("ssprflow-worker %s: exit %d, want %d: %s%s", strings.Join(args, " "), code, want, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}
	if out, _ := run(1, "ad", "check"); !strings.Contains(out, "3 ACE(s) missing") || !strings.Contains(out, "minimum password age: 0") {
		t.Errorf("check before grant:\n%s", out)
	}
	if out, _ := run(0, "ad", "grant"); !strings.Contains(out, "3 ACE(s) added") {
		t.Errorf("grant:\n%s", out)
	}
	if out, _ := run(0, "ad", "grant"); !strings.Contains(out, "0 ACE(s) added") {
		t.Errorf("second grant:\n%s", out)
	}
	if out, _ := run(0, "ad", "check", "--output", "json"); !strings.Contains(out, `"ok": true`) {
		t.Errorf("check after grant:\n%s", out)
	}
	if out, errOut := run(1, "ad", "check", "--admin-sdholder"); !strings.Contains(out, "CN=AdminSDHolder") || !strings.Contains(errOut, "warning:") {
		t.Errorf("check with --admin-sdholder names neither the target nor the warning:\n%s\n%s", out, errOut)
	}
	run(0, "ad", "revoke")
	if !bytes.Equal(e.dacl(e.stack.DC.BaseDN), before) {
		t.Error("DACL not restored byte for byte by revoke")
	}
	// A profile the configuration lacks is a usage error before any bind.
	var out, errb bytes.Buffer
	if code := worker.Main(context.Background(), []string{"ad", "check", "--config", cfgFile, "--directory", "nope"}, &out, &errb); code != 2 {
		t.Errorf("unknown profile: exit %d, want 2: %s", code, errb.String())
	}
}

// TestStartOverNATSAuthenticatesTheStarter: a rollout started over NATS
// records the operator's NATS user as its starter; that person cannot
// approve it (the plan forbids self-approval), another approver can; and
// nobody can start a rollout in someone else's name.
func TestStartOverNATSAuthenticatesTheStarter(t *testing.T) {
	// carol both operates and approves: one NATS user with both roles.
	e := newEnvWith(t, localstack.StackOptions{Approvers: []string{"alice", "carol"}, Operators: []string{"mallory", "carol"}})
	e.runWorker()
	p := e.plan(func(p *plan.Rollout) {
		p.Spec.Directory = nil
		p.Spec.Approvers = []plan.Approver{{ID: "alice"}, {ID: "carol"}}
		p.Spec.Stages[0].Gate.Approvals = 1
	})
	raw, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	natsAs := func(who string) config.NATS {
		t.Setenv("SSPRFLOW_E2E_PW_"+who, e.stack.Passwords[who])
		return config.NATS{URL: e.stack.NATSURL(), User: who, Password: config.Secret{Env: "SSPRFLOW_E2E_PW_" + who}}
	}
	// mallory may start rollouts, but only as mallory.
	conn, _, err := dial.NATS(context.Background(), natsAs("mallory"), "e2e", nats.CustomInboxPrefix(approval.InboxPrefix("mallory")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = approval.RequestStart(context.Background(), conn, p.TenantToken(), p.Metadata.Name, "carol", approval.StartRequest{Plan: raw}, 3*time.Second)
	conn.Close()
	if !errors.Is(err, approval.ErrNotPermitted) {
		t.Fatalf("mallory starting as carol: %v, want ErrNotPermitted", err)
	}

	id, err := cli.StartOverNATS(context.Background(), natsAs("carol"), "carol", p, "plan.yaml", raw)
	if err != nil {
		t.Fatal(err)
	}
	st := e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	if st.StartedBy != "carol" || !st.StartedByVerified {
		t.Fatalf("started by %q verified=%t", st.StartedBy, st.StartedByVerified)
	}
	if v := e.decide("carol", "approve"); v.Accepted || !strings.Contains(v.Reason, "self-approval") {
		t.Errorf("carol approving her own rollout: %+v", v)
	}
	if v := e.decide("alice", "approve"); !v.Accepted {
		t.Fatalf("alice's approval refused: %s", v.Reason)
	}
	if st := e.wait(id, 2*time.Minute, ended); st.Status != workflows.StatusSucceeded {
		t.Fatalf("status %s: %s", st.Status, st.LastError)
	}
}

// TestPasswordAgeStepReadsGptTmpl: with SYSVOL served over SMB, as on a
// real domain, MinimumPasswordAge = 1 in the Default Domain Policy's
// GptTmpl.inf (written as Windows writes it: UTF-16LE with a BOM, CRLF)
// stops the rollout before any change although the domain object's
// minPwdAge is 0, and names the GPO; with 0 the password-age step verifies
// and says which source set the effective value.
func TestPasswordAgeStepReadsGptTmpl(t *testing.T) {
	e := newEnvWith(t, localstack.StackOptions{SMB: true})
	e.runWorker()
	for _, tc := range []struct {
		days string
		ok   bool
	}{{"1", false}, {"0", true}} {
		tmpl := "[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nMinimumPasswordAge = " + tc.days +
			"\r\n[Version]\r\nsignature=\"$CHICAGO$\"\r\nRevision=1\r\n"
		if err := e.stack.DC.WriteGptTmpl(ad.DefaultDomainPolicyGUID, tmpl); err != nil {
			t.Fatal(err)
		}
		before := e.tenantJSON()
		id := e.start(e.plan(func(p *plan.Rollout) { p.Metadata.Name = "pwdage-" + tc.days }))
		st := e.wait(id, 2*time.Minute, func(st workflows.State) bool {
			return st.StepStatus("pilot", workflows.StepPasswordAge) == workflows.StepVerified
		})
		if !tc.ok {
			if st.Status != workflows.StatusFailed || st.StepStatus(workflows.PreflightStage, workflows.StepDirectoryPreflight) != workflows.StepFailed {
				t.Fatalf("MinimumPasswordAge 1: status %s, directory-preflight %s (%s)", st.Status,
					st.StepStatus(workflows.PreflightStage, workflows.StepDirectoryPreflight), st.LastError)
			}
			if !strings.Contains(st.LastError, `GPO "Default Domain Policy"`) || !strings.Contains(st.LastError, "MinimumPasswordAge = 1") {
				t.Errorf("the failure does not name the GPO and its setting: %s", st.LastError)
			}
			if !bytes.Equal(e.tenantJSON(), before) || len(st.Changes) != 0 {
				t.Errorf("a rollout stopped by password age changed things: %+v", st.Changes)
			}
			continue
		}
		i := slices.IndexFunc(st.Steps, func(s workflows.Step) bool { return s.Name == workflows.StepPasswordAge })
		if i < 0 || st.Steps[i].Status != workflows.StepVerified {
			t.Fatalf("MinimumPasswordAge 0: status %s, steps %+v (%s)", st.Status, st.Steps, st.LastError)
		}
		if d := st.Steps[i].Detail; !strings.Contains(d, "GptTmpl.inf") || !strings.Contains(d, "Default Domain Policy") || strings.Contains(d, "warning") {
			t.Errorf("password-age detail does not say the GPO set the effective value (or warns): %s", d)
		}
	}
}

// TestManualTaskOverNATS: in manual mode a portal change becomes a task
// named stage_step, published over the real NATS server as an approval
// request (a name that is not one subject token would be refused there);
// an approver's answer to the task reaches the workflow, and a rejected
// task rolls the rollout back.
func TestManualTaskOverNATS(t *testing.T) {
	e := newEnv(t, "alice", "bob")
	e.runWorker()
	before := e.tenantJSON()
	p := e.plan(func(p *plan.Rollout) {
		p.Spec.Directory = nil
		p.Spec.SSPRPolicy.Mode = plan.PolicyModeManual
	})
	id := e.start(p)
	// Methods are set through Graph even in manual mode; the helpdesk link
	// is a portal setting, so it is the pilot's first task.
	const task = "pilot_helpdesk"
	st := e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, task) == workflows.GateApproval })
	if gateStatus(st, task) != workflows.GateApproval {
		t.Fatalf("task %s never waited for people: status %s, gates %+v (%s)", task, st.Status, st.Gates, st.LastError)
	}
	if v := e.decideOn(p.TenantToken(), p.Metadata.Name, task, "bob", "reject"); !v.Accepted {
		t.Fatalf("reject %s: %+v", task, v)
	}
	if st = e.wait(id, 2*time.Minute, ended); st.Status != workflows.StatusRolledBack {
		t.Fatalf("status %s after the task was rejected, want rolled-back (%s)", st.Status, st.LastError)
	}
	if after := e.tenantJSON(); !bytes.Equal(after, before) {
		t.Errorf("tenant JSON differs after the rejected task rolled back")
	}
}
