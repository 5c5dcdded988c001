package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/localstack"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/devstack"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/worker"
	"github.com/ssprflow/ssprflow/workflows"
)

// BenchmarkDecisionLatency measures, for b.N decisions, the time from an
// approver publishing a decision on NATS to the verdict coming back — the
// verdict is published after the workflow's update handler has recorded the
// decision, so the state shows it by then. In the same run it measures the
// same decide update sent straight to Temporal (no NATS, no bridge): the
// floor the approval path adds to. Run with -benchtime 1000x.
func BenchmarkDecisionLatency(b *testing.B) {
	n := b.N
	bench := devstack.NATSUser{Name: "bench", Password: "bench-password",
		Publish: []string{approval.Prefix + ".*.*.approval.decision.>", "$JS.API.>"}}
	e := newEnvWith(b, localstack.StackOptions{ExtraUsers: []devstack.NATSUser{bench}})
	// Each decision subject's last token is an approver's NATS user; the
	// worker knows each as a person of the same id.
	for i := 0; i < 2*n+1; i++ {
		a := fmt.Sprintf("a%05d", i)
		e.cfg.People = append(e.cfg.People, config.Person{ID: a, NATS: []string{a}})
	}
	keys, err := worker.SigningKeys(e.cfg)
	if err != nil {
		b.Fatal(err)
	}
	e.runWorker()
	p := e.plan(func(p *plan.Rollout) {
		p.Spec.Directory = nil
		p.Spec.Approvers = nil
		for i := 0; i < 2*n+1; i++ {
			p.Spec.Approvers = append(p.Spec.Approvers, plan.Approver{ID: fmt.Sprintf("a%05d", i)})
		}
		p.Spec.Stages[0].Gate = &plan.Gate{Approvals: 2*n + 1, Timeout: plan.Duration(time.Hour)}
	})
	id := e.start(p)
	st := e.wait(id, 2*time.Minute, func(st workflows.State) bool { return gateStatus(st, "pilot") == workflows.GateApproval })
	var request string
	for _, g := range st.Gates {
		if g.Name == "pilot" {
			request = g.RequestID
		}
	}

	nc, err := nats.Connect(e.stack.NATSURL(), nats.UserInfo(bench.Name, bench.Password))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	viaNATS := make([]time.Duration, 0, n)
	direct := make([]time.Duration, 0, n)
	b.ResetTimer()
	for i := 0; i < n; i++ {
		d := approval.Decision{ID: approval.NewDecisionID(), Gate: "pilot", Verdict: "approve", RequestID: request}
		t0 := time.Now()
		v, err := approval.PublishDecision(ctx, nc, js, p.TenantToken(), p.Metadata.Name, fmt.Sprintf("a%05d", 2*i), d, 30*time.Second)
		if err != nil || !v.Accepted {
			b.Fatalf("decision %d: %v %+v", i, err, v)
		}
		viaNATS = append(viaNATS, time.Since(t0))

		// The floor signs as the bridge does, so both paths pass the same
		// validator.
		dd := approval.Decision{ID: approval.NewDecisionID(), Gate: "pilot", Verdict: "approve", RequestID: request,
			Approver: fmt.Sprintf("a%05d", 2*i+1), Via: "nats:" + fmt.Sprintf("a%05d", 2*i+1), At: time.Now().UTC()}
		t0 = time.Now()
		dd = workflows.SignDecision(keys, id, dd)
		h, err := e.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateID: dd.Approver + "/" + dd.ID,
			UpdateName: workflows.UpdateDecide, Args: []interface{}{dd}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			b.Fatalf("direct update %d: %v", i, err)
		}
		direct = append(direct, time.Since(t0))
	}
	b.StopTimer()
	p50, p99 := percentiles(viaNATS)
	d50, d99 := percentiles(direct)
	b.ReportMetric(float64(p50.Microseconds())/1000, "nats-p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "nats-p99-ms")
	b.ReportMetric(float64(d50.Microseconds())/1000, "temporal-p50-ms")
	b.ReportMetric(float64(d99.Microseconds())/1000, "temporal-p99-ms")
	if d99 > 0 {
		b.ReportMetric(float64(p99)/float64(d99), "p99-ratio")
	}
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}
