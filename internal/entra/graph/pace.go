package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	khttp "github.com/microsoft/kiota-http-go"
)

// Budget is Graph's documented throttling budget for one app in one
// tenant (identity and access service limits). The client paces its own
// requests to stay inside it, so a 50,000-member wave does not run into a
// storm of 429s; Retry-After handling stays for what other apps spend.
type Budget struct {
	// ResourceUnits per ResourceUnitWindow for directory requests (most
	// cost 1; each request inside a JSON batch counts on its own).
	ResourceUnits      int
	ResourceUnitWindow time.Duration
	// Writes per WriteWindow (POST, PATCH, PUT, DELETE).
	Writes      int
	WriteWindow time.Duration
	// Reports per ReportWindow: identity and access reports
	// (/reports/authenticationMethods/...).
	Reports      int
	ReportWindow time.Duration
}

// Documented budgets for a small tenant (under 50 users... the smallest
// tier is the safe default when the tenant's size is not configured).
var (
	BudgetSmall  = Budget{3500, 10 * time.Second, 3000, 150 * time.Second, 5, 10 * time.Second}
	BudgetMedium = Budget{5000, 10 * time.Second, 3000, 150 * time.Second, 5, 10 * time.Second}
	BudgetLarge  = Budget{8000, 10 * time.Second, 3000, 150 * time.Second, 5, 10 * time.Second}
)

// Scaled returns the budget with every window divided by factor: the
// simulator's budgets run on its accelerated clock.
func (b Budget) Scaled(factor float64) Budget {
	if factor <= 0 {
		return b
	}
	d := func(w time.Duration) time.Duration { return time.Duration(float64(w) / factor) }
	b.ResourceUnitWindow, b.WriteWindow, b.ReportWindow = d(b.ResourceUnitWindow), d(b.WriteWindow), d(b.ReportWindow)
	return b
}

// pacer holds one sliding window per budget. A sliding window never
// admits more than the limit in any span, so it also stays inside Graph's
// fixed windows wherever they start; a small margin covers the request's
// travel time.
type pacer struct {
	ru, writes, reports *window
}

func newPacer(b Budget) *pacer {
	return &pacer{ru: newWindow(b.ResourceUnits, b.ResourceUnitWindow),
		writes: newWindow(b.Writes, b.WriteWindow), reports: newWindow(b.Reports, b.ReportWindow)}
}

type window struct {
	mu    sync.Mutex
	limit int
	span  time.Duration
	times []time.Time // admitted, oldest first
}

func newWindow(limit int, span time.Duration) *window {
	if limit <= 0 || span <= 0 {
		return nil
	}
	return &window{limit: limit, span: span + span/50}
}

// take waits until n units fit in the window, then admits them.
func (w *window) take(ctx context.Context, n int) error {
	if w == nil || n <= 0 {
		return nil
	}
	n = min(n, w.limit)
	for {
		w.mu.Lock()
		now := time.Now()
		drop := 0
		for drop < len(w.times) && now.Sub(w.times[drop]) >= w.span {
			drop++
		}
		w.times = w.times[drop:]
		if len(w.times)+n <= w.limit {
			for range n {
				w.times = append(w.times, now)
			}
			w.mu.Unlock()
			return nil
		}
		// The (excess)th oldest must leave the window first.
		wait := w.span - now.Sub(w.times[len(w.times)+n-w.limit-1])
		w.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// cost is what one HTTP request spends of each budget.
type cost struct{ ru, writes, reports int }

func isWriteMethod(m string) bool {
	switch strings.ToUpper(m) {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func requestCost(method, path string) cost {
	if strings.Contains(strings.ToLower(path), "/reports/") {
		return cost{reports: 1}
	}
	c := cost{ru: 1}
	if isWriteMethod(method) {
		c.writes = 1
	}
	return c
}

// batchCost is the sum of a JSON batch's requests' costs.
func batchCost(body []byte) cost {
	var b struct {
		Requests []struct{ Method, URL string } `json:"requests"`
	}
	if json.Unmarshal(body, &b) != nil {
		return cost{ru: 1}
	}
	var total cost
	for _, r := range b.Requests {
		c := requestCost(r.Method, r.URL)
		total.ru, total.writes, total.reports = total.ru+c.ru, total.writes+c.writes, total.reports+c.reports
	}
	return total
}

// pacingHandler is a kiota middleware placed inside the retry handler, so
// every attempt, including retries, is paced. The request timeout starts
// once the budget admits the request: a write that waits two minutes for
// the next write window is not a slow server (with the timeout on the
// whole client, a big wave's writes timed out while waiting, and the
// retried attempts re-sent binds that had landed).
type pacingHandler struct {
	p       *pacer
	timeout time.Duration // per attempt, after pacing; 0 = none
}

func (h pacingHandler) Intercept(pipeline khttp.Pipeline, index int, req *http.Request) (*http.Response, error) {
	c := requestCost(req.Method, req.URL.Path)
	if strings.HasSuffix(req.URL.Path, "/$batch") && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		c = batchCost(body)
	}
	ctx := req.Context()
	for _, step := range []struct {
		w *window
		n int
	}{{h.p.writes, c.writes}, {h.p.reports, c.reports}, {h.p.ru, c.ru}} {
		if err := step.w.take(ctx, step.n); err != nil {
			return nil, err
		}
	}
	if h.timeout <= 0 {
		return pipeline.Next(req, index)
	}
	tctx, cancel := context.WithTimeout(ctx, h.timeout)
	resp, err := pipeline.Next(req.WithContext(tctx), index)
	if err != nil || resp == nil || resp.Body == nil {
		cancel()
		return resp, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends an attempt's timeout when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
