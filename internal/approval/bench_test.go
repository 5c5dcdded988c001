package approval

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkDecisionRoundTrip measures what an approver waits for: publish a
// decision to JetStream, the bridge consumes it, calls the Decider (a fake
// that answers at once), records the event, publishes the verdict and acks;
// the CLI receives the verdict. Reports p50 and p99 latency.
func BenchmarkDecisionRoundTrip(b *testing.B) {
	e := newEnv(b)
	fake := newFakeDecider(e)
	runBridge(b, e.newTestBridge(b, fake, BridgeOptions{AckWait: 30 * time.Second}))
	nc, js := e.approver(b, "alice")
	ctx := context.Background()
	// Warm up: consumer created, subscriptions and caches in place.
	if _, err := PublishDecision(ctx, nc, js, e.tenant, e.rollout, "alice", Decision{Gate: "pilot", Verdict: VerdictApprove}, 10*time.Second); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		v, err := PublishDecision(ctx, nc, js, e.tenant, e.rollout, "alice", Decision{Gate: "pilot", Verdict: VerdictApprove}, 10*time.Second)
		if err != nil || !v.Accepted {
			b.Fatalf("verdict %+v, %v", v, err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
	}
}
