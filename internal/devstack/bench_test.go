package devstack

import (
	"context"
	"testing"
	"time"
)

// BenchmarkStartTemporal measures start-to-ready (namespace served, search
// attributes registered) and stop of an in-memory server, and reports the
// process's peak RSS. Each in-memory database stays allocated until the
// process exits (the SQLite plugin never closes it), so peak RSS grows with
// b.N; compare runs with the same -benchtime.
func BenchmarkStartTemporal(b *testing.B) {
	ctx := context.Background()
	var ready, stop time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		tp, err := StartTemporal(ctx, TemporalOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ready += time.Since(start)
		start = time.Now()
		if err := tp.Stop(); err != nil {
			b.Fatal(err)
		}
		stop += time.Since(start)
		n++
	}
	b.ReportMetric(float64(ready.Milliseconds())/float64(n), "ready-ms")
	b.ReportMetric(float64(stop.Milliseconds())/float64(n), "stop-ms")
	b.ReportMetric(peakRSSMiB(b), "peak-RSS-MiB")
}

// BenchmarkStartNATS measures start-to-ready and stop of NATS with JetStream.
func BenchmarkStartNATS(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		n, err := StartNATS(ctx, NATSOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n.Stop()
	}
	b.ReportMetric(peakRSSMiB(b), "peak-RSS-MiB")
}
