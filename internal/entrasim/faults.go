package entrasim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RetryAfterMode is how a faulted response carries Retry-After.
type RetryAfterMode int

// Retry-After forms.
const (
	RetryAfterSeconds RetryAfterMode = iota // Retry-After: 1
	RetryAfterNone                          // no header (some identity services do this on 429)
	RetryAfterDate                          // Retry-After: <HTTP-date>
)

// FaultRule injects errors into requests whose path matches Path.
type FaultRule struct {
	// Path is a glob ("/v1.0/groups*"; * matches across slashes). Empty
	// matches every /v1.0 and /api path.
	Path string
	// Methods limits the rule to these HTTP methods (empty: all).
	Methods []string
	// Rate is the probability, 0..1, that a matching request fails.
	Rate float64
	// Codes are the statuses to answer with, chosen in turn (default 429).
	Codes []int
	// RetryAfter is the delay advertised on 429/503/504 (default 1s).
	RetryAfter time.Duration
	// RetryAfterMode selects the header form.
	RetryAfterMode RetryAfterMode
	// Latency is added to every matching request, faulted or not.
	Latency time.Duration
}

// FaultConfig is the set of fault rules. The first rule whose path matches a
// request decides whether it fails; latencies of all matching rules add up.
type FaultConfig struct {
	Rules []FaultRule
}

// ErrFaultSpec is returned (wrapped) by ParseFaults for a malformed spec.
var ErrFaultSpec = errors.New("invalid fault spec")

// ParseFaults parses a fault spec. Rules are separated by '|' or newlines, or
// start anew at each "path=" key; keys within a rule by ';'. Keys:
//
//	path=/v1.0/groups*   glob the rule applies to (default: all)
//	method=POST,PATCH    methods the rule applies to (default: all)
//	rate=0.2             failure probability
//	codes=429,503        statuses used in turn (default 429)
//	retry-after=1        seconds advertised (or a duration, "1500ms")
//	no-retry-after       omit Retry-After
//	retry-after-date     Retry-After as an HTTP-date
//	latency=20ms         added delay
//
// Example: "rate=0.2;codes=429,503;retry-after=1|path=/v1.0/groups*;rate=0.5;codes=503".
// An empty spec means no faults.
func ParseFaults(spec string) (FaultConfig, error) {
	var cfg FaultConfig
	spec = strings.NewReplacer("\r\n", "|", "\n", "|").Replace(strings.TrimSpace(spec))
	for _, chunk := range strings.Split(spec, "|") {
		var cur *FaultRule
		for _, kv := range strings.Split(chunk, ";") {
			kv = strings.TrimSpace(kv)
			if kv == "" {
				continue
			}
			k, v, hasV := strings.Cut(kv, "=")
			k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
			if cur == nil || (k == "path" && cur.Path != "") {
				cfg.Rules = append(cfg.Rules, FaultRule{})
				cur = &cfg.Rules[len(cfg.Rules)-1]
			}
			if err := setFaultKey(cur, k, v, hasV); err != nil {
				return FaultConfig{}, fmt.Errorf("%w: %q: %w", ErrFaultSpec, kv, err)
			}
		}
	}
	if err := cfg.validate(); err != nil {
		return FaultConfig{}, err
	}
	return cfg, nil
}

func setFaultKey(r *FaultRule, k, v string, hasV bool) error {
	switch k {
	case "path", "method", "methods", "rate", "codes", "code", "retry-after", "latency":
		if !hasV || v == "" {
			return errors.New("needs a value")
		}
	}
	switch k {
	case "path":
		if !strings.HasPrefix(v, "/") {
			return errors.New("path must start with /")
		}
		r.Path = v
	case "method", "methods":
		for _, m := range strings.Split(v, ",") {
			r.Methods = append(r.Methods, strings.ToUpper(strings.TrimSpace(m)))
		}
	case "rate":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return errors.New("rate must be a number between 0 and 1")
		}
		r.Rate = f
	case "codes", "code":
		for _, c := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(c))
			if err != nil || n < 400 || n > 599 {
				return fmt.Errorf("code %q must be an HTTP error status (400-599)", c)
			}
			r.Codes = append(r.Codes, n)
		}
	case "retry-after":
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			r.RetryAfter = time.Duration(n) * time.Second
		} else if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			r.RetryAfter = d
		} else {
			return errors.New("retry-after must be seconds or a duration")
		}
	case "no-retry-after":
		r.RetryAfterMode = RetryAfterNone
	case "retry-after-date":
		r.RetryAfterMode = RetryAfterDate
	case "latency":
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errors.New("latency must be a duration such as 20ms")
		}
		r.Latency = d
	default:
		return fmt.Errorf("unknown key %q", k)
	}
	return nil
}

func (c FaultConfig) validate() error {
	for i, r := range c.Rules {
		if r.Rate < 0 || r.Rate > 1 {
			return fmt.Errorf("%w: rule %d: rate %v outside 0..1", ErrFaultSpec, i, r.Rate)
		}
		for _, code := range r.Codes {
			if code < 400 || code > 599 {
				return fmt.Errorf("%w: rule %d: code %d is not an error status", ErrFaultSpec, i, code)
			}
		}
	}
	return nil
}

// globMatch matches pattern against s; '*' matches any run of characters,
// slashes included. Matching is case-insensitive, like Graph paths.
func globMatch(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

func (r *FaultRule) matches(method, p string) bool {
	if r.Path != "" && !globMatch(r.Path, p) {
		return false
	}
	if len(r.Methods) > 0 {
		for _, m := range r.Methods {
			if m == method {
				return true
			}
		}
		return false
	}
	return true
}

// faultState is the live fault configuration and its random source.
type faultState struct {
	mu        sync.Mutex
	cfg       FaultConfig
	rng       *rand.Rand
	turn      []int // next code index per rule
	failNext  int
	failCode  int
	failAfter time.Duration
}

func newFaultState(seed int64, cfg FaultConfig) *faultState {
	return &faultState{cfg: cfg, rng: rand.New(rand.NewPCG(uint64(seed), 0x5eed)), turn: make([]int, len(cfg.Rules))}
}

// SetFaults replaces the fault configuration.
func (s *Server) SetFaults(cfg FaultConfig) {
	f := s.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg = cfg
	f.turn = make([]int, len(cfg.Rules))
}

// Faults returns the current fault configuration.
func (s *Server) Faults() FaultConfig {
	f := s.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// FailNextWrites makes the next n writes (POST, PUT, PATCH, DELETE on /v1.0
// and /api) fail with code (default 503). n = 0 cancels.
func (s *Server) FailNextWrites(n int, code int) {
	if code == 0 {
		code = http.StatusServiceUnavailable
	}
	f := s.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext, f.failCode, f.failAfter = max(n, 0), code, time.Second
}

// fault is one decision: the latency to add, and the error to answer with
// (status 0: none).
type fault struct {
	latency    time.Duration
	status     int
	retryAfter time.Duration
	mode       RetryAfterMode
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func (f *faultState) decide(method, p string) fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out fault
	if isWrite(method) && f.failNext > 0 {
		f.failNext--
		out.status, out.retryAfter = f.failCode, f.failAfter
	}
	for i := range f.cfg.Rules {
		r := &f.cfg.Rules[i]
		if !r.matches(method, p) {
			continue
		}
		out.latency += r.Latency
		if out.status != 0 || r.Rate <= 0 {
			continue
		}
		if r.Rate >= 1 || f.rng.Float64() < r.Rate {
			codes := r.Codes
			if len(codes) == 0 {
				codes = []int{http.StatusTooManyRequests}
			}
			out.status = codes[f.turn[i]%len(codes)]
			f.turn[i]++
			out.retryAfter, out.mode = r.RetryAfter, r.RetryAfterMode
			if out.retryAfter == 0 {
				out.retryAfter = time.Second
			}
		}
	}
	return out
}

// writeFault answers a request with an injected error, with the headers the
// directory sends.
func writeFault(w http.ResponseWriter, r *http.Request, f fault) {
	h := w.Header()
	if f.status == http.StatusTooManyRequests || f.status == http.StatusServiceUnavailable || f.status == http.StatusGatewayTimeout {
		switch f.mode {
		case RetryAfterSeconds:
			secs := int((f.retryAfter + time.Second - 1) / time.Second)
			h.Set("Retry-After", strconv.Itoa(secs))
		case RetryAfterDate:
			h.Set("Retry-After", time.Now().Add(f.retryAfter).UTC().Format(http.TimeFormat))
		}
	}
	code, msg := "generalException", http.StatusText(f.status)
	switch f.status {
	case http.StatusTooManyRequests:
		info := "ResourceUnitLimitExceeded"
		if isWrite(r.Method) {
			info = "WriteLimitExceeded"
		}
		h.Set("x-ms-throttle-scope", "Tenant_Application/ReadWrite/00000000-0000-0000-0000-0000551a51a0/"+tenantHint(r))
		h.Set("x-ms-throttle-information", info)
		code, msg = codeThrottled, "Too many requests. Please retry after the delay in the Retry-After header."
	case http.StatusServiceUnavailable:
		code, msg = codeUnavailable, "The service is temporarily unavailable. Please retry later."
	case http.StatusGatewayTimeout:
		code, msg = codeGatewayTimeout, "The gateway did not receive a response in time."
	case http.StatusInternalServerError:
		code, msg = "InternalServerError", "An internal server error occurred."
	}
	writeError(w, r, f.status, code, msg)
}

// tenantHint is the tenant id for throttle headers, when the token has one.
func tenantHint(r *http.Request) string {
	if c, ok := r.Context().Value(claimsKey{}).(claims); ok {
		return c.Tid
	}
	return "unknown"
}
