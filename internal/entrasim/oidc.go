package entrasim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// OpenID Connect sign-in of people, as the identity platform's v2.0
// endpoints do it for a web app (authorization code flow with PKCE):
//
//	GET  /{tenant}/oauth2/v2.0/authorize   the sign-in page (a form: who are you)
//	POST /{tenant}/oauth2/v2.0/authorize   signs that user in, redirects with a code
//	POST /{tenant}/oauth2/v2.0/token       grant_type=authorization_code (+ code_verifier)
//	GET  /{tenant}/discovery/v2.0/keys     the JWKS the id tokens are signed with (RS256)
//
// A client must be registered with its redirect URIs (RegisterWebApp), as
// an app registration's reply URLs are; anything else is refused with the
// AADSTS error Entra gives. The sign-in page asks only for the user's
// name: the simulator has no passwords, and the point is which person the
// app maps the id token to.

// webApp is a registered web client.
type webApp struct {
	redirects []string
}

type authCode struct {
	tenant    *tenant
	client    string
	redirect  string
	challenge string
	nonce     string
	upn       string
	expires   time.Time // simulated
}

// oidcState is kept in identityState.
type oidcState struct {
	key   *rsa.PrivateKey
	kid   string
	apps  map[string]webApp
	codes map[string]*authCode
}

func (id *identityState) oidcLocked() *oidcState {
	if id.oidc == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		id.oidc = &oidcState{key: key, kid: randomHex(8), apps: map[string]webApp{}, codes: map[string]*authCode{}}
	}
	return id.oidc
}

// RegisterWebApp registers a web client id with its redirect URIs.
func (s *Server) RegisterWebApp(clientID string, redirectURIs ...string) {
	id := s.identity()
	id.mu.Lock()
	defer id.mu.Unlock()
	id.oidcLocked().apps[clientID] = webApp{redirects: slices.Clone(redirectURIs)}
}

// Issuer is the OpenID Connect issuer of a tenant (domain or id):
// https://host/{tenant id}/v2.0, as Entra names it.
func (s *Server) Issuer(tenant string) string {
	return s.IdentityURL() + "/" + s.tenant(tenant).id + "/v2.0"
}

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title>
<style>body{font-family:system-ui,sans-serif;background:#f2f2f2}main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;box-shadow:0 2px 6px #0003}
input,button{font-size:1rem;width:100%;padding:.5rem;margin:.3rem 0;box-sizing:border-box}button{background:#0067b8;color:#fff;border:0}</style></head>
<body><main><h1>Sign in</h1><p>{{.Tenant}} (tenant simulator)</p>
{{if .Error}}<p role="alert" style="color:#a00">{{.Error}}</p>{{end}}
<form method="post"><label for="login">Email or username</label>
<input id="login" name="login" type="email" autocomplete="username" value="{{.Hint}}" required>
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<button id="signin" type="submit">Sign in</button></form></main></body></html>`))

// serveAuthorize is the sign-in page and its form.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request, t *tenant) {
	if err := r.ParseForm(); err != nil {
		aadError(w, http.StatusBadRequest, "invalid_request", 900144, "The request is malformed.")
		return
	}
	f := r.Form
	client, redirect := f.Get("client_id"), f.Get("redirect_uri")
	id := s.identity()
	id.mu.Lock()
	app, ok := id.oidcLocked().apps[client]
	id.mu.Unlock()
	switch {
	case !ok:
		aadError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", client, t.name))
		return
	case !slices.Contains(app.redirects, redirect):
		aadError(w, http.StatusBadRequest, "invalid_request", 50011, fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", redirect, client))
		return
	case f.Get("response_type") != "code":
		aadError(w, http.StatusBadRequest, "unsupported_response_type", 700054, "response_type 'code' is the only one this application may use.")
		return
	case f.Get("code_challenge") == "" || f.Get("code_challenge_method") != "S256":
		aadError(w, http.StatusBadRequest, "invalid_request", 9002325, "Proof Key for Code Exchange is required for cross-origin authorization code redemption.")
		return
	}
	params := map[string]string{}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "response_mode"} {
		if v := f.Get(k); v != "" {
			params[k] = v
		}
	}
	page := struct {
		Tenant, Hint, Error string
		Params              map[string]string
	}{Tenant: t.domain, Hint: f.Get("login_hint"), Params: params}
	if r.Method == http.MethodPost {
		login := strings.ToLower(strings.TrimSpace(r.PostForm.Get("login")))
		t.mu.Lock()
		i, found := t.byUPN[login]
		var disabled bool
		if found {
			disabled = t.users[i].disabled
		}
		t.mu.Unlock()
		switch {
		case !found:
			page.Error, page.Hint = "We couldn't find an account with that username.", login
		case disabled:
			page.Error, page.Hint = "Your account has been locked. Contact your support person to unlock it.", login
		default:
			code := randomHex(24)
			id.mu.Lock()
			id.oidcLocked().codes[code] = &authCode{tenant: t, client: client, redirect: redirect, challenge: f.Get("code_challenge"),
				nonce: f.Get("nonce"), upn: login, expires: s.Now().Add(10 * time.Minute)}
			id.mu.Unlock()
			u, _ := url.Parse(redirect)
			q := u.Query()
			q.Set("code", code)
			if st := f.Get("state"); st != "" {
				q.Set("state", st)
			}
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.String(), http.StatusFound)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// No form-action: Chrome applies it to the redirect back to the app.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_ = signInPage.Execute(w, page)
}

// redeemCode answers grant_type=authorization_code; id.mu is held.
func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request, id *identityState, t *tenant, now time.Time) {
	f := r.PostForm
	o := id.oidcLocked()
	ac, ok := o.codes[f.Get("code")]
	if ok {
		delete(o.codes, f.Get("code")) // a code is redeemed once
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	client := f.Get("client_id")
	if u, _, ok := r.BasicAuth(); ok && client == "" {
		client = u // client_secret_basic
	}
	switch {
	case !ok || ac.tenant != t:
		id.stats.RefusedGrants++
		aadError(w, http.StatusBadRequest, "invalid_grant", 70000, "The provided authorization code is invalid or has expired.")
	case now.After(ac.expires):
		id.stats.RefusedGrants++
		aadError(w, http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity.")
	case ac.client != client || ac.redirect != f.Get("redirect_uri"):
		id.stats.RefusedGrants++
		aadError(w, http.StatusBadRequest, "invalid_grant", 50148, "The code_verifier does not match the code_challenge supplied in the authorization request, or the redirect URI or client differ.")
	case base64.RawURLEncoding.EncodeToString(sum[:]) != ac.challenge:
		id.stats.RefusedGrants++
		aadError(w, http.StatusBadRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	default:
		id.stats.WebSignIns++
		oid := guidFrom(hashString(t.id), hashString(ac.upn))
		t.mu.Lock()
		name := ac.upn
		if i, ok := t.byUPN[ac.upn]; ok {
			name, oid = t.users[i].displayName, t.users[i].id
		}
		t.mu.Unlock()
		// The id token is checked by the app against the wall clock, not the
		// simulated one: its times are real, its lifetime scaled down.
		realSecs := max(int64(id.cfg.AccessTokenLifetime.Seconds()/s.timeScale()), 60)
		wall := time.Now()
		claims := map[string]any{"aud": ac.client, "iss": id.baseURL + "/" + t.id + "/v2.0", "iat": wall.Unix(), "nbf": wall.Unix(),
			"exp": wall.Unix() + realSecs, "oid": oid, "sub": oid, "tid": t.id, "preferred_username": ac.upn, "name": name, "ver": "2.0"}
		if ac.nonce != "" {
			claims["nonce"] = ac.nonce
		}
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "scope": f.Get("scope"), "expires_in": realSecs,
			"id_token": o.sign(claims), "access_token": o.sign(map[string]any{"aud": "00000003-0000-0000-c000-000000000000", "tid": t.id, "oid": oid, "exp": wall.Unix() + realSecs})})
	}
}

// sign makes an RS256 JWT.
func (o *oidcState) sign(claims map[string]any) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": o.kid})
	body, _ := json.Marshal(claims)
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(body)
	sum := sha256.Sum256([]byte(signing))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, o.key, crypto.SHA256, sum[:])
	return signing + "." + enc.EncodeToString(sig)
}

func (o *oidcState) jwks() map[string]any {
	enc := base64.RawURLEncoding
	return map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": o.kid,
		"n": enc.EncodeToString(o.key.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(o.key.E)).Bytes()),
	}}}
}
