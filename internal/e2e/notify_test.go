package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/worker"
	"github.com/ssprflow/ssprflow/workflows"
)

// TestNotifications: the worker posts a Teams card when the gate opens,
// with the link to the gate's page in the approval web app, and when the
// rollout ends; a Slack webhook that answers 500 is retried, recorded as
// notification.failed on the events stream, and does not stop the
// rollout.
func TestNotifications(t *testing.T) {
	var mu sync.Mutex
	var teams []string
	slackPosts := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/slack" {
			slackPosts++
			http.Error(w, "workspace archived", http.StatusInternalServerError)
			return
		}
		teams = append(teams, string(b))
	}))
	defer recv.Close()
	e := newEnv(t, "alice", "bob")
	app, err := e.stack.ApprovalWeb(e.cfg, e.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSPRFLOW_E2E_TEAMS_URL", recv.URL+"/teams")
	t.Setenv("SSPRFLOW_E2E_SLACK_URL", recv.URL+"/slack")
	e.cfg.Notifications = []config.Notification{{Tenant: "*",
		Teams: &config.Webhook{URL: config.Secret{Env: "SSPRFLOW_E2E_TEAMS_URL"}},
		Slack: &config.Webhook{URL: config.Secret{Env: "SSPRFLOW_E2E_SLACK_URL"}}}}
	e.runWorker()
	p := e.plan(func(p *plan.Rollout) { p.Spec.Directory = nil; p.Spec.Stages[0].Gate.Approvals = 1 })
	id := e.start(p)
	e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	if v := e.decide("bob", "approve"); !v.Accepted {
		t.Fatalf("approval refused: %s", v.Reason)
	}
	if st := e.wait(id, 2*time.Minute, ended); st.Status != workflows.StatusSucceeded {
		t.Fatalf("rollout with a broken webhook: %s: %s", st.Status, st.LastError)
	}
	var failed bool
	for deadline := time.Now().Add(45 * time.Second); time.Now().Before(deadline) && !failed; time.Sleep(500 * time.Millisecond) {
		for _, ev := range e.events(p) {
			if ev.Kind() == worker.KindNotificationFailed {
				failed = true
			}
		}
	}
	if !failed {
		t.Error("no notification.failed event for the broken Slack webhook")
	}
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(teams, "\n")
	for _, want := range []string{"Gate pilot opened", app + "/gate?", "Rollout succeeded", "application/vnd.microsoft.card.adaptive"} {
		if !strings.Contains(all, want) {
			t.Errorf("teams cards lack %q", want)
		}
	}
	if slackPosts < 3 {
		t.Errorf("the broken Slack webhook was tried %d times, want retries", slackPosts)
	}
	t.Logf("%d teams cards, %d slack posts (all refused)", len(teams), slackPosts)
}
