package entrasim

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Quota models Microsoft Graph's service-specific throttling budgets, per app
// (the token's appid) and tenant, in real time. A zero limit disables that
// budget. DefaultQuota has the documented values for a small tenant.
type Quota struct {
	// DirectoryRU is resource units per 10 s for identity and access
	// requests (each request costs 1).
	DirectoryRU int
	// Writes is write requests per 150 s.
	Writes int
	// Reports is identity and access reports requests per 10 s
	// (userRegistrationDetails, usersRegisteredByFeature).
	Reports int
}

// DefaultQuota is Graph's budget for a small tenant (docs 2024-2025):
// 3,500 RU per 10 s, 3,000 writes per 2.5 min, 5 report requests per 10 s.
var DefaultQuota = Quota{DirectoryRU: 3500, Writes: 3000, Reports: 5}

type window struct {
	start time.Time
	used  int
}

type quotaState struct {
	mu      sync.Mutex
	q       Quota
	windows map[string]*window
	usage   Usage
}

// Usage counts what Graph requests (each request inside a JSON batch on
// its own) spent of each budget since the server started, whether or not
// a Quota is enforced, and how many were refused with 429: what a
// benchmark needs to compute the least time the budgets allow.
type Usage struct {
	DirectoryRU int // identity and access requests (each costs 1)
	Writes      int // of those, writes (POST, PATCH, PUT, DELETE)
	Reports     int // identity and access reports requests
	Throttled   int // answered 429 by the quota
}

// Usage returns the requests counted so far.
func (s *Server) Usage() Usage {
	s.quota.mu.Lock()
	defer s.quota.mu.Unlock()
	return s.quota.usage
}

// SetQuota enables (or, with the zero Quota, disables) realistic throttling.
func (s *Server) SetQuota(q Quota) {
	s.quota.mu.Lock()
	defer s.quota.mu.Unlock()
	s.quota.q = q
	s.quota.windows = map[string]*window{}
}

// take charges one request to a fixed window; it returns the wait until the
// window resets when the budget is spent.
func (qs *quotaState) take(key string, limit int, span time.Duration, now time.Time) (time.Duration, bool) {
	if limit <= 0 {
		return 0, true
	}
	w := qs.windows[key]
	if w == nil || now.Sub(w.start) >= span {
		w = &window{start: now}
		qs.windows[key] = w
	}
	if w.used >= limit {
		return span - now.Sub(w.start), false
	}
	w.used++
	return 0, true
}

// checkQuota answers 429 when a budget is spent. It reports whether the
// request may go on.
func (s *Server) checkQuota(w http.ResponseWriter, r *http.Request, c claims) bool {
	qs := &s.quota
	if !strings.HasPrefix(r.URL.Path, "/v1.0/") {
		return true
	}
	qs.mu.Lock()
	report := strings.Contains(strings.ToLower(r.URL.Path), "/reports/")
	q := qs.q
	if q == (Quota{}) {
		qs.usage.count(report, isWrite(r.Method))
		qs.mu.Unlock()
		return true
	}
	now := time.Now()
	// Budgets run on the simulator's clock: at TimeScale 10 a 150 s write
	// window lasts 15 real seconds (Retry-After is in real seconds).
	scale := s.opts.TimeScale
	if scale <= 0 {
		scale = 1
	}
	span := func(d time.Duration) time.Duration { return time.Duration(float64(d) / scale) }
	app := c.Appid + "/" + c.Tid
	var wait time.Duration
	ok := true
	info, scope := "ResourceUnitLimitExceeded", "Tenant_Application/ReadWrite/"+c.Appid+"/"+c.Tid
	if report {
		wait, ok = qs.take("reports/"+app, q.Reports, span(10*time.Second), now)
		scope = "Tenant_Application/Read/" + c.Appid + "/" + c.Tid
	} else {
		if isWrite(r.Method) {
			wait, ok = qs.take("writes/"+app, q.Writes, span(150*time.Second), now)
			info = "WriteLimitExceeded"
		}
		if ok {
			wait, ok = qs.take("ru/"+app, q.DirectoryRU, span(10*time.Second), now)
			info = "ResourceUnitLimitExceeded"
		}
	}
	if ok {
		qs.usage.count(report, isWrite(r.Method))
	} else {
		qs.usage.Throttled++
	}
	qs.mu.Unlock()
	if ok {
		return true
	}
	secs := int((wait + time.Second - 1) / time.Second)
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(max(secs, 1)))
	h.Set("x-ms-throttle-scope", scope)
	h.Set("x-ms-throttle-information", info)
	writeError(w, r, http.StatusTooManyRequests, codeThrottled, "Too many requests. Please retry after the delay in the Retry-After header.")
	return false
}

func (u *Usage) count(report, write bool) {
	switch {
	case report:
		u.Reports++
	case write:
		u.Writes++
		u.DirectoryRU++
	default:
		u.DirectoryRU++
	}
}
