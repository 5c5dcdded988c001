package approval

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/blob"
	"github.com/ssprflow/ssprflow/internal/dial"
	"github.com/ssprflow/ssprflow/internal/natsproc"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"
)

var (
	update     = flag.Bool("update", false, "rewrite deploy/nats.conf and deploy/nsc-users.sh from RolePermissions")
	natsOut    = flag.String("nats-out", "", "write nats.conf and nsc-users.sh for -approvers/-operators into this directory (instead of checking the shipped files)")
	approversF = flag.String("approvers", "", "comma-separated approver ids, with -nats-out")
	operatorsF = flag.String("operators", "", "comma-separated operator ids, with -nats-out")
	workerF    = flag.String("worker-user", "", "the worker's NATS user, with -nats-out (default ssprflow-worker)")
)

// TestDeployNATSConf checks that deploy/nats.conf and deploy/nsc-users.sh
// are what RolePermissions renders for ShippedDeployment; -update rewrites
// them, -nats-out renders them for other people.
func TestDeployNATSConf(t *testing.T) {
	d, dir := ShippedDeployment, filepath.Join("..", "..", "deploy")
	if *natsOut != "" {
		d = Deployment{WorkerUser: *workerF, Approvers: ParseIDs(*approversF), Operators: ParseIDs(*operatorsF)}
		dir = *natsOut
	}
	conf, err := RenderServerConfig(d)
	if err != nil {
		t.Fatal(err)
	}
	nsc, err := RenderNSCCommands(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{"nats.conf", conf, 0o644}, {"nsc-users.sh", nsc, 0o755}} {
		path := filepath.Join(dir, f.name)
		if *update || *natsOut != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, f.data, f.mode); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", path)
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.data) {
			t.Errorf("%s is not what RolePermissions renders: run go test ./internal/approval -run TestDeployNATSConf -update", path)
		}
	}
}

func TestDeploymentUsers(t *testing.T) {
	users, err := Deployment{Approvers: []string{"carol", "alice"}, Operators: []string{"carol", "ops1"}}.Users()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if !slices.Equal(names, []string{DefaultWorkerUser, "carol", "alice", "ops1"}) {
		t.Fatalf("users %v", names)
	}
	carol := users[1]
	if !slices.Equal(carol.Roles, []Role{RoleApprover, RoleOperator}) || !slices.Contains(carol.Publish, "ssprflow.*.*.start.carol") ||
		!slices.Contains(carol.Publish, "ssprflow.*.*.approval.decision.carol") || carol.PasswordEnv != "CAROL_NATS_PASSWORD" {
		t.Fatalf("carol, approver and operator: %+v", carol)
	}
	for name, d := range map[string]Deployment{
		"wildcard id":      {Approvers: []string{"*"}},
		"dotted id":        {Operators: []string{"a.b"}},
		"worker as person": {Approvers: []string{DefaultWorkerUser}},
		"env collision":    {Approvers: []string{"a-b", "a_b"}},
		"worker env":       {Approvers: []string{"ssprflow"}},
	} {
		if _, err := d.Users(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestRolePermissions checks the rules every list must keep, whatever is
// added to it later.
func TestRolePermissions(t *testing.T) {
	mutating := []string{"STREAM.CREATE", "STREAM.UPDATE", "STREAM.DELETE", "STREAM.PURGE", "STREAM.MSG.DELETE",
		"CONSUMER.CREATE", "CONSUMER.DURABLE.CREATE", "CONSUMER.DELETE", "CONSUMER.PAUSE", "CONSUMER.RESET", "CONSUMER.UNPIN"}
	for _, role := range []Role{RoleApprover, RoleOperator} {
		p := mustRole(t, role, "alice")
		for _, s := range p.Publish {
			// Operators upload plans and member files to the blob store,
			// whose stream refuses to replace a stored message.
			if role == RoleOperator && (s == blob.Subjects || s == blob.DirectGet) {
				continue
			}
			if strings.HasPrefix(s, "$JS.") && s != directGetEvents {
				t.Errorf("%s may publish %q: people get no JetStream API but the events' direct get", role, s)
			}
			if strings.Contains(s, ApprovalsStream) || strings.Contains(s, ">") || (strings.Contains(s, "*") && !strings.HasSuffix(s, ".alice")) {
				t.Errorf("%s may publish %q", role, s)
			}
		}
		for _, s := range p.Subscribe {
			if strings.Contains(s, "decision") || strings.Contains(s, "request") || strings.Contains(s, "start") || strings.HasPrefix(s, "$") ||
				(strings.Contains(s, "verdict") && s != "ssprflow.*.*.approval.verdict.alice.*") || (strings.HasPrefix(s, "_INBOX") && s != "_INBOX_alice.>") {
				t.Errorf("%s may subscribe %q", role, s)
			}
		}
		if p.AllowResponses {
			t.Errorf("%s may answer requests", role)
		}
	}
	w := mustRole(t, RoleWorker, "")
	for _, s := range w.Publish {
		if strings.Contains(s, "decision") || strings.Contains(s, ".start.") || strings.Contains(s, ".pending.") || s == "$JS.API.>" {
			t.Errorf("worker may publish %q", s)
		}
		for _, m := range mutating {
			if strings.HasPrefix(s, jsAPI+m+".") && !strings.Contains(s, ApprovalsStream+"."+DefaultDurable) &&
				s != jsAPI+m+"."+ApprovalsStream && s != jsAPI+m+"."+EventsStream && s != jsAPI+m+"."+blob.Stream {
				t.Errorf("worker may publish %q", s)
			}
			if strings.Contains(m, "DELETE") || strings.Contains(m, "PURGE") {
				if strings.HasPrefix(s, jsAPI+m) {
					t.Errorf("worker may %s: %q", m, s)
				}
			}
		}
	}
	if !w.AllowResponses {
		t.Error("the worker cannot answer start requests")
	}
	if _, err := RolePermissions("auditor", "x"); err == nil {
		t.Error("unknown role accepted")
	}
	if _, err := RolePermissions(RoleApprover, "a.>"); err == nil {
		t.Error("wildcard id accepted")
	}
}

func TestReplyAllowed(t *testing.T) {
	tests := []struct {
		reply, user string
		want        bool
	}{
		{"_INBOX_ops1.abc123.1", "ops1", true},
		{"_INBOX_ops1.x", "ops1", true},
		{"_INBOX_ops1", "ops1", false},
		{"_INBOX_ops1.", "ops1", false},
		{"_INBOX_ops1..x", "ops1", false},
		{"_INBOX_ops1.*", "ops1", false},
		{"_INBOX_ops1.>", "ops1", false},
		{"_INBOX_ops1.a b", "ops1", false},
		{"_INBOX_ops10.x", "ops1", false},
		{"_INBOX_alice.x", "ops1", false},
		{"_INBOX.x", "ops1", false},
		{"ssprflow.t.r2.event.rollout.succeeded", "ops1", false},
		{"", "ops1", false},
		{"_INBOX_*.x", "*", false},
	}
	for _, tt := range tests {
		if got := ReplyAllowed(tt.reply, tt.user); got != tt.want {
			t.Errorf("ReplyAllowed(%q, %q) = %t", tt.reply, tt.user, got)
		}
	}
}

// shippedServer is /usr/sbin/nats-server run with deploy/nats.conf.
type shippedServer struct {
	url       string
	passwords map[string]string
}

// startShippedServer runs the real nats-server binary with the shipped
// configuration (SSPRFLOW_TEST_NATS_CONF names another file, e.g. an older
// one, to see it fail) on a free port and a temporary store. Passwords are
// given to the server as bcrypt hashes, as deploy/README.md recommends.
func startShippedServer(t *testing.T) *shippedServer {
	t.Helper()
	conf := filepath.Join("..", "..", "deploy", "nats.conf")
	if c := os.Getenv("SSPRFLOW_TEST_NATS_CONF"); c != "" {
		conf = c
	}
	users, err := ShippedDeployment.Users()
	if err != nil {
		t.Fatal(err)
	}
	s := &shippedServer{passwords: map[string]string{}}
	env := os.Environ()
	for _, u := range users {
		pw := u.Name + "-" + randHex(8)
		hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		s.passwords[u.Name] = pw
		env = append(env, u.PasswordEnv+"="+string(hash))
	}
	port := natsproc.FreePort(t)
	// nats-server 2.9 refuses -sd next to the file's store_dir ("Duplicate
	// 'store_dir' configuration"): run a copy that differs in that line only.
	raw, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	const storeLine = "jetstream { store_dir: /data }"
	if !bytes.Contains(raw, []byte(storeLine)) {
		t.Fatalf("%s has no %q line to point at a temporary store", conf, storeLine)
	}
	conf = filepath.Join(t.TempDir(), "nats.conf")
	raw = bytes.Replace(raw, []byte(storeLine), []byte("jetstream { store_dir: "+strconv.Quote(t.TempDir())+" }"), 1)
	// The included TLS block needs the deployment's certificates; what is
	// tested here is the users and their permissions.
	for _, inc := range ShippedDeployment.Includes {
		raw = bytes.Replace(raw, []byte("include "+strconv.Quote(inc)+"\n"), nil, 1)
	}
	if err := os.WriteFile(conf, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	natsproc.Start(t, conf, addr, env, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	s.url = "nats://" + addr
	return s
}

// connect logs in as user; people use their own inbox prefix, as the CLI does.
func (s *shippedServer) connect(t *testing.T, user string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	opts := []nats.Option{nats.UserInfo(user, s.passwords[user]), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})}
	if user != DefaultWorkerUser {
		opts = append(opts, nats.CustomInboxPrefix(InboxPrefix(user)))
	}
	nc, err := nats.Connect(s.url, opts...)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// syncBuffer is a log sink shared by the service goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type fixedPending struct{}

func (fixedPending) Pending(_ context.Context, tenant, rollout, user string) (PendingReply, error) {
	return PendingReply{WorkflowID: "sspr/" + tenant + "/" + rollout, Person: user}, nil
}

// refusedPub publishes on subject with a reply inbox and reports whether the
// server refused it (the refusal arrives before the flush's answer).
func refusedPub(t *testing.T, nc *nats.Conn, subject string, body []byte) bool {
	t.Helper()
	inbox := nc.NewRespInbox()
	if err := nc.PublishRequest(subject, inbox, body); err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	return dial.PermissionError(nc, subject) != nil
}

// refusedSub subscribes to subject and reports whether the server refused it.
func refusedSub(t *testing.T, nc *nats.Conn, subject string) bool {
	t.Helper()
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		return true // refused by the client already
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	return dial.PermissionError(nc, subject) != nil
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestShippedNATSConfRefusesAttacks runs the real nats-server with the
// shipped deploy/nats.conf and tries, as approver alice, operator ops1 and
// the worker, every way around the decision subjects found in issue 11: all
// are refused, and the worker, reading the state back, finds the streams,
// the bridge consumer and the stored messages intact. The same users can
// still do their work.
func TestShippedNATSConfRefusesAttacks(t *testing.T) {
	srv := startShippedServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tenant, rollout := "t"+randHex(3), "r"+randHex(3)

	// The worker: streams, bridge, start and pending services, an event.
	wnc, wjs := srv.connect(t, DefaultWorkerUser)
	for range 2 { // create, then update
		if err := EnsureStreams(ctx, wjs); err != nil {
			t.Fatalf("worker EnsureStreams: %v", err)
		}
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	fake := &fakeDecider{tenant: tenant, rollout: rollout, applied: map[string]Verdict{}}
	runBridge(t, NewBridge(wjs, wnc, fake, BridgeOptions{Logger: logger, AckWait: 5 * time.Second}))
	sctx, stopServices := context.WithCancel(context.Background())
	t.Cleanup(stopServices)
	starter := fixedStarter{got: make(chan string, 4)}
	go func() { _ = ServeStarts(sctx, wnc, starter, logger) }()
	go func() { _ = ServePending(sctx, wnc, fixedPending{}, logger) }()
	src := "/ssprflow/" + tenant + "/" + rollout
	if err := PublishEvent(ctx, wjs, tenant, rollout, NewEvent("rollout.started", src, "", nil)); err != nil {
		t.Fatalf("worker PublishEvent: %v", err)
	}

	// Alice decides through the bridge and gets her verdict; she and ops1
	// read the audit trail.
	anc, ajs := srv.connect(t, "alice")
	v, err := PublishDecision(ctx, anc, ajs, tenant, rollout, "alice", Decision{Gate: "pilot", Verdict: VerdictApprove}, 20*time.Second)
	if err != nil || !v.Accepted {
		t.Fatalf("alice's decision: %+v, %v", v, err)
	}
	onc, ojs := srv.connect(t, "ops1")
	for who, js := range map[string]jetstream.JetStream{"alice": ajs, "ops1": ojs, "worker": wjs} {
		evs, err := ListEvents(ctx, js, tenant, rollout)
		if err != nil || len(evs) != 2 || evs[0].Type != EventTypePrefix+"rollout.started" || evs[1].Type != EventTypePrefix+string(KindDecision) {
			t.Errorf("ListEvents as %s: %d events, %v", who, len(evs), err)
		}
	}
	followed := make(chan Event, 8)
	fctx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	go func() {
		_ = FollowEvents(fctx, ajs, tenant, rollout, func(ev Event) error { followed <- ev; return nil })
	}()
	live := NewEvent("step.completed", src, "pilot-group", nil)
	if err := PublishEvent(ctx, wjs, tenant, rollout, live); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		select {
		case ev := <-followed:
			if i == 2 && ev.ID != live.ID {
				t.Fatalf("followed %+v, want the live event", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("alice following: event %d missing", i)
		}
	}
	stopFollow()
	// ops1 starts a rollout and both ask what is pending, answered on
	// their own inboxes.
	if r, err := RequestStart(ctx, onc, tenant, rollout, "ops1", StartRequest{Plan: []byte("good")}, 10*time.Second); err != nil || r.Error != "" {
		t.Fatalf("ops1 start: %+v, %v", r, err)
	}
	<-starter.got
	for who, nc := range map[string]*nats.Conn{"alice": anc, "ops1": onc} {
		if r, err := RequestPending(ctx, nc, tenant, rollout, who, 10*time.Second); err != nil || r.Person != who {
			t.Errorf("%s pending: %+v, %v", who, r, err)
		}
	}

	before := approvalsState(ctx, t, wjs, tenant, rollout)
	eventsBefore := streamMsgs(ctx, t, wjs, EventsStream)

	// Every attack, as each user.
	bobDecision := mustSubject(DecisionSubject(tenant, rollout, "bob"))
	narrowed := ApprovalsStreamConfig()
	narrowed.Subjects = []string{RequestSubjects}
	evil := jetstream.StreamConfig{Name: "EVIL", Subjects: []string{"evil.>"}, RePublish: &jetstream.RePublish{Source: ">", Destination: bobDecision}}
	pushCfg := map[string]any{"stream_name": EventsStream, "config": map[string]any{
		"durable_name": "spy", "deliver_subject": bobDecision, "ack_policy": "none", "deliver_policy": "all"}}
	jsAttacks := []struct {
		name, subject string
		body          []byte
	}{
		{"list streams", jsAPI + "STREAM.LIST", nil},
		{"stream names", jsAPI + "STREAM.NAMES", nil},
		{"account info", jsAPI + "INFO", nil},
		{"stream info of APPROVALS", jsAPI + "STREAM.INFO." + ApprovalsStream, nil},
		{"consumer create on APPROVALS", jsAPI + "CONSUMER.CREATE." + ApprovalsStream, jsonBody(t, map[string]any{"stream_name": ApprovalsStream, "config": map[string]any{"ack_policy": "none"}})},
		{"named consumer on APPROVALS", jsAPI + "CONSUMER.CREATE." + ApprovalsStream + ".spy." + DecisionSubjects, jsonBody(t, map[string]any{"stream_name": ApprovalsStream, "config": map[string]any{"name": "spy", "filter_subject": DecisionSubjects}})},
		{"durable consumer on APPROVALS", jsAPI + "CONSUMER.DURABLE.CREATE." + ApprovalsStream + ".spy", jsonBody(t, map[string]any{"stream_name": ApprovalsStream, "config": map[string]any{"durable_name": "spy"}})},
		{"take decisions from the bridge", jsAPI + "CONSUMER.MSG.NEXT." + ApprovalsStream + "." + DefaultDurable, []byte(`{"batch":10}`)},
		{"direct get on APPROVALS", jsAPI + "DIRECT.GET." + ApprovalsStream, []byte(`{"seq":1}`)},
		{"msg get on APPROVALS", jsAPI + "STREAM.MSG.GET." + ApprovalsStream, []byte(`{"seq":1}`)},
		{"narrow APPROVALS", jsAPI + "STREAM.UPDATE." + ApprovalsStream, jsonBody(t, narrowed)},
		{"RePublish onto bob's decisions", jsAPI + "STREAM.CREATE.EVIL", jsonBody(t, evil)},
		{"push consumer delivering as bob", jsAPI + "CONSUMER.CREATE." + EventsStream + ".spy", jsonBody(t, pushCfg)},
		{"durable push consumer delivering as bob", jsAPI + "CONSUMER.DURABLE.CREATE." + EventsStream + ".spy", jsonBody(t, pushCfg)},
		{"purge events", jsAPI + "STREAM.PURGE." + EventsStream, nil},
		{"delete an event", jsAPI + "STREAM.MSG.DELETE." + EventsStream, []byte(`{"seq":1}`)},
		{"delete events", jsAPI + "STREAM.DELETE." + EventsStream, nil},
		{"delete approvals", jsAPI + "STREAM.DELETE." + ApprovalsStream, nil},
		{"delete the bridge consumer", jsAPI + "CONSUMER.DELETE." + ApprovalsStream + "." + DefaultDurable, nil},
		{"ack for the bridge", "$JS.ACK." + ApprovalsStream + "." + DefaultDurable + ".1.1.1.1.0", nil},
	}
	for who, nc := range map[string]*nats.Conn{"alice": anc, "ops1": onc} {
		for _, a := range jsAttacks {
			if !refusedPub(t, nc, a.subject, a.body) {
				t.Errorf("%s: %s (%s) was not refused", who, a.name, a.subject)
			}
		}
	}
	// The worker cannot destroy or list either.
	for _, a := range jsAttacks {
		switch a.name {
		case "list streams", "stream names", "account info", "purge events", "delete an event", "delete events", "delete approvals",
			"delete the bridge consumer", "RePublish onto bob's decisions", "push consumer delivering as bob", "durable push consumer delivering as bob",
			"named consumer on APPROVALS", "durable consumer on APPROVALS", "consumer create on APPROVALS":
			if !refusedPub(t, wnc, a.subject, a.body) {
				t.Errorf("worker: %s (%s) was not refused", a.name, a.subject)
			}
		}
	}
	corePubs := []struct{ who, subject string }{
		{"alice", bobDecision},
		{"alice", mustSubject(VerdictSubject(tenant, rollout, "bob", "d1"))},
		{"alice", mustSubject(RequestSubject(tenant, rollout, "pilot"))},
		{"alice", mustSubject(EventSubject(tenant, rollout, "rollout.succeeded"))},
		{"alice", mustSubject(serviceSubject("pending", tenant, rollout, "bob"))},
		{"alice", mustSubject(serviceSubject("start", tenant, rollout, "alice"))},
		{"ops1", mustSubject(DecisionSubject(tenant, rollout, "ops1"))},
		{"ops1", mustSubject(serviceSubject("start", tenant, rollout, "alice"))},
		{"ops1", mustSubject(EventSubject(tenant, rollout, "rollout.succeeded"))},
		{DefaultWorkerUser, mustSubject(DecisionSubject(tenant, rollout, "alice"))},
		{DefaultWorkerUser, bobDecision},
	}
	conns := map[string]*nats.Conn{"alice": anc, "ops1": onc, DefaultWorkerUser: wnc}
	for _, p := range corePubs {
		if !refusedPub(t, conns[p.who], p.subject, []byte(`{"id":"f1","gate":"pilot","verdict":"approve"}`)) {
			t.Errorf("%s publishing on %s was not refused", p.who, p.subject)
		}
	}
	coreSubs := []struct{ who, subject string }{
		{"alice", "_INBOX_bob.>"},
		{"alice", "_INBOX.>"},
		{"alice", "ssprflow.*.*.approval.verdict.bob.*"},
		{"alice", VerdictSubjects},
		{"alice", DecisionSubjects},
		{"alice", RequestSubjects},
		{"alice", StartSubjects},
		{"alice", PendingSubjects},
		{"alice", "$JS.ACK.>"},
		{"ops1", "_INBOX_alice.>"},
		{"ops1", "ssprflow.*.*.approval.verdict.alice.*"},
		{"ops1", DecisionSubjects},
		{"ops1", ">"},
	}
	for _, s := range coreSubs {
		if !refusedSub(t, conns[s.who], s.subject) {
			t.Errorf("%s subscribing to %s was not refused", s.who, s.subject)
		}
	}

	// Attack 4: a start request whose reply is another rollout's event
	// subject. Nothing lands there, and the refusal is logged.
	other := rollout + "x"
	target := mustSubject(EventSubject(tenant, other, "rollout.succeeded"))
	watch, err := wnc.SubscribeSync(Prefix + "." + tenant + "." + other + ".event.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := onc.PublishRequest(mustSubject(serviceSubject("start", tenant, other, "ops1")), target, jsonBody(t, StartRequest{Plan: []byte("good")})); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the refusal in the worker's log", func() bool {
		return strings.Contains(logs.String(), "start request refused") && strings.Contains(logs.String(), target)
	})
	if m, err := watch.NextMsg(500 * time.Millisecond); err == nil {
		t.Errorf("the worker answered onto %s: %s", m.Subject, m.Data)
	}
	if evs, err := ListEvents(ctx, wjs, tenant, other); err != nil || len(evs) != 0 {
		t.Errorf("other rollout's trail: %d events, %v", len(evs), err)
	}
	select {
	case got := <-starter.got:
		t.Errorf("a refused start reached the starter: %q", got)
	default:
	}

	// Read back as the worker: nothing changed.
	if after := approvalsState(ctx, t, wjs, tenant, rollout); after != before {
		t.Errorf("approvals stream changed: %s, was %s", after, before)
	}
	if n := streamMsgs(ctx, t, wjs, EventsStream); n != eventsBefore {
		t.Errorf("events stream holds %d messages, was %d", n, eventsBefore)
	}
	if _, err := wjs.Consumer(ctx, ApprovalsStream, DefaultDurable); err != nil {
		t.Errorf("bridge consumer: %v", err)
	}
	// And the bridge still works.
	v, err = PublishDecision(ctx, anc, ajs, tenant, rollout, "alice", Decision{Gate: "pilot", Verdict: VerdictApprove}, 20*time.Second)
	if err != nil || !v.Accepted {
		t.Fatalf("alice's decision after the attacks: %+v, %v", v, err)
	}
}

// approvalsState summarises SSPRFLOW_APPROVALS as the worker sees it: its
// subjects, message count and decisions stored for bob.
func approvalsState(ctx context.Context, t *testing.T, js jetstream.JetStream, tenant, rollout string) string {
	t.Helper()
	s, err := js.Stream(ctx, ApprovalsStream)
	if err != nil {
		t.Fatalf("worker: stream info: %v", err)
	}
	bob := mustSubject(DecisionSubject(tenant, rollout, "bob"))
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(bob))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("subjects=%v msgs=%d bob=%d", info.Config.Subjects, info.State.Msgs, info.State.Subjects[bob])
}

func streamMsgs(ctx context.Context, t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("worker: stream info %s: %v", name, err)
	}
	return s.CachedInfo().State.Msgs
}
