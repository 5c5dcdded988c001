package devstack

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func startTestNATS(t *testing.T, opts NATSOptions) *NATS {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := StartNATS(ctx, opts)
	if err != nil {
		t.Fatalf("StartNATS: %v", err)
	}
	t.Cleanup(n.Stop)
	return n
}

func connect(t *testing.T, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	// Without a handler nats.go prints async errors (expected ones here:
	// violations, the restart's reset connection) to stderr.
	opts = append([]nats.Option{nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func userURL(t *testing.T, n *NATS, user string) string {
	t.Helper()
	u, err := n.ClientURL(user)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestNATSPermissions(t *testing.T) {
	n := startTestNATS(t, NATSOptions{Users: []NATSUser{
		{Name: "bridge", Password: "bridge-pw"},
		{Name: "alice", Password: "alice-pw",
			Publish:   []string{"ssprflow.approval.decision.alice"},
			Subscribe: []string{"ssprflow.approval.request.>"}},
		{Name: "auditor", Password: "auditor-pw", Publish: []string{}, Subscribe: []string{"ssprflow.>"}},
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	bridge := connect(t, userURL(t, n, "bridge"))
	js, err := jetstream.New(bridge)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "APPROVALS", Subjects: []string{"ssprflow.approval.>"}})
	if err != nil {
		t.Fatalf("create stream: %v", err)
	}

	tests := []struct {
		name, user, subject string
		wantViolation       bool
	}{
		{name: "own decision subject", user: "alice", subject: "ssprflow.approval.decision.alice"},
		{name: "another approver's subject", user: "alice", subject: "ssprflow.approval.decision.bob", wantViolation: true},
		{name: "outside approvals", user: "alice", subject: "ssprflow.events.step", wantViolation: true},
		{name: "empty publish list allows nothing", user: "auditor", subject: "ssprflow.approval.decision.alice", wantViolation: true},
		{name: "no limits", user: "bridge", subject: "ssprflow.approval.request.r1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := make(chan error, 4)
			nc := connect(t, userURL(t, n, tt.user), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
			if err := nc.Publish(tt.subject, []byte("approve")); err != nil {
				t.Fatal(err)
			}
			// The server answers a violation asynchronously; a round trip after
			// the publish makes sure it has been processed.
			if err := nc.FlushTimeout(5 * time.Second); err != nil {
				t.Fatal(err)
			}
			var got error
			select {
			case got = <-errs:
			case <-time.After(200 * time.Millisecond):
			}
			if tt.wantViolation != errors.Is(got, nats.ErrPermissionViolation) {
				t.Errorf("publish %s as %s: async error %v, want violation %v", tt.subject, tt.user, got, tt.wantViolation)
			}
		})
	}

	// Only the two allowed publishes reached the stream.
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("stream holds %d messages, want 2 (alice's decision and the bridge's request)", info.State.Msgs)
	}

	t.Run("subscribe outside allowed subjects", func(t *testing.T) {
		nc := connect(t, userURL(t, n, "alice"), nats.PermissionErrOnSubscribe(true))
		sub, err := nc.SubscribeSync("ssprflow.approval.decision.>")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sub.NextMsg(2 * time.Second); !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("NextMsg = %v, want permissions violation", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := nats.Connect(n.URL(), nats.UserInfo("alice", "wrong"), nats.MaxReconnects(0))
		if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("connect with a wrong password: %v, want authorization violation", err)
		}
	})
	t.Run("unknown user url", func(t *testing.T) {
		if _, err := n.ClientURL("mallory"); err == nil {
			t.Error("ClientURL(mallory): no error")
		}
	})
}

func TestNATSRestartKeepsStream(t *testing.T) {
	store := t.TempDir()
	n := startTestNATS(t, NATSOptions{StoreDir: store})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	reconnected := make(chan struct{}, 1)
	nc := connect(t, n.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "EVENTS", Subjects: []string{"ssprflow.events.>"}, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "EVENTS", jetstream.ConsumerConfig{Durable: "bridge", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "ssprflow.events.before", []byte("1")); err != nil {
		t.Fatal(err)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}

	// A consumer waits across the restart and gets the message published after it.
	got := make(chan string, 1)
	go func() {
		for ctx.Err() == nil {
			m, err := cons.Next(jetstream.FetchMaxWait(time.Second))
			if err != nil {
				continue // expected while the server is down
			}
			_ = m.Ack()
			got <- m.Subject()
			return
		}
	}()
	url := n.URL()
	if err := n.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if n.URL() != url {
		t.Errorf("URL changed across restart: %s -> %s", url, n.URL())
	}
	// Publishing before the client has noticed the restart could write to the
	// dead connection, and a lost publish waits for its ack until ctx ends.
	select {
	case <-reconnected:
	case <-ctx.Done():
		t.Fatal("client did not reconnect after restart")
	}
	if _, err := js.Publish(ctx, "ssprflow.events.after", []byte("2")); err != nil {
		t.Fatalf("publish after restart: %v", err)
	}
	select {
	case s := <-got:
		if s != "ssprflow.events.after" {
			t.Errorf("waiting consumer got %s, want ssprflow.events.after", s)
		}
	case <-ctx.Done():
		t.Fatal("waiting consumer got nothing after restart")
	}

	// A full stop and a new server on the same store keep the stream too.
	n.Stop()
	n2 := startTestNATS(t, NATSOptions{StoreDir: store})
	js2, err := jetstream.New(connect(t, n2.URL()))
	if err != nil {
		t.Fatal(err)
	}
	s, err := js2.Stream(ctx, "EVENTS")
	if err != nil {
		t.Fatalf("stream lost across stop and start: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("stream holds %d messages after restart, want 2", info.State.Msgs)
	}
	if _, err := s.Consumer(ctx, "bridge"); err != nil {
		t.Errorf("durable consumer lost: %v", err)
	}
}

func TestNATSStopReleasesPortAndTempStore(t *testing.T) {
	n := startTestNATS(t, NATSOptions{})
	store := n.StoreDir()
	if _, err := os.Stat(store); err != nil {
		t.Fatalf("temp store: %v", err)
	}
	port := n.srv.Addr().(*net.TCPAddr).Port
	n.Stop()
	n.Stop() // idempotent
	assertPortsFree(t, []int{port})
	if _, err := os.Stat(store); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp store %s still there after Stop: %v", store, err)
	}
	if err := n.Restart(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("Restart after Stop = %v, want ErrStopped", err)
	}
}

func TestStartNATSErrors(t *testing.T) {
	held, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = held.Close() })
	tests := []struct {
		name    string
		opts    NATSOptions
		wantMsg string
	}{
		{name: "port in use", opts: NATSOptions{Port: held.Addr().(*net.TCPAddr).Port}, wantMsg: "choose another port"},
		{name: "user without password", opts: NATSOptions{Users: []NATSUser{{Name: "alice"}}}, wantMsg: `user "alice": password is empty`},
		{name: "user without name", opts: NATSOptions{Users: []NATSUser{{Password: "x"}}}, wantMsg: "users[0]: name is empty"},
		{name: "duplicate user", opts: NATSOptions{Users: []NATSUser{{Name: "a", Password: "x"}, {Name: "a", Password: "y"}}}, wantMsg: "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := StartNATS(context.Background(), tt.opts)
			if err == nil {
				n.Stop()
				t.Fatal("StartNATS: no error")
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestNATSUserOptionsCopied(t *testing.T) {
	users := []NATSUser{{Name: "alice", Password: "pw", Publish: []string{"a"}}}
	n := startTestNATS(t, NATSOptions{Users: users})
	users[0].Password = "changed"
	if u, _ := n.ClientURL("alice"); !strings.Contains(u, ":pw@") {
		t.Errorf("ClientURL = %q: the caller's later edits leaked in", u)
	}
	if !slices.Equal(subjectPermission([]string{}).Deny, []string{">"}) {
		t.Error("an empty subject list must deny everything")
	}
}
