package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

const testTaskQueue = "devstack-test"

var tenantKey = temporal.NewSearchAttributeKeyKeyword(SearchAttributeTenant)

// greetWorkflow tags itself with the tenant, then runs one activity.
func greetWorkflow(ctx workflow.Context, tenant string) (string, error) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, tenantKey.ValueSet(tenant)); err != nil {
		return "", err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, greetActivity, tenant).Get(ctx, &out)
	return out, err
}

func greetActivity(_ context.Context, tenant string) (string, error) {
	return "hello " + tenant, nil
}

func startTestTemporal(t *testing.T, opts TemporalOptions) *Temporal {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	tp, err := StartTemporal(ctx, opts)
	if err != nil {
		t.Fatalf("StartTemporal: %v", err)
	}
	t.Logf("temporal ready at %s in %s", tp.HostPort(), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := tp.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return tp
}

func newTestClient(t *testing.T, tp *Temporal) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := tp.NewClient(ctx, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// startTestWorker runs greetWorkflow and greetActivity until the test ends
// or the returned stop is called.
func startTestWorker(t *testing.T, c client.Client) (stop func()) {
	t.Helper()
	w := worker.New(c, testTaskQueue, worker.Options{WorkflowPanicPolicy: worker.FailWorkflow})
	w.RegisterWorkflow(greetWorkflow)
	w.RegisterActivity(greetActivity)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(w.Stop) }
	t.Cleanup(stop)
	return stop
}

// runGreet runs greetWorkflow to completion and returns its workflow id.
func runGreet(ctx context.Context, c client.Client, tenant string) (string, error) {
	id := "greet-" + tenant
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: testTaskQueue}, greetWorkflow, tenant)
	if err != nil {
		return "", fmt.Errorf("start workflow: %w", err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil {
		return "", fmt.Errorf("workflow result: %w", err)
	}
	if want := "hello " + tenant; got != want {
		return "", fmt.Errorf("workflow returned %q, want %q", got, want)
	}
	return id, nil
}

// listByTenant waits (visibility is written asynchronously) until the query
// for tenant finds want workflows, and returns their ids.
func listByTenant(ctx context.Context, c client.Client, tenant string, want int) ([]string, error) {
	query := fmt.Sprintf("%s = '%s'", SearchAttributeTenant, tenant)
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", query, err)
		}
		if len(resp.GetExecutions()) == want {
			var ids []string
			for _, e := range resp.GetExecutions() {
				ids = append(ids, e.GetExecution().GetWorkflowId())
			}
			return ids, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list %q: found %d workflows, want %d: %w", query, len(resp.GetExecutions()), want, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestTemporalWorkflowAndSearchAttributes(t *testing.T) {
	tp := startTestTemporal(t, TemporalOptions{Namespace: "ssprflow-test"})
	if tp.Namespace() != "ssprflow-test" {
		t.Errorf("Namespace() = %q", tp.Namespace())
	}
	c := newTestClient(t, tp)
	startTestWorker(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: tp.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range SearchAttributeNames() {
		if got := sa.GetCustomAttributes()[name]; got != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("search attribute %s has type %s, want Keyword", name, got)
		}
	}

	start := time.Now()
	id, err := runGreet(ctx, c, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("workflow + activity round trip: %s", time.Since(start).Round(time.Millisecond))
	if _, err := runGreet(ctx, c, "fabrikam"); err != nil {
		t.Fatal(err)
	}

	ids, err := listByTenant(ctx, c, "contoso", 1)
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != id {
		t.Errorf("query found %v, want [%s]", ids, id)
	}
	t.Logf("peak RSS of this test process: %.0f MiB", peakRSSMiB(t))
}

func TestTemporalDefaults(t *testing.T) {
	tp := startTestTemporal(t, TemporalOptions{Logger: nil})
	if tp.Namespace() != DefaultNamespace {
		t.Errorf("Namespace() = %q, want %q", tp.Namespace(), DefaultNamespace)
	}
	if !strings.HasPrefix(tp.HostPort(), "127.0.0.1:") {
		t.Errorf("HostPort() = %q, want 127.0.0.1:<port>", tp.HostPort())
	}
}

// The helper process runs a workflow against a file database and exits, so
// the restart test reopens the file in a fresh process, as `ssprflow dev` does.
const helperDBEnv = "DEVSTACK_HELPER_TEMPORAL_DB"

func TestTemporalHelperProcess(t *testing.T) {
	db := os.Getenv(helperDBEnv)
	if db == "" {
		t.Skip("helper process for TestTemporalRestartKeepsHistory")
	}
	tp := startTestTemporal(t, TemporalOptions{DBFile: db})
	c := newTestClient(t, tp)
	startTestWorker(t, c)
	greetNorthwind(t, c)
	t.Logf("helper peak RSS: %.0f MiB", peakRSSMiB(t))
}

// greetNorthwind runs greetWorkflow for tenant "northwind" and waits until
// visibility lists it: the history the restart test looks for after.
func greetNorthwind(t *testing.T, c client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := runGreet(ctx, c, "northwind"); err != nil {
		t.Fatal(err)
	}
	if _, err := listByTenant(ctx, c, "northwind", 1); err != nil {
		t.Fatal(err)
	}
}

func TestTemporalRestartKeepsHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server three times")
	}
	tests := []struct {
		name string
		// firstRun runs greetWorkflow for tenant "northwind" against db, then stops.
		firstRun func(t *testing.T, db string)
	}{
		{name: "same process", firstRun: func(t *testing.T, db string) {
			tp := startTestTemporal(t, TemporalOptions{DBFile: db})
			c := newTestClient(t, tp)
			stopWorker := startTestWorker(t, c)
			greetNorthwind(t, c)
			stopWorker()
			if err := tp.Stop(); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "new process", firstRun: func(t *testing.T, db string) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestTemporalHelperProcess$", "-test.v")
			cmd.Env = append(os.Environ(), helperDBEnv+"="+db)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper process: %v\n%s", err, out)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if strings.Contains(line, "helper peak RSS") || strings.Contains(line, "temporal ready") {
					t.Log("helper:", strings.TrimSpace(line))
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "state", "temporal.db") // parent dir is created
			tt.firstRun(t, db)

			tp := startTestTemporal(t, TemporalOptions{DBFile: db})
			c := newTestClient(t, tp)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			desc, err := c.DescribeWorkflowExecution(ctx, "greet-northwind", "")
			if err != nil {
				t.Fatalf("workflow lost across restart: %v", err)
			}
			if s := desc.GetWorkflowExecutionInfo().GetStatus(); s != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				t.Errorf("status after restart = %s, want Completed", s)
			}
			var result string
			if err := c.GetWorkflow(ctx, "greet-northwind", "").Get(ctx, &result); err != nil || result != "hello northwind" {
				t.Errorf("result after restart = %q, %v", result, err)
			}
			var events []enumspb.EventType
			it := c.GetWorkflowHistory(ctx, "greet-northwind", "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				e, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				events = append(events, e.GetEventType())
			}
			for _, want := range []enumspb.EventType{
				enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
				enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
			} {
				if !slices.Contains(events, want) {
					t.Errorf("history after restart lacks %s: %v", want, events)
				}
			}
			if _, err := listByTenant(ctx, c, "northwind", 1); err != nil {
				t.Errorf("visibility after restart: %v", err)
			}
		})
	}
}

func TestTemporalStopReleasesPorts(t *testing.T) {
	before := runtime.NumGoroutine()
	tp := startTestTemporal(t, TemporalOptions{})
	running := runtime.NumGoroutine()
	ports := slices.Clone(tp.ports)
	if len(ports) != 4 {
		t.Fatalf("server has %d ports, want 4 (frontend, history, matching, worker)", len(ports))
	}
	stopStart := time.Now()
	if err := tp.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop took %s", time.Since(stopStart).Round(time.Millisecond))
	if err := tp.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	assertPortsFree(t, ports)
	// Not asserted: the server leaves some goroutines behind (e.g. gRPC clients
	// that keep redialling), which this number shows.
	time.Sleep(time.Second)
	t.Logf("goroutines: %d before start, %d running, %d one second after Stop", before, running, runtime.NumGoroutine())
}

func TestTemporalFixedPort(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	tp := startTestTemporal(t, TemporalOptions{Port: port})
	if want := fmt.Sprintf("127.0.0.1:%d", port); tp.HostPort() != want {
		t.Errorf("HostPort() = %q, want %q", tp.HostPort(), want)
	}
}

func TestStartTemporalErrors(t *testing.T) {
	held, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = held.Close() })
	dir := t.TempDir()

	tests := []struct {
		name    string
		opts    TemporalOptions
		wantMsg string
		inUse   bool
	}{
		{name: "port in use", opts: TemporalOptions{Port: held.Addr().(*net.TCPAddr).Port}, wantMsg: "choose another port", inUse: true},
		{name: "port out of range", opts: TemporalOptions{Port: 70000}, wantMsg: "out of range"},
		{name: "db file is a directory", opts: TemporalOptions{DBFile: dir}, wantMsg: "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := StartTemporal(context.Background(), tt.opts)
			if err == nil {
				_ = tp.Stop()
				t.Fatal("StartTemporal: no error")
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			var inUse *PortInUseError
			if errors.As(err, &inUse) != tt.inUse {
				t.Errorf("errors.As(%v, *PortInUseError) = %v, want %v", err, !tt.inUse, tt.inUse)
			}
		})
	}

	// Ctrl-C during `ssprflow dev` start-up: StartTemporal returns at once and
	// stops the server in the background once it has started.
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		tp, err := StartTemporal(ctx, TemporalOptions{})
		if !errors.Is(err, context.Canceled) {
			if tp != nil {
				_ = tp.Stop()
			}
			t.Errorf("StartTemporal with a cancelled context = %v, want context.Canceled", err)
		}
	})
}
