package worker

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// NewMetricsHandler exposes the SDK's metrics — and ssprflow's own, which
// workflows emit through workflow.GetMetricsHandler so they are replay-safe —
// on a Prometheus registry.
//
// Prometheus wants one label set per metric name, while the SDK adds tags
// as it goes; the first label set seen for a name is kept, later ones are
// fitted to it (missing labels empty, extra ones dropped).
func NewMetricsHandler(reg *prometheus.Registry) client.MetricsHandler {
	return &promHandler{m: &promMetrics{reg: reg, vecs: map[string]*promVec{}}}
}

type promMetrics struct {
	mu   sync.Mutex
	reg  *prometheus.Registry
	vecs map[string]*promVec
}

type promVec struct {
	labels  []string
	counter *prometheus.CounterVec
	gauge   *prometheus.GaugeVec
	hist    *prometheus.HistogramVec
}

type promHandler struct {
	m    *promMetrics
	tags map[string]string
}

func (h *promHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &promHandler{m: h.m, tags: merged}
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func (h *promHandler) vec(kind, name string) (*promVec, prometheus.Labels) {
	name = sanitize(name)
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	v, ok := h.m.vecs[kind+name]
	if !ok {
		v = &promVec{}
		for k := range h.tags {
			v.labels = append(v.labels, sanitize(k))
		}
		sort.Strings(v.labels)
		switch kind {
		case "c":
			v.counter = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: name}, v.labels)
			_ = h.m.reg.Register(v.counter)
		case "g":
			v.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: name}, v.labels)
			_ = h.m.reg.Register(v.gauge)
		default:
			v.hist = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name + "_seconds", Help: name}, v.labels)
			_ = h.m.reg.Register(v.hist)
		}
		h.m.vecs[kind+name] = v
	}
	labels := prometheus.Labels{}
	for _, l := range v.labels {
		labels[l] = ""
	}
	for k, val := range h.tags {
		if _, ok := labels[sanitize(k)]; ok {
			labels[sanitize(k)] = val
		}
	}
	return v, labels
}

type promCounter struct{ c prometheus.Counter }

func (c promCounter) Inc(n int64) { c.c.Add(float64(n)) }

type promGauge struct{ g prometheus.Gauge }

func (g promGauge) Update(x float64) { g.g.Set(x) }

type promTimer struct{ o prometheus.Observer }

func (t promTimer) Record(d time.Duration) { t.o.Observe(d.Seconds()) }

func (h *promHandler) Counter(name string) client.MetricsCounter {
	v, l := h.vec("c", name)
	return promCounter{v.counter.With(l)}
}

func (h *promHandler) Gauge(name string) client.MetricsGauge {
	v, l := h.vec("g", name)
	return promGauge{v.gauge.With(l)}
}

func (h *promHandler) Timer(name string) client.MetricsTimer {
	v, l := h.vec("t", name)
	return promTimer{v.hist.With(l)}
}
