package streams

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/blob"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/natsproc"
)

func connect(t *testing.T, urls string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(urls)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func snapshot(t *testing.T, ctx context.Context, js jetstream.JetStream) map[string]*jetstream.StreamInfo {
	t.Helper()
	out := map[string]*jetstream.StreamInfo{}
	for _, name := range []string{approval.ApprovalsStream, approval.EventsStream, blob.Stream} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		out[name] = s.CachedInfo()
	}
	return out
}

// TestEnsureRefusesR1StreamsUnderR3: on a three-node cluster, streams made
// the way earlier workers made them (R1, approval.EnsureStreams and
// blob.EnsureStream) with a message stored; a worker configured for R3 is
// refused with the stream, what differs and the exact fix, and nothing
// changes: same replicas, same creation time, same messages. After the fix
// it names (nats stream edit --replicas 3, applied here as the same stream
// update through the API), the check passes and the message is still there.
func TestEnsureRefusesR1StreamsUnderR3(t *testing.T) {
	cl := natsproc.StartCluster(t, 3)
	js := connect(t, cl.URLs())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := approval.EnsureStreams(ctx, js); err != nil {
		t.Fatal(err)
	}
	if err := blob.EnsureStream(ctx, js); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "ssprflow.t1.r1.event.step", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, ctx, js)

	r3 := config.Streams{Replicas: 3}
	created, err := Ensure(ctx, js, r3)
	if len(created) != 0 || !errors.Is(err, ErrMismatch) {
		t.Fatalf("Ensure under R3 = created %v, %v; want a mismatch and nothing created", created, err)
	}
	var me *MismatchError
	if !errors.As(err, &me) || len(me.Mismatches) != 3 {
		t.Fatalf("mismatches: %v", err)
	}
	msg := err.Error()
	for _, name := range []string{approval.ApprovalsStream, approval.EventsStream, blob.Stream} {
		want := name + ": replicas is 1, configured 3; fix: nats stream edit " + name + " --replicas 3 (or set nats.streams.replicas: 1 to keep the stream as it is)"
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q:\n%s", want, msg)
		}
	}
	t.Logf("start refused with:\n%s", msg)

	after := snapshot(t, ctx, js)
	for name, b := range before {
		a := after[name]
		if !reflect.DeepEqual(a.Config, b.Config) || !a.Created.Equal(b.Created) || a.State.Msgs != b.State.Msgs || a.Config.Replicas != 1 {
			t.Errorf("%s changed by a refused start:\nbefore %+v %v msgs=%d\nafter  %+v %v msgs=%d", name, b.Config, b.Created, b.State.Msgs, a.Config, a.Created, a.State.Msgs)
		}
	}
	if err := Check(ctx, js, r3); !errors.Is(err, ErrMismatch) {
		t.Errorf("Check under R3 = %v, want the mismatch", err)
	}

	// The fix, as nats stream edit --replicas 3 sends it.
	for name, b := range before {
		c := b.Config
		c.Replicas = 3
		if _, err := js.UpdateStream(ctx, c); err != nil {
			t.Fatalf("apply the fix to %s: %v", name, err)
		}
	}
	if created, err := Ensure(ctx, js, r3); err != nil || len(created) != 0 {
		t.Fatalf("Ensure after the fix = created %v, %v", created, err)
	}
	if a := snapshot(t, ctx, js)[approval.EventsStream]; a.State.Msgs != 1 || !a.Created.Equal(before[approval.EventsStream].Created) {
		t.Errorf("events after the fix: %d messages, created %v; want the one message in the same stream", a.State.Msgs, a.Created)
	}
}

// TestEnsureCreatesR3Streams: a correct R3 configuration on a three-node
// cluster creates the three streams replicated on three servers and placed
// as configured; a second worker's start (and the readiness check) then
// finds them as configured.
func TestEnsureCreatesR3Streams(t *testing.T) {
	cl := natsproc.StartCluster(t, 3)
	js := connect(t, cl.URLs())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := config.Streams{Replicas: 3, Placement: &config.Placement{Cluster: cl.Name},
		Approvals: config.StreamLimits{MaxAge: 48 * time.Hour}, Blobs: config.StreamLimits{MaxBytes: 128 << 20}}
	created, err := Ensure(ctx, js, c)
	if err != nil || len(created) != 3 {
		t.Fatalf("Ensure = created %v, %v", created, err)
	}
	for name, info := range snapshot(t, ctx, js) {
		if info.Config.Replicas != 3 || info.Cluster == nil || info.Cluster.Name != cl.Name || len(info.Cluster.Replicas) != 2 {
			t.Errorf("%s: replicas %d, cluster %+v; want R3 on %s (a leader and two replicas)", name, info.Config.Replicas, info.Cluster, cl.Name)
		}
		switch name {
		case approval.ApprovalsStream:
			if info.Config.MaxAge != 48*time.Hour {
				t.Errorf("approvals max age %v", info.Config.MaxAge)
			}
		case blob.Stream:
			if info.Config.MaxBytes != 128<<20 {
				t.Errorf("blobs max bytes %d", info.Config.MaxBytes)
			}
		}
	}
	if created, err := Ensure(ctx, js, c); err != nil || len(created) != 0 {
		t.Fatalf("second Ensure = created %v, %v", created, err)
	}
	if err := Check(ctx, js, c); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

// TestEnsureR3OnOneServer: R3 against a single server fails to create and
// says why.
func TestEnsureR3OnOneServer(t *testing.T) {
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", natsproc.FreePort(t))
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("listen: %s\njetstream { store_dir: %q }\n", addr, filepath.Join(dir, "js"))), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := natsproc.Run(t, conf, addr, os.Environ())
	js := connect(t, srv.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Ensure(ctx, js, config.Streams{Replicas: 3})
	if err == nil || !strings.Contains(err.Error(), "nats.streams.replicas is 3: that needs a NATS cluster with at least 3 JetStream servers") {
		t.Fatalf("Ensure R3 on one server: %v", err)
	}
	if created, err := Ensure(ctx, js, config.Streams{}); err != nil || len(created) != 3 {
		t.Fatalf("Ensure R1 = %v, %v", created, err)
	}
	// Someone deletes a stream: the readiness check says so.
	if err := js.DeleteStream(ctx, approval.EventsStream); err != nil {
		t.Fatal(err)
	}
	if err := Check(ctx, js, config.Streams{}); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "SSPRFLOW_EVENTS: the stream does not exist") {
		t.Fatalf("Check with a stream deleted: %v", err)
	}
}

// TestCompare: each difference the check finds, with its fix.
func TestCompare(t *testing.T) {
	base := config.Streams{Replicas: 3, Placement: &config.Placement{Cluster: "east", Tags: []string{"ssd"}}}
	approvals := func() stream { return layout(base)[0] }
	for _, tc := range []struct {
		name   string
		change func(*jetstream.StreamConfig)
		want   []string
	}{
		{"same", func(*jetstream.StreamConfig) {}, nil},
		{"same with the server's defaults", func(c *jetstream.StreamConfig) { c.MaxBytes, c.MaxMsgsPerSubject, c.Description = -1, -1, "edited" }, nil},
		{"placement", func(c *jetstream.StreamConfig) { c.Placement = &jetstream.Placement{Cluster: "west"} }, []string{
			`SSPRFLOW_APPROVALS: placement cluster is "west", configured "east"; fix: nats stream edit SSPRFLOW_APPROVALS --cluster east (moves the stream; or set nats.streams.placement.cluster: "west")`,
			`SSPRFLOW_APPROVALS: placement tags is [], configured [ssd]; fix: nats stream edit SSPRFLOW_APPROVALS --tag ssd (moves the stream; or set nats.streams.placement.tags: [])`}},
		{"limits", func(c *jetstream.StreamConfig) { c.MaxAge, c.MaxBytes = 24*time.Hour, 1<<30 }, []string{
			"SSPRFLOW_APPROVALS: max age is 24h0m0s, configured 720h0m0s; fix: nats stream edit SSPRFLOW_APPROVALS --max-age 720h0m0s (or set nats.streams.approvals.maxAge: 24h0m0s)",
			"SSPRFLOW_APPROVALS: max bytes is 1073741824, configured unlimited; fix: nats stream edit SSPRFLOW_APPROVALS --max-bytes -1 (or set nats.streams.approvals.maxBytes: 1073741824)"}},
		{"what ssprflow relies on", func(c *jetstream.StreamConfig) {
			c.Storage, c.Subjects, c.Duplicates, c.MaxMsgSize = jetstream.MemoryStorage, c.Subjects[:1], time.Minute, 1<<20
		}, []string{
			"SSPRFLOW_APPROVALS: storage is Memory, configured File; fix: storage cannot change on an existing stream",
			`SSPRFLOW_APPROVALS: subjects is [ssprflow.*.*.approval.request.*], configured [ssprflow.*.*.approval.request.* ssprflow.*.*.approval.decision.*]; fix: nats stream edit SSPRFLOW_APPROVALS --subjects "ssprflow.*.*.approval.request.*,ssprflow.*.*.approval.decision.*"`,
			"SSPRFLOW_APPROVALS: duplicate window is 1m0s, configured 10m0s; fix: nats stream edit SSPRFLOW_APPROVALS --dupe-window 10m0s",
			"SSPRFLOW_APPROVALS: max message size is 1048576, configured 16384; fix: nats stream edit SSPRFLOW_APPROVALS --max-msg-size 16384"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := approvals()
			have := want.cfg
			have.Subjects = append([]string(nil), have.Subjects...)
			have.Placement = &jetstream.Placement{Cluster: "east", Tags: []string{"ssd"}}
			tc.change(&have)
			var got []string
			for _, m := range compare(have, want) {
				got = append(got, m.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d mismatches:\n%s\nwant %d", len(got), strings.Join(got, "\n"), len(tc.want))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("mismatch %d:\n got %s\nwant %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}
