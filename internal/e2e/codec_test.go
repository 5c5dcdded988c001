package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/dial"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/ssprflow/ssprflow/internal/cli"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/workflows"
)

// TestHistoryHoldsNoUPNInClearText is issue 11's must-show for attack 8:
// the history of a rollout (the example plan with its members, directory
// steps on the Samba DC), read with a plain Temporal client that has no
// codec, contains no member UPN and no "@tenant-domain" anywhere: not in
// the start input, activity inputs and results, failures, updates, nor in
// any run it continued as. The same history decoded with the worker's
// codec does contain the members, so the check can fail. And a CLI
// without the keys says which key it lacks.
func TestHistoryHoldsNoUPNInClearText(t *testing.T) {
	e := newEnv(t)
	e.runWorker()
	p := e.plan(nil)
	id := e.start(p)
	if st := e.wait(id, 3*time.Minute, ended); st.Status != workflows.StatusSucceeded {
		t.Fatalf("rollout %s: %s", st.Status, st.LastError)
	}
	var needles []string
	for _, s := range p.Spec.Stages {
		needles = append(needles, s.Members...)
	}
	if len(needles) == 0 {
		t.Fatal("the plan has no members: nothing to look for")
	}
	needles = append(needles, "@"+p.Metadata.Tenant)

	plain, err := client.Dial(client.Options{HostPort: e.cfg.Temporal.Address, Namespace: e.cfg.Temporal.Namespace,
		Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Close)
	runs := wholeHistory(t, plain, id)

	for _, h := range runs {
		if found := clearText(t, h, needles); len(found) > 0 {
			t.Errorf("history read without the codec holds personal data in clear text:\n%s", strings.Join(found, "\n"))
		}
	}

	var decoded []string
	for _, h := range runs {
		decodeHistory(t, e.cfg.Temporal, h)
		decoded = append(decoded, clearText(t, h, needles[:1])...)
	}
	if len(decoded) == 0 {
		t.Errorf("the history decoded with the codec does not show member %s: the check above proves nothing", needles[0])
	}
	events := 0
	for _, h := range runs {
		events += len(h.Events)
	}
	t.Logf("%d run(s), %d events read without the codec: none holds any of %d members or @%s; decoded, %d event(s) show %s",
		len(runs), events, len(needles)-1, p.Metadata.Tenant, len(decoded), needles[0])

	// A CLI without the keys reads nothing encrypted, and says why.
	keys := os.Getenv(config.EnvCodecKeys)
	os.Unsetenv(config.EnvCodecKeys) // newEnv's t.Setenv restores it
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), []string{"rollout", "status", id, "--temporal", e.stack.Temporal.HostPort()}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String()+out.String(), `"dev"`) || strings.Contains(out.String()+errb.String(), needles[0]) {
		t.Errorf("rollout status without the keys: exit %d:\n%s%s", code, out.String(), errb.String())
	}
	os.Setenv(config.EnvCodecKeys, keys)
	out.Reset()
	errb.Reset()
	if code := cli.Main(context.Background(), []string{"rollout", "status", id, "--temporal", e.stack.Temporal.HostPort()}, &out, &errb); code != 0 || !strings.Contains(out.String(), "SUCCEEDED") {
		t.Errorf("rollout status with $%s: exit %d:\n%s%s", config.EnvCodecKeys, code, out.String(), errb.String())
	}
}

// wholeHistory fetches every event of the rollout's latest run and of each
// run it continued from.
func wholeHistory(t *testing.T, c client.Client, id string) []*historypb.History {
	t.Helper()
	var runs []*historypb.History
	runID := ""
	for range 100 {
		h := runHistory(t, c, id, runID)
		if len(h.Events) == 0 {
			t.Fatalf("run %q of %s has no events", runID, id)
		}
		runs = append(runs, h)
		runID = h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if runID == "" {
			return runs
		}
	}
	t.Fatalf("%s continued as new more than 100 times", id)
	return nil
}

// runHistory fetches every event of one run of id ("" for the latest).
func runHistory(t testing.TB, c client.Client, id, runID string) *historypb.History {
	t.Helper()
	h := &historypb.History{}
	it := c.GetWorkflowHistory(context.Background(), id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	return h
}

// decodeHistory decrypts h's payloads in place with the worker's codec
// (the payload keys of cfg).
func decodeHistory(t testing.TB, cfg config.Temporal, h *historypb.History) {
	t.Helper()
	codec, err := dial.PayloadCodec(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := codec.DecodeMessage(context.Background(), h); err != nil {
		t.Fatalf("decode the history with the worker's codec: %v", err)
	}
}

// clearText lists where any needle occurs in a history, case-insensitively,
// in both the JSON form (every string field) and the wire form (where a
// payload's bytes appear as they are, not base64 as in JSON).
func clearText(t *testing.T, h *historypb.History, needles []string) []string {
	t.Helper()
	var found []string
	for _, ev := range h.Events {
		js, err := protojson.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		wire, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			n = strings.ToLower(n)
			if bytes.Contains(bytes.ToLower(js), []byte(n)) || bytes.Contains(bytes.ToLower(wire), []byte(n)) {
				found = append(found, fmt.Sprintf("%s #%d: %s", ev.GetEventType(), ev.GetEventId(), n))
			}
		}
	}
	return found
}
