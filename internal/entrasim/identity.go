package entrasim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The Microsoft identity platform, as far as a public client's device code
// sign-in and silent refresh need it (v2.0 endpoints, as MSAL calls them):
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration
//	POST /{tenant}/oauth2/v2.0/devicecode
//	POST /{tenant}/oauth2/v2.0/token   device_code and refresh_token grants
//
// served over HTTPS (MSAL refuses an http authority) with a certificate
// made at start (IdentityCA). Lifetimes run on the simulator's clock, so a
// time-scaled simulator expires tokens in seconds; the token response's
// expires_in is in real seconds, as a client's cache counts. Errors have
// the documented shape: {"error", "error_description": "AADSTSnnnnn: ...",
// "error_codes", "timestamp", "trace_id", "correlation_id"}.
//
// A person "signs in" by approving the user code through the control
// endpoint POST /_sim/devicecode/approve?code=USERCODE&upn=UPN (the browser
// step); POST /_sim/signin/revoke?upn=UPN revokes every refresh token of
// that user (as "Revoke sessions" does); /_sim/signin/consent?client=ID&granted=false
// withdraws admin consent for a client.

// Identity lifetimes (simulated time) and how a sign-in stands.
type Identity struct {
	// AccessTokenLifetime defaults to 1 h (Entra's default is 60-90 min).
	AccessTokenLifetime time.Duration
	// RefreshTokenInactivity defaults to 90 days (Entra's sliding window).
	RefreshTokenInactivity time.Duration
}

// IdentityStats counts what the identity endpoints did.
type IdentityStats struct {
	DeviceCodes     int `json:"deviceCodes"`
	DeviceCodeLogin int `json:"deviceCodeLogins"`
	Refreshes       int `json:"refreshes"`
	RefusedGrants   int `json:"refusedGrants"`
	// WebSignIns counts authorization codes redeemed (OpenID Connect).
	WebSignIns int `json:"webSignIns"`
	// ExpiredRefused counts API requests refused because their access
	// token had expired.
	ExpiredRefused int `json:"expiredRefused"`
}

type deviceCode struct {
	tenant   *tenant
	client   string
	scope    string
	userCode string
	expires  time.Time // simulated
	upn      string    // set when approved
	redeemed bool
}

type refreshToken struct {
	tenant   *tenant
	client   string
	scope    string
	upn      string
	lastUsed time.Time // simulated
	used     bool      // rotated: a refresh token is redeemed once
}

type identityState struct {
	mu        sync.Mutex
	cfg       Identity
	codes     map[string]*deviceCode // by device_code
	byUser    map[string]string      // user_code -> device_code
	refresh   map[string]*refreshToken
	noConsent map[string]bool // client ids without admin consent
	stats     IdentityStats
	oidc      *oidcState // web sign-in (oidc.go), made on first use

	srv     *http.Server
	baseURL string
	caPEM   []byte
}

func (s *Server) identity() *identityState {
	s.idOnce.Do(func() {
		s.id = &identityState{codes: map[string]*deviceCode{}, byUser: map[string]string{},
			refresh: map[string]*refreshToken{}, noConsent: map[string]bool{}}
		s.id.cfg = Identity{AccessTokenLifetime: time.Hour, RefreshTokenInactivity: 90 * 24 * time.Hour}
	})
	return s.id
}

// SetIdentity changes the token lifetimes (zero keeps a value).
func (s *Server) SetIdentity(cfg Identity) {
	id := s.identity()
	id.mu.Lock()
	defer id.mu.Unlock()
	if cfg.AccessTokenLifetime > 0 {
		id.cfg.AccessTokenLifetime = cfg.AccessTokenLifetime
	}
	if cfg.RefreshTokenInactivity > 0 {
		id.cfg.RefreshTokenInactivity = cfg.RefreshTokenInactivity
	}
}

// IdentityStats returns the identity endpoints' counters.
func (s *Server) IdentityStats() IdentityStats {
	id := s.identity()
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.stats
}

// StartIdentity serves the identity endpoints over HTTPS on addr and returns
// the authority host URL (https://127.0.0.1:port). IdentityCA is the
// certificate a client must trust.
func (s *Server) StartIdentity(addr string) (string, error) {
	id := s.identity()
	id.mu.Lock()
	defer id.mu.Unlock()
	if id.srv != nil {
		return id.baseURL, nil
	}
	cert, caPEM, err := selfSigned()
	if err != nil {
		return "", fmt.Errorf("entrasim: identity: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("entrasim: identity: %w", err)
	}
	id.srv = &http.Server{Handler: http.HandlerFunc(s.serveIdentity), ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	id.baseURL, id.caPEM = "https://"+ln.Addr().String(), caPEM
	srv := id.srv
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("entrasim: identity", "err", err)
		}
	}()
	return id.baseURL, nil
}

// IdentityURL is the authority host StartIdentity returned ("" before).
func (s *Server) IdentityURL() string {
	id := s.identity()
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.baseURL
}

// IdentityCA is the PEM certificate the identity endpoints present.
func (s *Server) IdentityCA() []byte {
	id := s.identity()
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.caPEM
}

func (s *Server) closeIdentity() {
	if s.id == nil {
		return
	}
	s.id.mu.Lock()
	srv := s.id.srv
	s.id.srv = nil
	s.id.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "entrasim identity"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request) {
	parts := strings.SplitN(strings.Trim(r.URL.Path, "/"), "/", 2)
	if len(parts) != 2 {
		aadError(w, http.StatusNotFound, "invalid_request", 90002, "Tenant '' not found.")
		return
	}
	t, ok := s.lookupTenant(parts[0])
	if !ok {
		aadError(w, http.StatusBadRequest, "invalid_tenant", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", parts[0]))
		return
	}
	host := "https://" + r.Host
	switch {
	case parts[1] == "v2.0/.well-known/openid-configuration" && r.Method == http.MethodGet:
		base := host + "/" + parts[0]
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                host + "/" + t.id + "/v2.0",
			"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
			"token_endpoint":                        base + "/oauth2/v2.0/token",
			"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
			"jwks_uri":                              host + "/" + t.id + "/discovery/v2.0/keys",
			"code_challenge_methods_supported":      []string{"plain", "S256"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
			"tenant_region_scope":                   "NA",
			"cloud_instance_name":                   "microsoftonline.com",
		})
	case parts[1] == "oauth2/v2.0/authorize" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		s.serveAuthorize(w, r, t)
	case parts[1] == "discovery/v2.0/keys" && r.Method == http.MethodGet:
		id := s.identity()
		id.mu.Lock()
		keys := id.oidcLocked().jwks()
		id.mu.Unlock()
		writeJSON(w, http.StatusOK, keys)
	case parts[1] == "oauth2/v2.0/devicecode" && r.Method == http.MethodPost:
		s.serveDeviceCode(w, r, t, host)
	case parts[1] == "oauth2/v2.0/token" && r.Method == http.MethodPost:
		s.serveTokenGrant(w, r, t)
	default:
		aadError(w, http.StatusNotFound, "invalid_request", 900144, "The request is not supported: "+r.Method+" "+r.URL.Path)
	}
}

func (s *Server) serveDeviceCode(w http.ResponseWriter, r *http.Request, t *tenant, host string) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") == "" {
		aadError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	id := s.identity()
	id.mu.Lock()
	defer id.mu.Unlock()
	dc := &deviceCode{tenant: t, client: r.PostForm.Get("client_id"), scope: r.PostForm.Get("scope"),
		userCode: strings.ToUpper(randomHex(4)), expires: s.Now().Add(15 * time.Minute)}
	code := randomHex(24)
	id.codes[code], id.byUser[dc.userCode] = dc, code
	id.stats.DeviceCodes++
	verify := host + "/devicelogin"
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": code, "user_code": dc.userCode, "verification_uri": verify,
		"expires_in": 900, "interval": 1,
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, dc.userCode),
	})
}

func (s *Server) serveTokenGrant(w http.ResponseWriter, r *http.Request, t *tenant) {
	if err := r.ParseForm(); err != nil {
		aadError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded.")
		return
	}
	f := r.PostForm
	id := s.identity()
	id.mu.Lock()
	defer id.mu.Unlock()
	now := s.Now()
	refuse := func(status int, code string, aadsts int, msg string) {
		id.stats.RefusedGrants++
		aadError(w, status, code, aadsts, msg)
	}
	switch f.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:device_code", "device_code": // MSAL sends the short form
		dc, ok := id.codes[f.Get("device_code")]
		switch {
		case !ok || dc.tenant != t:
			refuse(http.StatusBadRequest, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
		case now.After(dc.expires):
			refuse(http.StatusBadRequest, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
		case dc.redeemed:
			refuse(http.StatusBadRequest, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
		case dc.upn == "":
			aadError(w, http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
		case id.noConsent[dc.client]:
			refuse(http.StatusBadRequest, "invalid_grant", 65001, fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s'. Send an interactive authorization request for this user and resource.", dc.client))
		default:
			dc.redeemed = true
			id.stats.DeviceCodeLogin++
			s.issueTokens(w, id, t, dc.client, dc.scope, dc.upn, now)
		}
	case "refresh_token":
		rt, ok := id.refresh[f.Get("refresh_token")]
		switch {
		case !ok || rt.tenant != t:
			refuse(http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		case rt.used:
			refuse(http.StatusBadRequest, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
		case now.Sub(rt.lastUsed) > id.cfg.RefreshTokenInactivity:
			refuse(http.StatusBadRequest, "invalid_grant", 700082, fmt.Sprintf("The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.",
				rt.lastUsed.UTC().Format(time.RFC3339), id.cfg.RefreshTokenInactivity))
		case id.noConsent[rt.client]:
			refuse(http.StatusBadRequest, "invalid_grant", 65001, fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s'.", rt.client))
		default:
			rt.used = true
			id.stats.Refreshes++
			scope := f.Get("scope")
			if scope == "" {
				scope = rt.scope
			}
			s.issueTokens(w, id, t, rt.client, scope, rt.upn, now)
		}
	case "authorization_code":
		s.redeemCode(w, r, id, t, now)
	default:
		refuse(http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+f.Get("grant_type")+"'.")
	}
}

// issueTokens answers a grant: an access token for the portal API (with
// the Graph scopes an admin's token carries), a rotated refresh token and
// an id token. Called with id.mu held.
func (s *Server) issueTokens(w http.ResponseWriter, id *identityState, t *tenant, client, scope, upn string, now time.Time) {
	life := id.cfg.AccessTokenLifetime
	oid := guidFrom(hashString(t.id), hashString(strings.ToLower(upn)))
	c := claims{Aud: portalResource, Tid: t.id, Scp: strings.Join(append([]string{portalScope}, AllRoles()...), " "),
		UPN: upn, Appid: client, Iss: "https://sts.windows.net/" + t.id + "/"}
	c.Ver, c.Iat, c.Nbf, c.Exp = "1.0", now.Unix(), now.Unix(), now.Add(life).Unix()
	access := encodeClaims(c)
	rt := randomHex(32)
	id.refresh[rt] = &refreshToken{tenant: t, client: client, scope: scope, upn: upn, lastUsed: now}
	idTok := encodeClaims(map[string]any{"aud": client, "iss": id.baseURL + "/" + t.id + "/v2.0", "iat": now.Unix(),
		"nbf": now.Unix(), "exp": now.Add(life).Unix(), "oid": oid, "tid": t.id, "sub": oid,
		"preferred_username": upn, "name": upn, "ver": "2.0"})
	info, _ := json.Marshal(map[string]string{"uid": oid, "utid": t.id})
	realSecs := int64(life.Seconds() / s.timeScale())
	if realSecs < 1 {
		realSecs = 1
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "scope": scope, "expires_in": realSecs, "ext_expires_in": realSecs,
		"access_token": access, "refresh_token": rt, "id_token": idTok,
		"client_info": base64.RawURLEncoding.EncodeToString(info),
	})
}

func (s *Server) timeScale() float64 {
	if s.opts.TimeScale > 0 {
		return s.opts.TimeScale
	}
	return 1
}

// ApproveDeviceCode signs upn in for the device code with this user code
// (what the person does in the browser). It fails for an unknown or
// expired code.
func (s *Server) ApproveDeviceCode(userCode, upn string) error {
	id := s.identity()
	id.mu.Lock()
	defer id.mu.Unlock()
	dc, ok := id.codes[id.byUser[strings.ToUpper(strings.TrimSpace(userCode))]]
	switch {
	case !ok:
		return fmt.Errorf("no device code %q is waiting", userCode)
	case s.Now().After(dc.expires):
		return fmt.Errorf("device code %q has expired", userCode)
	case upn == "":
		return errors.New("say who signs in (upn)")
	}
	dc.upn = upn
	return nil
}

// RevokeSignIns revokes every refresh token of upn (Revoke sessions);
// access tokens already issued stay valid until they expire, as in Entra.
func (s *Server) RevokeSignIns(upn string) int {
	id := s.identity()
	id.mu.Lock()
	defer id.mu.Unlock()
	n := 0
	for _, rt := range id.refresh {
		if strings.EqualFold(rt.upn, upn) && !rt.used {
			rt.used = true
			n++
		}
	}
	return n
}

// SetConsent grants or withdraws admin consent for a client id.
func (s *Server) SetConsent(clientID string, granted bool) {
	id := s.identity()
	id.mu.Lock()
	defer id.mu.Unlock()
	if granted {
		delete(id.noConsent, clientID)
	} else {
		id.noConsent[clientID] = true
	}
}

// tokenExpired reports (and counts) an access token past its exp on the
// simulated clock.
func (s *Server) tokenExpired(c claims) bool {
	if c.Exp == 0 || c.Exp >= s.Now().Unix() {
		return false
	}
	id := s.identity()
	id.mu.Lock()
	id.stats.ExpiredRefused++
	id.mu.Unlock()
	return true
}

func aadError(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	now := time.Now().UTC()
	trace := guidFrom(hashString(now.String()), uint64(aadsts))
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, msg, trace, trace, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    trace,
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
