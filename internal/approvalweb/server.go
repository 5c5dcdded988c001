// Package approvalweb is the approval web app: an approver follows a link,
// signs in with their work account (OpenID Connect, authorization code
// flow with PKCE: Microsoft Entra ID in production, the tenant simulator's
// identity endpoints in dev and tests), sees what waits for them across
// rollouts, reads what the next stage changes and decides. A decision
// goes to the rollout through the same decider and workflow validator as
// one from the CLI: bound to the gate's current request, signed by the
// worker, refused for a non-approver, for the starter (self-approval) and
// twice for one person.
//
// Plain server-rendered HTML; no script is needed. Forms carry a CSRF
// token bound to the session; cookies are HttpOnly, SameSite=Lax and
// Secure behind https; a decision needs a sign-in younger than FreshFor.
package approvalweb

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/workflows"
)

// Rollouts reads rollouts for the pages.
type Rollouts interface {
	// Waiting returns the rollouts that wait on a gate or a manual task.
	Waiting(ctx context.Context) ([]workflows.State, error)
	// State reads one rollout.
	State(ctx context.Context, workflowID string) (workflows.State, error)
}

// Decider applies a decision as an authenticated person: via names the
// identity ("entra:<object id>").
type Decider interface {
	DecideAs(ctx context.Context, workflowID string, person config.Person, via string, dec approval.Decision) (approval.Verdict, error)
}

// People maps an Entra object id to a person of the worker configuration.
type People func(oid string) (config.Person, bool)

// Config configures the app.
type Config struct {
	// PublicURL is where approvers reach the app (links in notifications,
	// the redirect URI PublicURL/callback registered on the app).
	PublicURL string
	// Issuer is the OpenID Connect issuer, e.g.
	// https://login.microsoftonline.com/<tenant id>/v2.0.
	Issuer   string
	ClientID string
	// ClientSecret is for a confidential client; empty for a public one
	// (PKCE either way).
	ClientSecret string
	// HTTPClient reaches the identity provider (a private CA in dev).
	HTTPClient *http.Client
	// SessionKey signs session cookies (every worker the same).
	SessionKey []byte
	// FreshFor is how recent a sign-in must be to decide (default 15 min).
	FreshFor time.Duration
	// SessionFor is how long a session lasts (default 8 h).
	SessionFor time.Duration
	// SelfApproval is the worker's policy, to explain who may decide.
	SelfApproval bool
	Logger       *slog.Logger
}

// Server is the approval web app.
type Server struct {
	cfg      Config
	rollouts Rollouts
	decider  Decider
	people   People
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	cookies  cookieCodec
	origin   string
	log      *slog.Logger
}

// New discovers the identity provider and returns the app.
func New(ctx context.Context, cfg Config, rollouts Rollouts, decider Decider, people People) (*Server, error) {
	if cfg.FreshFor <= 0 {
		cfg.FreshFor = 15 * time.Minute
	}
	if cfg.SessionFor <= 0 {
		cfg.SessionFor = 8 * time.Hour
	}
	if len(cfg.SessionKey) < 32 {
		return nil, errors.New("approval web: the session key must be at least 32 bytes")
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || pub.Host == "" || (pub.Scheme != "https" && pub.Scheme != "http") {
		return nil, fmt.Errorf("approval web: publicURL %q is not an http(s) URL", cfg.PublicURL)
	}
	if cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, cfg.HTTPClient)
	}
	provider, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("approval web: identity provider %s: %w", cfg.Issuer, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := strings.TrimSuffix(cfg.PublicURL, "/")
	endpoint := provider.Endpoint()
	if cfg.ClientSecret == "" {
		endpoint.AuthStyle = oauth2.AuthStyleInParams // a public client names itself in the body
	}
	return &Server{cfg: cfg, rollouts: rollouts, decider: decider, people: people, log: log,
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: endpoint,
			RedirectURL: base + "/callback", Scopes: []string{oidc.ScopeOpenID, "profile"}},
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		cookies:  cookieCodec{key: cfg.SessionKey, secure: pub.Scheme == "https"},
		origin:   pub.Scheme + "://" + pub.Host,
	}, nil
}

// GateLink is the link to a gate's page under base (the app's public URL,
// or "" for a link relative to the app): the pages and notifications use it.
func GateLink(base, workflowID, gate string) string {
	return strings.TrimSuffix(base, "/") + "/gate?" + url.Values{"rollout": {workflowID}, "gate": {gate}}.Encode()
}

// Handler serves the app.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /signin", s.signin)
	mux.HandleFunc("GET /callback", s.callback)
	mux.HandleFunc("POST /signout", s.signout)
	mux.HandleFunc("GET /gate", s.gatePage)
	mux.HandleFunc("POST /gate", s.decide)
	return secureHeaders(mux)
}

func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// current returns the signed-in session, or false.
func (s *Server) current(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	var se session
	if s.cookies.decode(c.Value, &se) != nil || time.Since(time.Unix(se.At, 0)) > s.cfg.SessionFor {
		return session{}, false
	}
	return se, true
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/"
	}
	si := signin{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), Next: next, At: time.Now().Unix()}
	s.cookies.set(w, signinCookie, si, 10*time.Minute)
	http.Redirect(w, r, s.oauth.AuthCodeURL(si.State, oidc.Nonce(si.Nonce), oauth2.S256ChallengeOption(si.Verifier)), http.StatusFound)
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(signinCookie)
	var si signin
	if err != nil || s.cookies.decode(c.Value, &si) != nil || time.Since(time.Unix(si.At, 0)) > 10*time.Minute {
		s.fail(w, http.StatusBadRequest, "This sign-in has expired or did not start here. Sign in again.")
		return
	}
	s.cookies.clear(w, signinCookie)
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		s.fail(w, http.StatusUnauthorized, "Sign-in failed: "+e+": "+q.Get("error_description"))
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(si.State)) != 1 {
		s.fail(w, http.StatusBadRequest, "This sign-in's state does not match. Sign in again.")
		return
	}
	ctx := r.Context()
	if s.cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, s.cfg.HTTPClient)
	}
	tok, err := s.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(si.Verifier))
	if err != nil {
		s.log.Warn("approval web: code exchange", "err", err)
		s.fail(w, http.StatusUnauthorized, "The identity provider refused the sign-in. Sign in again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := s.verifier.Verify(ctx, raw)
	if err != nil || idt.Nonce != si.Nonce {
		s.log.Warn("approval web: id token", "err", err)
		s.fail(w, http.StatusUnauthorized, "The sign-in could not be verified. Sign in again.")
		return
	}
	var cl struct {
		OID  string `json:"oid"`
		UPN  string `json:"preferred_username"`
		Name string `json:"name"`
	}
	if err := idt.Claims(&cl); err != nil || cl.OID == "" {
		s.fail(w, http.StatusUnauthorized, "The sign-in carried no object id.")
		return
	}
	person, ok := s.people(cl.OID)
	if !ok {
		s.log.Warn("approval web: sign-in of an unmapped identity", "oid", cl.OID)
		s.fail(w, http.StatusForbidden, fmt.Sprintf("You signed in as %s (object id %s), who is nobody ssprflow knows: ask an administrator to add that object id under people: in the worker configuration.", cl.UPN, cl.OID))
		return
	}
	name := person.Name
	if name == "" {
		name = cl.Name
	}
	s.cookies.set(w, sessionCookie, session{Person: person.ID, Name: name, OID: cl.OID, At: time.Now().Unix(), CSRF: randomToken()}, s.cfg.SessionFor)
	s.log.Info("approval web: signed in", "person", person.ID, "oid", cl.OID)
	http.Redirect(w, r, si.Next, http.StatusFound)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	if se, ok := s.current(r); ok && s.sameOrigin(r) && csrfOK(se, r.PostFormValue("csrf")) {
		s.cookies.clear(w, sessionCookie)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// sameOrigin refuses a cross-site form post (with SameSite cookies and the
// CSRF token, a third line of defence).
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || o == s.origin
}

func csrfOK(se session, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(se.CSRF)) == 1
}

// item is one open gate or task on the "waiting for me" list.
type item struct {
	State workflows.State
	Gate  approval.PendingGate
	URL   string
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	se, ok := s.current(r)
	if !ok {
		s.render(w, http.StatusOK, "signedout", map[string]any{})
		return
	}
	states, err := s.rollouts.Waiting(r.Context())
	if err != nil {
		s.log.Error("approval web: list rollouts", "err", err)
		s.fail(w, http.StatusBadGateway, "The rollouts could not be read; try again.")
		return
	}
	var mine, others []item
	for _, st := range states {
		for _, g := range s.pendingFor(st, se.Person) {
			it := item{State: st, Gate: g, URL: GateLink("", st.WorkflowID, g.Gate)}
			if g.MayDecide {
				mine = append(mine, it)
			} else if slices.Contains(st.Approvers, se.Person) || st.StartedBy == se.Person {
				others = append(others, it)
			}
		}
	}
	s.render(w, http.StatusOK, "home", map[string]any{"S": se, "Mine": mine, "Others": others})
}

// pendingFor is what st waits on, as person may decide it.
func (s *Server) pendingFor(st workflows.State, person string) []approval.PendingGate {
	return st.PendingFor(person, s.cfg.SelfApproval)
}

// gateView is what the gate page shows.
type gateView struct {
	S        session
	State    workflows.State
	Gate     workflows.Gate
	Pending  approval.PendingGate
	Next     string
	Changes  []workflows.SettingChange
	Members  []workflows.Step
	Coverage []workflows.Coverage
	Fresh    bool
	// Approvals counts the gate's approvals so far.
	Approvals int
	Verdict   *approval.Verdict
	Now       time.Time
}

func (s *Server) loadGate(w http.ResponseWriter, r *http.Request, se session, id, gate string) (gateView, bool) {
	st, err := s.rollouts.State(r.Context(), id)
	var g *workflows.Gate
	for i := range st.Gates {
		if st.Gates[i].Name == gate {
			g = &st.Gates[i]
		}
	}
	// One answer for "no such rollout or gate" and "not yours".
	if err != nil || g == nil || (!slices.Contains(st.Approvers, se.Person) && st.StartedBy != se.Person) {
		s.fail(w, http.StatusNotFound, "Nothing waits for you there (no such rollout or gate, or you have no part in it).")
		return gateView{}, false
	}
	v := gateView{S: se, State: st, Gate: *g, Coverage: st.Coverage, Now: time.Now(),
		Fresh: time.Since(time.Unix(se.At, 0)) <= s.cfg.FreshFor}
	for _, pg := range s.pendingFor(st, se.Person) {
		if pg.Gate == gate {
			v.Pending = pg
		}
	}
	for _, d := range g.Decisions {
		if d.Verdict == workflows.VerdictApprove {
			v.Approvals++
		}
	}
	// The next stage is the one after the gate's; what it changes is the
	// preflight's record of the plan's changes and the steps it runs.
	stages := []string{}
	for _, step := range st.Steps {
		if len(stages) == 0 || stages[len(stages)-1] != step.Stage {
			stages = append(stages, step.Stage)
		}
	}
	for i, name := range stages {
		if name == g.Stage && i+1 < len(stages) {
			v.Next = stages[i+1]
		}
	}
	if st.Preflight != nil {
		v.Changes = st.Preflight.Changes
	}
	for _, step := range st.Steps {
		if step.Stage == v.Next {
			v.Members = append(v.Members, step)
		}
	}
	return v, true
}

func (s *Server) gatePage(w http.ResponseWriter, r *http.Request) {
	se, ok := s.current(r)
	if !ok {
		http.Redirect(w, r, "/signin?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusFound)
		return
	}
	v, ok := s.loadGate(w, r, se, r.URL.Query().Get("rollout"), r.URL.Query().Get("gate"))
	if !ok {
		return
	}
	s.render(w, http.StatusOK, "gate", v)
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	se, ok := s.current(r)
	if !ok {
		s.fail(w, http.StatusUnauthorized, "Sign in to decide: a decision needs a session.")
		return
	}
	if !s.sameOrigin(r) || !csrfOK(se, r.PostFormValue("csrf")) {
		s.log.Warn("approval web: decision refused: CSRF token or origin", "person", se.Person, "origin", r.Header.Get("Origin"))
		s.fail(w, http.StatusForbidden, "This form did not come from this app's page (CSRF check). Open the gate page and decide there.")
		return
	}
	id, gate := r.PostFormValue("rollout"), r.PostFormValue("gate")
	v, ok := s.loadGate(w, r, se, id, gate)
	if !ok {
		return
	}
	if !v.Fresh {
		s.fail(w, http.StatusUnauthorized, "Your sign-in is older than "+s.cfg.FreshFor.String()+": sign in again to decide.")
		return
	}
	verdict := r.PostFormValue("verdict")
	if verdict != string(workflows.VerdictApprove) && verdict != string(workflows.VerdictReject) {
		s.fail(w, http.StatusBadRequest, "Choose approve or reject.")
		return
	}
	person, ok := s.people(se.OID)
	if !ok || person.ID != se.Person {
		s.fail(w, http.StatusForbidden, "Your identity is no longer mapped to a person: sign in again.")
		return
	}
	dec := approval.Decision{ID: approval.NewDecisionID(), Gate: gate, Verdict: verdict, RequestID: r.PostFormValue("request"),
		Comment: strings.TrimSpace(r.PostFormValue("comment")), At: time.Now().UTC()}
	res, err := s.decider.DecideAs(r.Context(), id, person, "entra:"+se.OID, dec)
	if err != nil {
		s.log.Error("approval web: decide", "rollout", id, "err", err)
		s.fail(w, http.StatusBadGateway, "The decision could not be delivered; nothing was decided. Try again.")
		return
	}
	s.log.Info("approval web: decision", "rollout", id, "gate", gate, "person", person.ID, "verdict", verdict, "accepted", res.Accepted, "reason", res.Reason)
	v2, ok := s.loadGate(w, r, se, id, gate)
	if !ok {
		return
	}
	v2.Verdict = &res
	status := http.StatusOK
	if !res.Accepted {
		status = http.StatusConflict
	}
	s.render(w, status, "gate", v2)
}

func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	s.render(w, status, "error", map[string]any{"Message": msg})
}
