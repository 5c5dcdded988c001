package e2e

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/cli"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

// TestOneRolloutPerTenant: while a rollout holds the tenant, a second plan
// naming the same tenant by its id (not its domain) is refused at start,
// naming the first, and changes nothing; a third that asks to queue waits
// and runs once the first has ended.
func TestOneRolloutPerTenant(t *testing.T) {
	e := newEnv(t, "alice", "bob")
	e.runWorker()
	first := e.plan(func(p *plan.Rollout) { p.Spec.Stages[0].Gate.Approvals = 1 })
	id1 := e.start(first)
	e.wait(id1, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	before := e.tenantJSON()

	tenantID := e.stack.Sim.TenantID("contoso.onmicrosoft.com")
	byID := func(name string) *plan.Rollout {
		return e.plan(func(p *plan.Rollout) {
			p.Metadata.Name, p.Metadata.Tenant = name, tenantID
			p.Spec.Stages[0].Group.Name = "SSPR " + name
		})
	}
	second := byID("sspr-second")
	raw, err := yaml.Marshal(second)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSPRFLOW_E2E_PW_operator", e.stack.Passwords["operator"])
	nc := config.NATS{URL: e.stack.NATSURL(), User: "operator", Password: config.Secret{Env: "SSPRFLOW_E2E_PW_operator"}}
	id2, _, err := cli.StartOverNATSQueue(context.Background(), nc, "operator", second, filepath.Join(e.dir, "second.yaml"), raw, false)
	if err == nil || !strings.Contains(err.Error(), id1) || !strings.Contains(err.Error(), tenantID) {
		t.Fatalf("second rollout for the tenant (by id): err %v, want a refusal naming %s and tenant %s", err, id1, tenantID)
	}
	t.Logf("refused: %v", err)
	st2 := e.wait(id2, time.Minute, ended)
	if st2.Status != workflows.StatusFailed || len(st2.Changes) != 0 || st2.TenantID != tenantID {
		t.Fatalf("second rollout: status %s, %d changes, tenant id %q", st2.Status, len(st2.Changes), st2.TenantID)
	}
	if after := e.tenantJSON(); !bytes.Equal(before, after) {
		t.Fatal("the refused rollout changed the tenant")
	}

	third := byID("sspr-third")
	raw, err = yaml.Marshal(third)
	if err != nil {
		t.Fatal(err)
	}
	id3, note, err := cli.StartOverNATSQueue(context.Background(), nc, "operator", third, filepath.Join(e.dir, "third.yaml"), raw, true)
	if err != nil || !strings.Contains(note, "queued (position 1)") || !strings.Contains(note, id1) {
		t.Fatalf("queued start: id %s, note %q, err %v", id3, note, err)
	}
	if st3, _ := cli.QueryState(context.Background(), e.tc, id3); st3.Status != workflows.StatusWaiting || len(st3.Changes) != 0 {
		t.Fatalf("queued rollout: status %s with %d changes, want waiting with none", st3.Status, len(st3.Changes))
	}
	if v := e.decide("bob", "approve"); !v.Accepted {
		t.Fatalf("approval refused: %s", v.Reason)
	}
	if st := e.wait(id1, 2*time.Minute, ended); st.Status != workflows.StatusSucceeded {
		t.Fatalf("first rollout: %s: %s", st.Status, st.LastError)
	}
	st3 := e.wait(id3, 3*time.Minute, ended)
	if st3.Status != workflows.StatusSucceeded || st3.TenantLock != "granted" {
		t.Fatalf("queued rollout: %s (lock %q): %s", st3.Status, st3.TenantLock, st3.LastError)
	}
}
