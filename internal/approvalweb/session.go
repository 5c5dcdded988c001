package approvalweb

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Sessions are stateless, HMAC-signed cookies, so that any worker behind a
// load balancer can serve any request (every worker needs the same
// session key). A session names the person, the Entra object id it signed
// in as, when, and its CSRF token; a decision needs a session younger
// than FreshFor.

const (
	sessionCookie = "ssprflow_session"
	signinCookie  = "ssprflow_signin"
)

type session struct {
	Person string `json:"p"`
	Name   string `json:"n,omitempty"`
	OID    string `json:"o"`
	At     int64  `json:"t"` // sign-in, Unix seconds
	CSRF   string `json:"c"`
}

// signin is the state of one sign-in in flight (state, nonce, PKCE
// verifier, where to go back to).
type signin struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
	At       int64  `json:"t"`
}

type cookieCodec struct {
	key    []byte
	secure bool
}

func (c cookieCodec) encode(v any) string {
	b, _ := json.Marshal(v) // plain structs
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + base64.RawURLEncoding.EncodeToString(c.mac(body))
}

func (c cookieCodec) mac(body string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(body))
	return m.Sum(nil)
}

var errCookie = errors.New("cookie is not one this app signed")

func (c cookieCodec) decode(raw string, into any) error {
	body, sig, ok := strings.Cut(raw, ".")
	if !ok {
		return errCookie
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, c.mac(body)) {
		return errCookie
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return errCookie
	}
	return json.Unmarshal(b, into)
}

func (c cookieCodec) set(w http.ResponseWriter, name string, v any, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: c.encode(v), Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode})
}

func (c cookieCodec) clear(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode})
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
