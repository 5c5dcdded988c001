package e2e

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/browsertest"
	"github.com/ssprflow/ssprflow/internal/cli"
	"github.com/ssprflow/ssprflow/internal/localstack"
	"github.com/ssprflow/ssprflow/internal/payloadcrypt"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

// browser is one person's headless Chromium; screenshots go to
// bin/e2e-artifacts.
func browser(t *testing.T) *browsertest.Browser {
	return browsertest.Start(t, browsertest.Artifacts(t, filepath.Join("..", "..")))
}

// TestApprovalInTheBrowser: approvers sign in through the identity
// provider (the simulator's OpenID Connect endpoints), find the gate on
// "waiting for me", read it and approve; the rollout passes the gate. On a
// second rollout a second approver's rejection in the browser rolls it
// back. A person who is no approver sees nothing to decide, and a forged
// POST without a session, or with a session but without the page's CSRF
// token, is refused. Screenshots go to bin/e2e-artifacts.
func TestApprovalInTheBrowser(t *testing.T) {
	e := newEnvWith(t, localstack.StackOptions{Approvers: []string{"alice", "bob"}, Operators: []string{"grace"}, TemporalUI: true})
	app, err := e.stack.ApprovalWeb(e.cfg, e.dir)
	if err != nil {
		t.Fatal(err)
	}
	e.runWorker()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(app)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the approval web app at %s: %v", app, err)
		}
	}
	gated := func(name string) *plan.Rollout {
		return e.plan(func(p *plan.Rollout) {
			p.Metadata.Name = name
			p.Spec.Directory = nil
			p.Spec.Approvers = []plan.Approver{{ID: "alice"}, {ID: "bob"}}
			p.Spec.Stages[0].Gate.Approvals = 1
		})
	}
	web := gated("sspr-web")
	id := e.start(web)
	e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })

	// A forged POST without a session decides nothing.
	resp, err := http.PostForm(app+"/gate", url.Values{"rollout": {id}, "gate": {"pilot"}, "verdict": {"approve"}, "csrf": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged POST without a session: %d, want 401", resp.StatusCode)
	}

	// grace is a person the worker knows, but no approver: nothing to decide.
	g := browser(t)
	g.SignIn(app, "grace")
	if s := g.Text("nothing"); !strings.Contains(s, "Nothing waits") {
		t.Errorf("grace's list: %q", s)
	}
	g.Screenshot("web-non-approver")

	// alice approves from "waiting for me".
	a := browser(t)
	a.SignIn(app, "alice")
	a.Screenshot("web-waiting-for-me")
	a.Do("open the gate", chromedp.Click(chromedp.CSS("a.open-gate")), chromedp.WaitVisible(chromedp.ID("approve")))
	a.Screenshot("web-gate")
	// The page's own form, with alice's session but another CSRF token, is refused.
	a.Do("a decision with a forged CSRF token",
		chromedp.SetAttributeValue(chromedp.CSS(`#decide input[name="csrf"]`), "value", "forged"),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	if s := a.Text("error"); !strings.Contains(s, "CSRF") {
		t.Fatalf("forged CSRF token: %q", s)
	}
	if st := e.wait(id, time.Second, func(workflows.State) bool { return true }); len(st.Gates[0].Decisions) != 0 {
		t.Fatalf("a refused form decided: %+v", st.Gates[0].Decisions)
	}
	a.Do("back to the list", chromedp.Navigate(app), chromedp.WaitVisible(chromedp.CSS("a.open-gate")))
	a.Decide("approve", "pilot looks good")
	a.Screenshot("web-approved")
	if v := a.Text("verdict"); !strings.Contains(v, "Accepted") {
		t.Fatalf("verdict on the page: %q", v)
	}
	st := e.wait(id, 2*time.Minute, ended)
	if st.Status != workflows.StatusSucceeded {
		t.Fatalf("rollout after the web approval: %s: %s", st.Status, st.LastError)
	}
	d := st.Gates[0].Decisions
	if len(d) != 1 || d[0].Approver != "alice" || !strings.HasPrefix(d[0].Via, "entra:") || d[0].Comment != "pilot looks good" {
		t.Fatalf("recorded decision: %+v", d)
	}

	// The audit trail has the web decision as it has those over NATS.
	var recorded []string
	for _, ev := range e.events(web) {
		if ev.Kind() == approval.KindDecision {
			recorded = append(recorded, ev.Source+" "+string(ev.Data))
		}
	}
	if len(recorded) != 1 || !strings.Contains(recorded[0], "/approval-web ") ||
		!strings.Contains(recorded[0], `"via":"entra:`+d[0].Via[len("entra:"):]+`"`) || !strings.Contains(recorded[0], `"accepted":true`) {
		t.Errorf("decision events of the web approval: %q", recorded)
	}
	temporalUI(t, a, e, id, st.RunID)

	// The report for the change ticket: one self-contained HTML page, and Markdown.
	report := func(format string) string {
		var out, errb bytes.Buffer
		if code := cli.Main(context.Background(), []string{"report", id, "--format", format, "--temporal", e.stack.Temporal.HostPort()}, &out, &errb); code != 0 {
			t.Fatalf("report --format %s: exit %d: %s", format, code, errb.String())
		}
		return out.String()
	}
	html := report("html")
	for _, want := range []string{"SUCCEEDED", "alice", "pilot looks good", "entra:", "Registration coverage", "Changes made"} {
		if !strings.Contains(html, want) {
			t.Errorf("html report lacks %q", want)
		}
	}
	for _, external := range []string{"<script", "<link", "src=", "@import", "url("} {
		if strings.Contains(html, external) {
			t.Errorf("html report is not self-contained: it has %q", external)
		}
	}
	if md := report("markdown"); !strings.Contains(md, "| Result | **SUCCEEDED**") || !strings.Contains(md, "pilot looks good") {
		t.Errorf("markdown report:\n%s", md)
	}
	reportFile := filepath.Join(browsertest.Artifacts(t, filepath.Join("..", "..")), "report.html")
	if err := os.WriteFile(reportFile, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(reportFile)
	a.Do("open the html report", chromedp.Navigate("file://"+abs), chromedp.WaitVisible(chromedp.CSS("h1")))
	a.Screenshot("report-html")

	// bob rejects the next rollout: it rolls back.
	id2 := e.start(gated("sspr-web-2"))
	e.wait(id2, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	b := browser(t)
	b.SignIn(app, "bob")
	b.Decide("reject", "not before the audit")
	b.Screenshot("web-rejected")
	if st := e.wait(id2, 2*time.Minute, ended); st.Status != workflows.StatusRolledBack {
		t.Fatalf("rollout after the web rejection: %s: %s", st.Status, st.LastError)
	}
}

// temporalUI: the stack's Temporal Web UI lists the rollout by its search
// attribute, and its history page shows the payloads decoded by the
// worker's codec endpoint (the browser calls it from the UI's origin).
func temporalUI(t *testing.T, b *browsertest.Browser, e *env, id, runID string) {
	ui := e.stack.UI.URL()
	q := url.QueryEscape(workflows.SATenant + ` = "contoso.onmicrosoft.com"`)
	b.Do("the Temporal UI lists the rollout",
		chromedp.Navigate(ui+"/namespaces/default/workflows?query="+q),
		chromedp.WaitVisible(chromedp.CSS(`a[href*="`+url.PathEscape(id)+`"]`)),
	)
	b.Screenshot("temporal-ui-list")
	// Temporal holds the input encrypted; the page shows it as JSON only
	// because the browser had the worker's codec endpoint decode it.
	it := e.tc.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	first, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	in := first.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(in) == 0 || string(in[0].GetMetadata()[payloadcrypt.MetadataEncoding]) != payloadcrypt.EncodingEncrypted {
		t.Fatalf("the rollout's input in Temporal is not encrypted: %v", in)
	}
	b.Do("the Temporal UI shows the rollout's input decoded",
		chromedp.Navigate(ui+"/namespaces/default/workflows/"+url.PathEscape(id)+"/"+runID+"/history"),
		chromedp.WaitVisible(chromedp.CSS("body")),
	)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		body, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS("body")))
		if err == nil && strings.Contains(body, `"apiVersion": "ssprflow/v1"`) {
			break
		}
		if time.Now().After(deadline) {
			b.Screenshot("temporal-ui-history")
			t.Fatalf("the Temporal UI's history page does not show the decoded input: %v %.1500s", err, body)
		}
	}
	b.Screenshot("temporal-ui-history")
}
