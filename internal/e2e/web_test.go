package e2e

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssprflow/ssprflow/internal/cli"
	"github.com/ssprflow/ssprflow/internal/localstack"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

// artifacts is where browser tests leave screenshots
// ($SSPRFLOW_ARTIFACTS, default bin/e2e-artifacts at the repository root).
func artifacts(t *testing.T) string {
	dir := os.Getenv("SSPRFLOW_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "e2e-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts headless Chromium (the Debian chromium package) for one
// person: a fresh profile, so cookies are theirs alone.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt install chromium; .ci/install-deps does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), // the simulator's identity endpoints use a certificate made at start
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	// The first run starts the browser, which lives as long as the context
	// of that run: start it on ctx itself, not on a step's timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(artifacts(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("screenshot %s", path)
}

// signIn signs who in through the simulator's sign-in page.
func signIn(t *testing.T, ctx context.Context, app, who string) {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step,
		chromedp.Navigate(app),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("login"), who+"@contoso.onmicrosoft.com"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS("header")),
	); err != nil {
		loc, lerr := chromedp.Run(ctx, chromedp.Location())
		html, herr := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("%s signs in: %v (at %s %v: %.800s %v)", who, err, loc, lerr, html, herr)
	}
}

// do runs browser steps with a deadline, or fails the test showing the page.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step, steps...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("%s: %v; the page: %.1500s", what, err, html)
	}
}

// text reads an element's text, or fails the test.
func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(step, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("read #%s: %v; the page: %.1500s", id, err, html)
	}
	return s
}

// TestApprovalInTheBrowser: approvers sign in through the identity
// provider (the simulator's OpenID Connect endpoints), find the gate on
// "waiting for me", read it and approve; the rollout passes the gate. On a
// second rollout a second approver's rejection in the browser rolls it
// back. A person who is no approver sees nothing to decide, and a forged
// POST without a session, or with a session but without the page's CSRF
// token, is refused. Screenshots go to bin/e2e-artifacts.
func TestApprovalInTheBrowser(t *testing.T) {
	e := newEnvWith(t, localstack.StackOptions{Approvers: []string{"alice", "bob"}, Operators: []string{"grace"}})
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
	id := e.start(gated("sspr-web"))
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
	signIn(t, g, app, "grace")
	if s := text(t, g, "nothing"); !strings.Contains(s, "Nothing waits") {
		t.Errorf("grace's list: %q", s)
	}
	screenshot(t, g, "web-non-approver")

	// alice approves from "waiting for me".
	a := browser(t)
	signIn(t, a, app, "alice")
	screenshot(t, a, "web-waiting-for-me")
	do(t, a, "open the gate", chromedp.Click(chromedp.CSS("a.open-gate")), chromedp.WaitVisible(chromedp.ID("approve")))
	screenshot(t, a, "web-gate")
	// The page's own form, with alice's session but another CSRF token, is refused.
	do(t, a, "a decision with a forged CSRF token",
		chromedp.SetAttributeValue(chromedp.CSS(`#decide input[name="csrf"]`), "value", "forged"),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	if s := text(t, a, "error"); !strings.Contains(s, "CSRF") {
		t.Fatalf("forged CSRF token: %q", s)
	}
	if st := e.wait(id, time.Second, func(workflows.State) bool { return true }); len(st.Gates[0].Decisions) != 0 {
		t.Fatalf("a refused form decided: %+v", st.Gates[0].Decisions)
	}
	do(t, a, "alice approves",
		chromedp.Navigate(app),
		chromedp.Click(chromedp.CSS("a.open-gate")),
		chromedp.WaitVisible(chromedp.ID("approve")),
		chromedp.SendKeys(chromedp.ID("comment"), "pilot looks good"),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("verdict")),
	)
	screenshot(t, a, "web-approved")
	if v := text(t, a, "verdict"); !strings.Contains(v, "Accepted") {
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
	reportFile := filepath.Join(artifacts(t), "report.html")
	if err := os.WriteFile(reportFile, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(reportFile)
	do(t, a, "open the html report", chromedp.Navigate("file://"+abs), chromedp.WaitVisible(chromedp.CSS("h1")))
	screenshot(t, a, "report-html")

	// bob rejects the next rollout: it rolls back.
	id2 := e.start(gated("sspr-web-2"))
	e.wait(id2, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	b := browser(t)
	signIn(t, b, app, "bob")
	do(t, b, "bob rejects",
		chromedp.Click(chromedp.CSS("a.open-gate")),
		chromedp.WaitVisible(chromedp.ID("reject")),
		chromedp.SendKeys(chromedp.ID("comment"), "not before the audit"),
		chromedp.Click(chromedp.ID("reject")),
		chromedp.WaitVisible(chromedp.ID("verdict")),
	)
	screenshot(t, b, "web-rejected")
	if st := e.wait(id2, 2*time.Minute, ended); st.Status != workflows.StatusRolledBack {
		t.Fatalf("rollout after the web rejection: %s: %s", st.Status, st.LastError)
	}
}
