// Package entrasim is an in-process and standalone simulator of the parts of an
// Entra ID tenant that an SSPR rollout touches: Microsoft Graph v1.0 (the
// authentication methods policy, groups, users, registration reports,
// on-premises synchronization, licences, organization) and the portal's
// PasswordReset API. It reproduces documented JSON shapes, OData errors,
// throttling, paging and permissions, and injects faults on demand.
//
// Endpoints (state is per tenant; the tenant is the bearer token's tid):
//
//	GET|PATCH  /v1.0/policies/authenticationMethodsPolicy
//	GET        /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations
//	GET|PATCH|DELETE .../authenticationMethodConfigurations/{id}   (ids case-insensitive)
//	GET|POST   /v1.0/groups                 ($filter, $select, $top)
//	GET|PATCH|DELETE /v1.0/groups/{id}      (PATCH: members@odata.bind, at most 20)
//	GET        /v1.0/groups/{id}/members    (paged); GET|POST|DELETE .../members/$ref;
//	DELETE     /v1.0/groups/{id}/members/{userId}/$ref
//	GET        /v1.0/users, /v1.0/users/{id or UPN}
//	GET        /v1.0/reports/authenticationMethods/userRegistrationDetails[/{id}]
//	GET        /v1.0/reports/authenticationMethods/usersRegisteredByFeature(...)
//	GET        /v1.0/directory/onPremisesSynchronization[/{id}]
//	GET        /v1.0/subscribedSkus, /v1.0/organization
//	GET|PUT    /api/PasswordReset/PasswordResetPolicies          (delegated token)
//	GET|PUT    /api/PasswordReset/OnPremisesPasswordResetPolicies (delegated token)
//	           /_sim/audit, /_sim/state, /_sim/clock/advance?d=1h, /_sim/faults,
//	           /_sim/fail-next-writes?n=2&code=503, /_sim/token, /_sim/devicecode/approve,
//	           /_sim/signin[/revoke|/consent] (no token needed)
//	HTTPS      the identity platform's v2.0 device code and token endpoints (identity.go)
//
// Users' SSPR registration is computed lazily from the simulated clock: each
// user has a hashed registration delay that starts counting when SSPR becomes
// enabled for them (portal scope All, or membership of the selected group).
//
// The simulator uses only the standard library so that tests of packages that
// depend on it stay fast to build.
package entrasim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTenant is the tenant domain used when Options.Tenant is empty.
const DefaultTenant = "contoso.onmicrosoft.com"

// Options configure a Server.
type Options struct {
	// Users is the number of synthetic users per tenant (default 200). The
	// eight named users (alice ... heidi) come on top.
	Users int
	// Seed makes the population and fault decisions deterministic.
	Seed int64
	// TimeScale is simulated seconds per real second (default 1). A negative
	// value freezes the clock so that only AdvanceClock moves it.
	TimeScale float64
	// Faults are injected into /v1.0 and /api requests.
	Faults FaultConfig
	// Token, when set, is accepted as a bearer token for the default tenant
	// with Roles, and is what Token returns.
	Token string
	// Roles granted to Token (default AllRoles).
	Roles []string
	// Tenant is the default tenant's domain (default DefaultTenant).
	Tenant string
	// NoPremium leaves the tenant without an Entra ID P1 (AAD_PREMIUM)
	// licence, so that a licence check fails.
	NoPremium bool
	// Org models an organisation (org.go): departments, countries and job
	// titles on users, All-<Department> groups with nested regional groups,
	// a Break-Glass group of two admins, and a user o'brien.
	Org bool
	// Quota enables realistic throttling budgets (see DefaultQuota); the
	// zero value disables them.
	Quota Quota
	// Strict answers only what Microsoft's v1.0 documentation lists for each
	// resource and refuses the rest: userRegistrationDetails takes no
	// $top and no `id in (...)` filter, and new tenants report
	// policyMigrationState null. The product must work in this mode.
	Strict bool
	// Logger receives one debug record per request (default: discard).
	Logger *slog.Logger
}

// Server is a simulated Entra tenant (or several: state is per tenant, and the
// tenant comes from the bearer token's tid claim).
type Server struct {
	opts    Options
	log     *slog.Logger
	handler http.Handler

	clock *clock

	mu      sync.Mutex
	tenants map[string]*tenant // by lower-case domain
	byTID   map[string]*tenant

	faults *faultState
	quota  quotaState

	auditMu      sync.Mutex
	audit        []AuditEntry
	memberWrites map[string]map[string]*MemberWrite // tenant/group -> user id

	reqSeq atomic.Uint64

	idOnce sync.Once
	id     *identityState

	srvMu    sync.Mutex
	httpSrv  *http.Server
	listener net.Listener
	baseURL  string
}

// New builds a Server. It validates options and creates the default tenant.
func New(opts Options) (*Server, error) {
	if opts.Users < 0 {
		return nil, fmt.Errorf("entrasim: new: Users must be >= 0, got %d", opts.Users)
	}
	if opts.Users == 0 {
		opts.Users = 200
	}
	if opts.TimeScale == 0 {
		opts.TimeScale = 1
	}
	if opts.Tenant == "" {
		opts.Tenant = DefaultTenant
	}
	opts.Tenant = strings.ToLower(opts.Tenant)
	if opts.Roles == nil {
		opts.Roles = AllRoles()
	}
	if err := opts.Faults.validate(); err != nil {
		return nil, fmt.Errorf("entrasim: new: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		opts:    opts,
		log:     log,
		clock:   newClock(opts.TimeScale),
		tenants: map[string]*tenant{},
		byTID:   map[string]*tenant{},
		faults:  newFaultState(opts.Seed, opts.Faults),
	}
	s.quota.q, s.quota.windows = opts.Quota, map[string]*window{}
	s.tenant(opts.Tenant)
	s.handler = s.routes()
	return s, nil
}

// Handler serves the simulator: /v1.0, /api and /_sim.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on addr (for example "127.0.0.1:0") and serves in the
// background. It returns the base URL, such as "http://127.0.0.1:PORT".
func (s *Server) Start(addr string) (string, error) {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.httpSrv != nil {
		return "", errors.New("entrasim: start: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("entrasim: start: %w", err)
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.httpSrv, s.listener = srv, ln
	s.baseURL = "http://" + ln.Addr().String()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("entrasim: serve", "err", err)
		}
	}()
	return s.baseURL, nil
}

// BaseURL is the URL Start returned, or "" before Start.
func (s *Server) BaseURL() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.baseURL
}

// Close stops the server started by Start. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeIdentity()
	s.srvMu.Lock()
	srv := s.httpSrv
	s.httpSrv = nil
	s.srvMu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("entrasim: close: %w", err)
	}
	return nil
}

// Now is the simulated time.
func (s *Server) Now() time.Time { return s.clock.now() }

// AdvanceClock moves the simulated clock forward by d.
func (s *Server) AdvanceClock(d time.Duration) { s.clock.advance(d) }

// tenant returns the tenant for a domain or tenant id, creating it on first use.
func (s *Server) tenant(nameOrID string) *tenant {
	key := strings.ToLower(nameOrID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tenants[key]; ok {
		return t
	}
	if t, ok := s.byTID[key]; ok {
		return t
	}
	domain := key
	if isGUID(key) {
		// A token minted elsewhere for an unknown tenant id: give it a domain.
		domain = key[:8] + ".onmicrosoft.com"
	}
	t := newTenant(domain, s.opts.Users, s.opts.Seed, s.opts.NoPremium, s.opts.Org, s.clock.now())
	if s.opts.Strict {
		t.methodsPolicy.policyMigrationState = "" // new tenants report null
	}
	if isGUID(key) {
		t.id = key
	}
	s.tenants[domain] = t
	s.byTID[t.id] = t
	return t
}

// lookupTenant finds an existing tenant without creating one.
func (s *Server) lookupTenant(nameOrID string) (*tenant, bool) {
	key := strings.ToLower(nameOrID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tenants[key]; ok {
		return t, true
	}
	t, ok := s.byTID[key]
	return t, ok
}

// clock is simulated time: start + scale*elapsed real time + advances.
type clock struct {
	start     time.Time
	realStart time.Time
	scale     float64
	advanced  atomic.Int64
}

func newClock(scale float64) *clock {
	now := time.Now().UTC()
	return &clock{start: now.Truncate(time.Second), realStart: now, scale: scale}
}

func (c *clock) now() time.Time {
	t := c.start.Add(time.Duration(c.advanced.Load()))
	if c.scale > 0 {
		t = t.Add(time.Duration(c.scale * float64(time.Since(c.realStart))))
	}
	return t
}

func (c *clock) advance(d time.Duration) {
	if d > 0 {
		c.advanced.Add(int64(d))
	}
}
