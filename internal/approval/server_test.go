package approval

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// testPassword is the password of every user of the in-process server.
const testPassword = "test-only-password"

// testServer is a real nats-server with JetStream, run in-process on a
// random port with its store in a temp dir.
type testServer struct {
	opts *server.Options
	srv  *server.Server
}

func startTestServer(t testing.TB) *testServer {
	t.Helper()
	// The worker's own permissions, except that tests name their bridge
	// consumers "test-<random>", delete them afterwards and read stored
	// messages back (deploy_test.go checks the worker's exact lists).
	svc := workerPermissions("svc", DefaultDurable)
	svc.Publish = append(svc.Publish, jsAPI+"CONSUMER.>", "$JS.ACK.>", jsAPI+"STREAM.MSG.GET.*")
	users := []*server.User{{Username: "svc", Password: testPassword, Permissions: serverPermissions(svc)}}
	for _, a := range []string{"alice", "bob"} {
		users = append(users, &server.User{Username: a, Password: testPassword, Permissions: serverPermissions(mustRole(t, RoleApprover, a))})
	}
	users = append(users, &server.User{Username: "ops", Password: testPassword, Permissions: serverPermissions(mustRole(t, RoleOperator, "ops"))})
	ts := &testServer{opts: &server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		NoLog:     true,
		NoSigs:    true,
		JetStream: true,
		StoreDir:  t.TempDir(),
		Users:     users,
	}}
	ts.start(t)
	// Keep the port so clients reconnect to a restarted server.
	ts.opts.Port = ts.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(ts.stop)
	return ts
}

func mustRole(t testing.TB, r Role, id string) Permissions {
	t.Helper()
	p, err := RolePermissions(r, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// serverPermissions is what the dev stack (internal/devstack) builds from
// Permissions, for the in-process server.
func serverPermissions(p Permissions) *server.Permissions {
	sp := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: p.Publish},
		Subscribe: &server.SubjectPermission{Allow: p.Subscribe},
	}
	if p.AllowResponses {
		sp.Response = &server.ResponsePermission{MaxMsgs: 1, Expires: 2 * time.Minute}
	}
	return sp
}

func (ts *testServer) start(t testing.TB) {
	t.Helper()
	srv, err := server.NewServer(ts.opts)
	if err != nil {
		t.Fatalf("new nats server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	ts.srv = srv
}

func (ts *testServer) stop() {
	ts.srv.Shutdown()
	ts.srv.WaitForShutdown()
}

// restart stops the server and starts a new one on the same port and store.
func (ts *testServer) restart(t testing.TB) {
	t.Helper()
	ts.stop()
	ts.start(t)
}

func (ts *testServer) url() string { return ts.srv.ClientURL() }

// env is what a test talks to: the in-process server (srv non-nil) or, when
// NATS_URL is set, an external server without our users.
type env struct {
	srv *testServer
	url string
	// svc is the worker's connection; js uses it.
	svc *nats.Conn
	js  jetstream.JetStream
	// tenant and rollout are unique per test, so tests sharing an external
	// server do not see each other's messages.
	tenant, rollout string
}

func external() string { return os.Getenv("NATS_URL") }

// workflowID is the id of the rollout workflow of e's tenant and rollout.
func (e *env) workflowID() string { return "sspr/" + e.tenant + "/" + e.rollout }

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{tenant: "t" + randHex(4), rollout: "r" + randHex(6)}
	if u := external(); u != "" {
		e.url = u
	} else {
		e.srv = startTestServer(t)
		e.url = e.srv.url()
	}
	e.svc, e.js = e.connect(t, "svc")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := EnsureStreams(ctx, e.js); err != nil {
		t.Fatalf("EnsureStreams: %v", err)
	}
	return e
}

// connect opens a connection as user (ignored on an external server). An
// approver's connection uses its own inbox prefix, as its permissions
// require.
func (e *env) connect(t testing.TB, user string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	opts := []nats.Option{
		nats.Name("approval-test-" + user),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}),
	}
	if e.srv != nil {
		opts = append(opts, nats.UserInfo(user, testPassword))
	}
	if user != "svc" {
		// The worker answers people on their own inbox only.
		opts = append(opts, nats.CustomInboxPrefix(InboxPrefix(user)))
	}
	nc, err := nats.Connect(e.url, opts...)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

func needInProcess(t testing.TB) {
	if external() != "" {
		t.Skip("needs the in-process server (users, restarts); NATS_URL is set")
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runBridge runs b until the test ends or the returned stop is called; stop
// waits for Run to return and returns its error.
func runBridge(t testing.TB, b *Bridge) (ctx context.Context, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				err = errors.New("bridge did not stop")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return ctx, stop
}

// newTestBridge returns a bridge with a durable unique to the test and
// short timings.
func (e *env) newTestBridge(t testing.TB, d Decider, opts BridgeOptions) *Bridge {
	t.Helper()
	if opts.Durable == "" {
		opts.Durable = "test-" + randHex(6)
	}
	if opts.FilterSubject == "" {
		// Only this test's decisions, also on a shared NATS_URL server.
		opts.FilterSubject = Prefix + "." + e.tenant + "." + e.rollout + ".approval.decision.*"
	}
	if opts.AckWait == 0 {
		opts.AckWait = 2 * time.Second
	}
	if opts.RetryDelay == 0 {
		opts.RetryDelay = 20 * time.Millisecond
	}
	durable := opts.Durable
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.js.DeleteConsumer(ctx, ApprovalsStream, durable)
	})
	return NewBridge(e.js, e.svc, d, opts)
}

// fakeDecider stands in for the workflow's Update: it applies each decision
// id of its own rollout once, refuses gates other than "pilot", and can fail
// its first calls.
type fakeDecider struct {
	tenant, rollout string
	mu              sync.Mutex
	calls           int
	failFirst       int
	applied         map[string]Verdict
}

func newFakeDecider(e *env) *fakeDecider {
	return &fakeDecider{tenant: e.tenant, rollout: e.rollout, applied: map[string]Verdict{}}
}

func (f *fakeDecider) Decide(ctx context.Context, tenant, rollout string, d Decision) (Verdict, error) {
	if tenant != f.tenant || rollout != f.rollout {
		// Another test's decision on a shared external server.
		return Verdict{Accepted: false, Reason: "unknown rollout"}, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.failFirst {
		return Verdict{}, fmt.Errorf("temporal unavailable (call %d)", f.calls)
	}
	key := d.Approver + "/" + d.ID
	if v, ok := f.applied[key]; ok {
		return v, nil
	}
	if d.Gate != "pilot" {
		return Verdict{Accepted: false, Reason: "no open gate " + d.Gate, GateState: "none"}, nil
	}
	v := Verdict{Accepted: true, GateState: map[string]string{VerdictApprove: "approved", VerdictReject: "rejected"}[d.Verdict]}
	f.applied[key] = v
	return v, nil
}

func (f *fakeDecider) stats() (calls, distinct int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, len(f.applied)
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
