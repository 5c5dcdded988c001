package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/worker"
	"github.com/ssprflow/ssprflow/workflows"
)

// TestPortalSignInOutlastsTokens: an admin signs in once with
// `ssprflow-worker login portal` (device code printed, the code approved
// through the simulator's control endpoint as the browser step), the
// refresh token lands in the encrypted cache, and a portal-api rollout
// whose soak spans many access-token lifetimes succeeds on tokens the
// worker refreshed silently. Then the admin's sessions are revoked: the
// next rollout fails at preflight, once, with the command that fixes it.
func TestPortalSignInOutlastsTokens(t *testing.T) {
	e := newEnv(t, "alice", "bob")
	// One simulated hour per access token: a second of real time here.
	e.stack.Sim.SetIdentity(entrasim.Identity{AccessTokenLifetime: time.Hour})
	if err := e.stack.PortalSignIn(e.cfg, e.dir); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envToken+"_PORTAL", "") // the static portal token is not what the worker uses
	cfgPath := filepath.Join(e.dir, "worker.yaml")
	b, err := yaml.Marshal(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	// The sign-in, as the admin runs it on the worker host.
	pr, pw := io.Pipe()
	var out bytes.Buffer
	done := make(chan int, 1)
	go func() {
		code := worker.Main(context.Background(), []string{"login", "portal", "--tenant", "contoso.onmicrosoft.com", "--config", cfgPath}, pw, &out)
		pw.Close()
		done <- code
	}()
	var said strings.Builder
	userCode := ""
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		said.WriteString(sc.Text() + "\n")
		if m := regexp.MustCompile(`enter the code ([A-Z0-9]+)`).FindStringSubmatch(sc.Text()); m != nil && userCode == "" {
			userCode = m[1]
			approve := e.stack.SimURL + "/_sim/devicecode/approve?" + url.Values{"code": {userCode}, "upn": {"alice@contoso.onmicrosoft.com"}}.Encode()
			resp, err := http.Post(approve, "", nil)
			if err != nil || resp.StatusCode != http.StatusNoContent {
				t.Fatalf("approve device code: %v %v", resp, err)
			}
			resp.Body.Close()
		}
	}
	if code := <-done; code != 0 || userCode == "" {
		t.Fatalf("login portal exited %d (code %q):\n%s%s", code, userCode, said.String(), out.String())
	}
	t.Logf("login portal said:\n%s", said.String())
	if !strings.Contains(said.String(), "signed in as alice@contoso.onmicrosoft.com") {
		t.Fatalf("login output: %s", said.String())
	}
	cachePath := e.cfg.Tenants[0].Portal.CacheFile
	cache, err := os.ReadFile(cachePath)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(cachePath); st.Mode().Perm() != 0o600 {
		t.Errorf("token cache mode %v, want 0600", st.Mode().Perm())
	}
	for _, clear := range []string{"RefreshToken", "refresh_token", "alice@contoso", "secret"} {
		if bytes.Contains(cache, []byte(clear)) {
			t.Errorf("token cache holds %q in clear", clear)
		}
	}

	e.runWorker()
	before := e.stack.Sim.IdentityStats()
	p := e.plan(func(p *plan.Rollout) {
		p.Spec.Stages[0].Gate.Soak = plan.Duration(6 * time.Second) // six token lifetimes
	})
	if p.Spec.SSPRPolicy.Mode != plan.PolicyModePortalAPI {
		t.Fatalf("the example plan's mode is %s, want portal-api", p.Spec.SSPRPolicy.Mode)
	}
	startSim := e.stack.Sim.Now()
	id := e.start(p)
	st := e.wait(id, 4*time.Minute, ended)
	if st.Status != workflows.StatusSucceeded {
		t.Fatalf("rollout %s: %s", st.Status, st.LastError)
	}
	after := e.stack.Sim.IdentityStats()
	lifetimes := e.stack.Sim.Now().Sub(startSim) / time.Hour
	t.Logf("rollout spanned %d access-token lifetimes; %d silent refreshes, %d refused grants, %d expired tokens refused", lifetimes, after.Refreshes-before.Refreshes, after.RefusedGrants, after.ExpiredRefused)
	if lifetimes < 5 || after.Refreshes-before.Refreshes < 3 || after.RefusedGrants != 0 {
		t.Fatalf("rollout spanned %d lifetimes with %d refreshes and %d refused grants", lifetimes, after.Refreshes-before.Refreshes, after.RefusedGrants)
	}

	// Revoke sessions: the next rollout stops at preflight with the fix.
	if n := e.stack.Sim.RevokeSignIns("alice@contoso.onmicrosoft.com"); n == 0 {
		t.Fatal("no refresh token to revoke")
	}
	time.Sleep(2 * time.Second) // the last access token expires
	second := e.plan(func(p *plan.Rollout) { p.Metadata.Name = "sspr-after-revoke" })
	id2 := e.start(second)
	st2 := e.wait(id2, 2*time.Minute, ended)
	if st2.Status != workflows.StatusFailed || !strings.Contains(st2.LastError, "AADSTS50173") ||
		!strings.Contains(st2.LastError, "ssprflow-worker login portal --tenant") {
		t.Fatalf("after revocation: %s: %s", st2.Status, st2.LastError)
	}
	t.Logf("after revocation: %s", st2.LastError)
	if refused := e.stack.Sim.IdentityStats().RefusedGrants; refused > 1 {
		t.Errorf("the revoked refresh token was tried %d times: a sign-in error must not be retried", refused)
	}
}
