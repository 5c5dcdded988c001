// Package browsertest drives headless Chromium (the Debian chromium
// package) from tests with chromedp, as the people who use ssprflow's pages
// would: one fresh browser profile per person, screenshots as artifacts.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Artifacts is where browser tests leave screenshots: $SSPRFLOW_ARTIFACTS,
// or bin/e2e-artifacts at the repository root (root is the path from the
// test's package to it, e.g. "../..").
func Artifacts(t testing.TB, root string) string {
	dir := os.Getenv("SSPRFLOW_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(root, "bin", "e2e-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Browser is one person's headless Chromium.
type Browser struct {
	t         testing.TB
	Ctx       context.Context
	artifacts string
}

// Start starts headless Chromium for one person with a fresh profile, so
// cookies are theirs alone; screenshots go to artifacts. Without chromium
// the test is skipped, except in CI, where it fails.
func Start(t testing.TB, artifacts string) *Browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is required in CI (.ci/install-deps installs it)")
		}
		t.Skip("SKIPPED LOUDLY: chromium is not installed (apt install chromium; .ci/install-deps does)")
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
	return &Browser{t: t, Ctx: ctx, artifacts: artifacts}
}

// Screenshot saves the whole page as artifacts/name.png.
func (b *Browser) Screenshot(name string) {
	t := b.t
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.artifacts, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("screenshot %s", path)
}

// SignIn signs who (a user name of the simulated tenant) in to the
// approval web app at app through the simulator's sign-in page.
func (b *Browser) SignIn(app, who string) {
	t := b.t
	t.Helper()
	step, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step,
		chromedp.Navigate(app),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("login"), who+"@contoso.onmicrosoft.com"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS("header")),
	); err != nil {
		loc, lerr := chromedp.Run(b.Ctx, chromedp.Location())
		html, herr := chromedp.Run(b.Ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("%s signs in: %v (at %s %v: %.800s %v)", who, err, loc, lerr, html, herr)
	}
}

// Do runs steps with a deadline, or fails the test showing the page.
func (b *Browser) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := b.Try(30*time.Second, steps...); err != nil {
		html, _ := chromedp.Run(b.Ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		b.t.Fatalf("%s: %v; the page: %.1500s", what, err, html)
	}
}

// Try runs steps with a deadline and returns their error.
func (b *Browser) Try(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	step, cancel := context.WithTimeout(b.Ctx, timeout)
	defer cancel()
	return chromedp.Do(step, steps...)
}

// Text reads an element's text by id, or fails the test.
func (b *Browser) Text(id string) string {
	t := b.t
	t.Helper()
	step, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(step, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		html, _ := chromedp.Run(b.Ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("read #%s: %v; the page: %.1500s", id, err, html)
	}
	return s
}

// Decide opens the first gate of the "waiting for me" list on the page
// shown and answers it: verdict is "approve" or "reject", the id of the
// button the gate page has. It returns once the page shows the verdict.
func (b *Browser) Decide(verdict, comment string) {
	b.t.Helper()
	b.Do(verdict+" the first gate waiting",
		chromedp.Click(chromedp.CSS("a.open-gate")),
		chromedp.WaitVisible(chromedp.ID(verdict)),
		chromedp.SendKeys(chromedp.ID("comment"), comment),
		chromedp.Click(chromedp.ID(verdict)),
		chromedp.WaitVisible(chromedp.ID("verdict")),
	)
}
