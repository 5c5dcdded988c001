package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cli"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// TestPlanDiffHonest: a worker without a portal credential previews a
// manual-mode plan that also switches SMS on in the methods policy. The
// portal settings it cannot read are listed as "could not read: why" and
// never as changes; the SMS change is shown under its stage with the
// tenant-wide warning; the licence, permission and directory checks pass:
// exit 2. The same plan with a member that does not exist (missingMembers:
// stop) exits 1 and says the pilot would stop on that member. The JSON
// output carries the same content.
func TestPlanDiffHonest(t *testing.T) {
	e := newEnv(t)
	e.cfg.Tenants[0].Portal = nil // nobody signed in for the portal on this worker
	e.runWorker()
	t.Setenv("SSPRFLOW_E2E_PW_operator", e.stack.Passwords["operator"])
	diff := func(p *plan.Rollout, name string, want int, extra ...string) string {
		t.Helper()
		b, err := yaml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(e.dir, name)
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		args := append([]string{"plan", "diff", file, "--nats", e.stack.NATSURL(), "--user", "operator", "--password-env", "SSPRFLOW_E2E_PW_operator"}, extra...)
		if code := cli.Main(context.Background(), args, &out, &errb); code != want {
			t.Fatalf("plan diff %s: exit %d, want %d:\n%s%s", name, code, want, out.String(), errb.String())
		}
		return out.String()
	}
	p := e.plan(func(p *plan.Rollout) {
		p.Spec.SSPRPolicy.Mode = plan.PolicyModeManual
		p.Spec.MissingMembers = plan.MissingMembersStop
	})
	out := diff(p, "manual.yaml", 2)
	t.Logf("plan diff:\n%s", out)
	for _, want := range []string{
		"could not read", "registration.reconfirmDays", "no portal credential on the worker",
		"stage pilot changes", "[policy.sms]", "Protection > Authentication methods", "tenant-wide authentication methods policy",
		"ok   licence", "AAD_PREMIUM", "ok   app permissions", "ok   AD rights", "ok   password age",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan diff lacks %q", want)
		}
	}
	changes, _, _ := strings.Cut(out, "could not read")
	for _, portal := range []string{"registration.reconfirmDays", "[scope]", "helpdesk.contact"} {
		if strings.Contains(changes, portal) {
			t.Errorf("unreadable portal setting %s is shown as a change", portal)
		}
	}

	missing := e.plan(func(p *plan.Rollout) {
		p.Spec.SSPRPolicy.Mode = plan.PolicyModeManual
		p.Spec.MissingMembers = plan.MissingMembersStop
		p.Spec.Stages[0].Members = append(p.Spec.Stages[0].Members, "nobody.here@contoso.onmicrosoft.com")
	})
	out = diff(missing, "missing.yaml", 1)
	if !strings.Contains(out, "the rollout would stop") || !strings.Contains(out, "nobody.here@contoso.onmicrosoft.com") {
		t.Errorf("plan diff with a missing member:\n%s", out)
	}
	// A writeback agent queue nobody polls: the rollout would wait for it.
	noAgent := e.plan(func(p *plan.Rollout) {
		p.Spec.SSPRPolicy.Mode = plan.PolicyModeManual
		p.Spec.Writeback = plan.Writeback{Mode: plan.WritebackConnect, AgentQueue: "ssprflow-writeback-nobody"}
	})
	if out := diff(noAgent, "no-agent.yaml", 1); !strings.Contains(out, "FAIL writeback agent") || !strings.Contains(out, "no agent polls task queue ssprflow-writeback-nobody") {
		t.Errorf("plan diff with an agent queue nobody polls:\n%s", out)
	}
	var reply approval.DiffReply
	if err := json.Unmarshal([]byte(diff(missing, "missing.yaml", 1, "--output", "json")), &reply); err != nil {
		t.Fatal(err)
	}
	if len(reply.Blockers) == 0 || len(reply.Unreadable) == 0 || len(reply.Checks) < 3 || len(reply.Stages) == 0 || reply.Stages[0].Missing != 1 {
		t.Errorf("json: %+v", reply)
	}
}
