package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/dial"
	"github.com/ssprflow/ssprflow/internal/localstack"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/examples"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/worker"
	"github.com/ssprflow/ssprflow/workflows"
)

// BenchmarkConcurrentRollouts runs N rollouts at once (one per simulated
// tenant, default 200, SSPRFLOW_BENCH_ROLLOUTS) on one worker and the
// embedded server, and in the same run N baseline workflows that execute
// the same number of no-op activities and local activities as one rollout
// did: the engine's floor. Reports throughput, p50/p99 completion and the
// process's peak RSS (the process holds the server, the simulator and the
// worker). Run with -benchtime 1x.
func BenchmarkConcurrentRollouts(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("SSPRFLOW_BENCH_ROLLOUTS")); err == nil && v > 0 {
		n = v
	}
	if testing.Short() {
		b.Skip("end-to-end benchmark")
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	st, err := localstack.StartStack(ctx, localstack.StackOptions{Dir: b.TempDir(), SimAddr: "127.0.0.1:0", Users: 50, TimeScale: 3600, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Stop)
	b.Setenv(envWorkerPW, st.Passwords[localstack.WorkerUser])
	cfg := &config.Config{
		Temporal: config.Temporal{Address: st.Temporal.HostPort(), Namespace: "default"},
		NATS:     config.NATS{URL: st.NATSURL(), User: localstack.WorkerUser, Password: config.Secret{Env: envWorkerPW}},
	}
	st.Identity(cfg)
	st.Codec(cfg)
	plans := make([]*plan.Rollout, n)
	src, err := examples.FS.ReadFile("pilot.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		tenant := fmt.Sprintf("t%03d.onmicrosoft.com", i)
		env := fmt.Sprintf("SSPRFLOW_BENCH_TOKEN_%03d", i)
		b.Setenv(env, st.Sim.IssueToken(tenant, entrasim.AllRoles(), false))
		b.Setenv(env+"_PORTAL", st.Sim.PortalTokenFor(tenant))
		cfg.Tenants = append(cfg.Tenants, config.Tenant{Tenant: tenant, GraphURL: st.SimURL + "/v1.0", PortalURL: st.SimURL,
			Graph:  config.Credential{Method: "token", Token: config.Secret{Env: env}},
			Portal: &config.Credential{Method: "token", Token: config.Secret{Env: env + "_PORTAL"}}})
		p, err := plan.Load("pilot.yaml", []byte(strings.ReplaceAll(string(src), "contoso.onmicrosoft.com", tenant)))
		if err != nil {
			b.Fatal(err)
		}
		p.Spec.Directory, p.Spec.Writeback = nil, plan.Writeback{Mode: plan.WritebackNone}
		p.Spec.Stages[0].Gate, p.Spec.DefaultGate = nil, nil // no timers: engine work and activities only
		plans[i] = p
	}
	wctx, cancel := context.WithCancel(ctx)
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = worker.Run(wctx, cfg, worker.Options{Logger: quiet, Ready: func() { close(ready) }})
	}()
	b.Cleanup(func() { cancel(); <-done })
	<-ready
	tc, err := dial.Temporal(ctx, cfg.Temporal, quiet, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(tc.Close)

	// One rollout alone first, to count what a rollout executes.
	warm, err := plan.Load("pilot.yaml", []byte(strings.ReplaceAll(string(src), "contoso.onmicrosoft.com", "t000.onmicrosoft.com")))
	if err != nil {
		b.Fatal(err)
	}
	warm.Metadata.Name = "warmup"
	warm.Spec.Directory, warm.Spec.Writeback = nil, plan.Writeback{Mode: plan.WritebackNone}
	warm.Spec.Stages[0].Gate, warm.Spec.DefaultGate = nil, nil
	warm.Spec.Stages[0].Group.Name = "SSPR-Warmup"
	id, err := workflows.StartRollout(ctx, tc, warm, workflows.StartOptions{StartedBy: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	if err := tc.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		b.Fatalf("warm-up rollout: %v", err)
	}
	acts, locals := countExecutions(ctx, b, tc, id)

	bw := sdkworker.New(tc, "baseline", sdkworker.Options{})
	bw.RegisterWorkflow(BaselineWorkflow)
	bw.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: "Noop"})
	if err := bw.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bw.Stop)

	b.ResetTimer()
	rollouts := runConcurrently(ctx, b, n, func(i int) (client.WorkflowRun, error) {
		id, err := workflows.StartRollout(ctx, tc, plans[i], workflows.StartOptions{StartedBy: "bench"})
		if err != nil {
			return nil, err
		}
		return tc.GetWorkflow(ctx, id, ""), nil
	})
	baseline := runConcurrently(ctx, b, n, func(i int) (client.WorkflowRun, error) {
		return tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("baseline-%d", i), TaskQueue: "baseline"},
			BaselineWorkflow, acts, locals)
	})
	b.StopTimer()
	b.ReportMetric(float64(n)/rollouts.wall.Seconds(), "rollouts/s")
	b.ReportMetric(rollouts.p50.Seconds(), "rollout-p50-s")
	b.ReportMetric(rollouts.p99.Seconds(), "rollout-p99-s")
	b.ReportMetric(float64(n)/baseline.wall.Seconds(), "baseline/s")
	b.ReportMetric(baseline.p50.Seconds(), "baseline-p50-s")
	b.ReportMetric(baseline.p99.Seconds(), "baseline-p99-s")
	b.ReportMetric(rollouts.p99.Seconds()/baseline.p99.Seconds(), "p99-ratio")
	b.ReportMetric(float64(acts), "activities/rollout")
	b.ReportMetric(float64(locals), "local-activities/rollout")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

type runStats struct{ wall, p50, p99 time.Duration }

func runConcurrently(ctx context.Context, b *testing.B, n int, start func(int) (client.WorkflowRun, error)) runStats {
	t0 := time.Now()
	durs := make([]time.Duration, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			run, err := start(i)
			if err == nil {
				err = run.Get(ctx, nil)
			}
			if err != nil {
				errs <- fmt.Errorf("workflow %d: %w", i, err)
			}
			durs[i] = time.Since(t0)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	p50, p99 := percentiles(durs)
	return runStats{wall: time.Since(t0), p50: p50, p99: p99}
}

func countExecutions(ctx context.Context, b *testing.B, tc client.Client, id string) (acts, locals int) {
	it := tc.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		switch ev.GetEventType() {
		case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			acts++
		case enums.EVENT_TYPE_MARKER_RECORDED:
			locals++
		}
	}
	return acts, locals
}

// BaselineWorkflow runs acts no-op activities, each followed by its share
// of no-op local activities: what a rollout costs the engine, minus
// ssprflow's own work.
func BaselineWorkflow(ctx workflow.Context, acts, locals int) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 5 * time.Second})
	for i := 0; i < acts; i++ {
		if err := workflow.ExecuteActivity(ctx, "Noop").Get(ctx, nil); err != nil {
			return err
		}
		for j := 0; j < locals/max(acts, 1)+boolInt(i < locals%max(acts, 1)); j++ {
			if err := workflow.ExecuteLocalActivity(lctx, noop).Get(ctx, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func noop(ctx context.Context) error { return nil }

// peakRSSMiB is this process's peak resident memory.
func peakRSSMiB() float64 {
	kb, err := vmHWM("self")
	if err != nil {
		return 0
	}
	return float64(kb) / 1024
}

// vmHWM reads a process's peak resident set, in KiB, from /proc.
func vmHWM(pid string) (int64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%s/status", pid)
}
