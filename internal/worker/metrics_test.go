package worker

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsHandlerFitsChangingTags(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := NewMetricsHandler(reg)
	h.WithTags(map[string]string{"step": "methods", "status": "verified"}).Counter("ssprflow_steps_total").Inc(1)
	h.WithTags(map[string]string{"step": "methods", "status": "verified"}).Counter("ssprflow_steps_total").Inc(2)
	// a later use with an extra tag and a missing one is fitted, not dropped
	h.WithTags(map[string]string{"step": "scope", "extra": "x"}).Counter("ssprflow_steps_total").Inc(1)
	h.Gauge("temporal.worker-slots").Update(3)
	h.Timer("ssprflow_gate_wait").Record(2 * time.Second)
	want := `
# HELP ssprflow_steps_total ssprflow_steps_total
# TYPE ssprflow_steps_total counter
ssprflow_steps_total{status="",step="scope"} 1
ssprflow_steps_total{status="verified",step="methods"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ssprflow_steps_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "temporal_worker_slots", "ssprflow_gate_wait_seconds"); err != nil || n != 2 {
		t.Errorf("gauge and timer: %d series, %v", n, err)
	}
}
