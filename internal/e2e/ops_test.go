package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	enumspb "go.temporal.io/api/enums/v1"
	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/blob"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/devstack"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/localstack"
	"github.com/ssprflow/ssprflow/internal/natsproc"
	"github.com/ssprflow/ssprflow/internal/worker"
	"github.com/ssprflow/ssprflow/workflows"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := devstack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// readyz polls url until it answers code and returns the body and how long
// that took.
func readyz(t *testing.T, url string, code int, within time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == code {
				return string(b), time.Since(start)
			}
			err = fmt.Errorf("%d %s", resp.StatusCode, b)
		}
		if time.Since(start) > within {
			t.Fatalf("%s not %d after %v: %v", url, code, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// smallStack starts the local stack without a DC (Temporal, its NATS, the
// simulator) for tests that give the worker a NATS of their own.
func smallStack(t *testing.T, dir string) *localstack.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := localstack.StartStack(ctx, localstack.StackOptions{Dir: dir, SimAddr: "127.0.0.1:0", Users: 10, TimeScale: 3600,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	t.Setenv(envToken, st.Sim.Token())
	t.Setenv(envToken+"_PORTAL", st.Sim.PortalToken())
	return st
}

// TestWorkerStartRefusedOnStreamMismatch: on a three-node NATS cluster
// whose streams an earlier worker made with one replica (and which hold
// a message), ssprflow-worker configured for nats.streams.replicas: 3
// exits 1 before it polls, printing each stream, what differs and the
// nats stream edit that fixes it; the streams are unchanged afterwards.
// Configured for what the streams are (R1), the same worker starts.
func TestWorkerStartRefusedOnStreamMismatch(t *testing.T) {
	dir := t.TempDir()
	st := smallStack(t, dir)
	cl := natsproc.StartCluster(t, 3)
	js := cl.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := approval.EnsureStreams(ctx, js); err != nil { // as workers did before nats.streams
		t.Fatal(err)
	}
	if err := blob.EnsureStream(ctx, js); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "ssprflow.t.r.event.x", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	infos := func() map[string]*jetstream.StreamInfo {
		out := map[string]*jetstream.StreamInfo{}
		for _, name := range []string{approval.ApprovalsStream, approval.EventsStream, blob.Stream} {
			s, err := js.Stream(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			out[name] = s.CachedInfo()
		}
		return out
	}
	before := infos()

	cfg := localstack.SimConfig(st.SimURL, envToken, st.Temporal.HostPort(), cl.URLs(), 3600)
	st.Identity(cfg)
	st.Codec(cfg)
	cfg.NATS.Streams.Replicas = 3
	run := func(cfg *config.Config, wantCode int) string {
		t.Helper()
		path := filepath.Join(dir, "worker.yaml")
		b, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer wcancel()
		var stdout, stderr bytes.Buffer
		code := worker.Main(wctx, []string{"--config", path, "--log-level", "warn"}, &stdout, &stderr)
		if code != wantCode {
			t.Fatalf("ssprflow-worker exit %d, want %d:\n%s", code, wantCode, stderr.String())
		}
		return stderr.String()
	}
	out := run(cfg, 1)
	for _, name := range []string{approval.ApprovalsStream, approval.EventsStream, blob.Stream} {
		want := name + ": replicas is 1, configured 3; fix: nats stream edit " + name + " --replicas 3"
		if !strings.Contains(out, want) {
			t.Errorf("ssprflow-worker does not say %q:\n%s", want, out)
		}
	}
	t.Logf("ssprflow-worker exit 1:\n%s", out)
	after := infos()
	for name, b := range before {
		a := after[name]
		if a.Config.Replicas != 1 || !a.Created.Equal(b.Created) || a.State.Msgs != b.State.Msgs {
			t.Errorf("%s changed: replicas %d, created %v (was %v), %d messages (was %d)", name, a.Config.Replicas, a.Created, b.Created, a.State.Msgs, b.State.Msgs)
		}
	}

	// Configured as the streams are, the same worker starts.
	cfg.NATS.Streams.Replicas = 1
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- worker.Run(wctx, cfg, worker.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("worker with nats.streams as the streams are: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("worker did not start")
	}
	wcancel()
	if err := <-done; err != nil {
		t.Errorf("worker stop: %v", err)
	}
}

// TestWorkerReadyzNATSRestart: the whole worker (worker.Run, on the
// embedded Temporal server) with its NATS being a real nats-server process:
// /readyz is 200 once it polls; the nats-server is SIGKILLed and /readyz
// turns 503 naming NATS; it restarts on the same port and store directory,
// the worker's connection reconnects by itself (dial.NATS: reconnect
// forever) and /readyz is 200 again, the worker never having stopped.
func TestWorkerReadyzNATSRestart(t *testing.T) {
	dir := t.TempDir()
	st := smallStack(t, dir)
	natsAddr := freeAddr(t)
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("listen: %s\njetstream { store_dir: %q }\n", natsAddr, filepath.Join(dir, "nats-js"))), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := natsproc.Run(t, conf, natsAddr, os.Environ())

	cfg := localstack.SimConfig(st.SimURL, envToken, st.Temporal.HostPort(), srv.URL(), 3600)
	st.Identity(cfg)
	st.Codec(cfg)
	health := freeAddr(t)
	cfg.Health = &config.Health{Listen: health}
	cfg.ShutdownTimeout = 5 * time.Second
	wctx, wcancel := context.WithCancel(context.Background())
	done, ready := make(chan error, 1), make(chan struct{})
	go func() {
		done <- worker.Run(wctx, cfg, worker.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func() { close(ready) }})
	}()
	t.Cleanup(func() { wcancel(); <-done })
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("worker: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("worker did not start")
	}
	url := "http://" + health + "/readyz"
	_, took := readyz(t, url, http.StatusOK, 10*time.Second)
	t.Logf("worker ready %v after Ready", took.Round(time.Millisecond))

	srv.Kill()
	body, took := readyz(t, url, http.StatusServiceUnavailable, 10*time.Second)
	if !strings.Contains(body, "NATS: not connected") {
		t.Errorf("unready without naming NATS: %q", body)
	}
	t.Logf("nats-server killed: /readyz 503 after %v: %s", took.Round(time.Millisecond), strings.TrimSpace(body))
	resp, err := http.Get("http://" + health + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz while NATS is down: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	srv.Restart()
	_, took = readyz(t, url, http.StatusOK, 20*time.Second)
	t.Logf("nats-server restarted: /readyz 200 after %v", took.Round(time.Millisecond))
	select {
	case err := <-done:
		t.Fatalf("the worker stopped while NATS was away: %v", err)
	default:
	}
}

// TestWorkerSIGTERMMidStage: SIGTERM to a worker process while a step's
// activity runs. The process stops polling and exits within its
// shutdownTimeout (plus the few seconds the rest of the shutdown takes);
// a new worker finishes the rollout and every change is applied exactly
// once (the simulator's write audit, the DACL).
//
//   - within: Graph writes take 400 ms and the bound is 20 s: the running
//     activity finishes on the stopping worker, so no activity of the
//     rollout ever runs a second attempt.
//   - beyond: Graph writes take 6 s and the bound is 2 s: the stopping
//     worker cancels the activity when the bound is up; Temporal retries it
//     on the new worker, and the idempotent activity still applies each
//     change once.
func TestWorkerSIGTERMMidStage(t *testing.T) {
	for _, tc := range []struct {
		name        string
		latency     string
		bound       time.Duration
		wantRetries bool
	}{
		{"within", "400ms", 20 * time.Second, false},
		{"beyond", "6s", 2 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			faults, err := entrasim.ParseFaults("path=/v1.0/*;method=POST,PATCH,PUT;latency=" + tc.latency)
			if err != nil {
				t.Fatal(err)
			}
			e.stack.Sim.SetFaults(faults)
			e.cfg.ShutdownTimeout = tc.bound
			first := e.startWorkerProcess()
			p := e.plan(nil)
			id := e.start(p)
			// SIGTERM while AddRoster (the member writes) runs on the first worker.
			e.waitActivityRunning(id, "AddRoster", 2*time.Minute)
			sent := time.Now()
			t.Logf("%s SIGTERM", sent.UTC().Format("15:04:05.000"))
			if err := first.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			state, _ := first.Process.Wait()
			took := time.Since(sent)
			t.Logf("SIGTERM: worker exited (%v) after %v, bound %v", state, took.Round(time.Millisecond), tc.bound)
			if took > tc.bound+10*time.Second {
				t.Errorf("worker took %v to exit after SIGTERM, bound %v", took, tc.bound)
			}
			if state == nil || !state.Success() {
				t.Errorf("worker exit after SIGTERM: %v, want 0", state)
			}
			restarted := time.Now()
			e.startWorkerProcess()
			st := e.wait(id, 4*time.Minute, ended)
			if st.Status != workflows.StatusSucceeded {
				t.Fatalf("status %s (%s)", st.Status, st.LastError)
			}
			t.Logf("rollout ended %v after the new worker started", time.Since(restarted).Round(time.Millisecond))
			e.assertAppliedOnce(p)

			retried := 0
			it := e.tc.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 {
					retried++
					t.Logf("activity attempt %d started %v after the SIGTERM", a.GetAttempt(), ev.GetEventTime().AsTime().Sub(sent).Round(time.Millisecond))
				}
			}
			t.Logf("activity attempts after the first: %d", retried)
			if tc.wantRetries {
				// The cancelled activity's error line names the rollout: the
				// SDK's logger (slog JSON) tags WorkflowID, sspr/<tenant>/<rollout>.
				logs, _ := filepath.Glob(filepath.Join(e.dir, "worker-*.log"))
				found := false
				for _, f := range logs {
					b, _ := os.ReadFile(f)
					for _, line := range strings.Split(string(b), "\n") {
						if strings.Contains(line, `"WorkflowID":"`+id+`"`) && strings.Contains(line, `"ActivityType":"AddRoster"`) {
							found = true
							t.Logf("worker log: %.300s", line)
							break
						}
					}
				}
				if !found {
					t.Errorf("no worker log line about the cancelled AddRoster names the rollout %s", id)
				}
			}
			if (retried > 0) != tc.wantRetries {
				t.Errorf("%d activity retries, want retries: %v", retried, tc.wantRetries)
			}
		})
	}
}

// waitActivityRunning waits until the rollout id has a started activity of
// type name pending (a worker runs it now).
func (e *env) waitActivityRunning(id, name string, within time.Duration) {
	e.t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		d, err := e.tc.DescribeWorkflowExecution(context.Background(), id, "")
		if err != nil {
			continue
		}
		for _, a := range d.GetPendingActivities() {
			if a.GetActivityType().GetName() == name && a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				return
			}
		}
	}
	e.t.Fatalf("activity %s of %s never ran", name, id)
}
