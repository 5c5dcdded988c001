package payloadcrypt

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"go.temporal.io/sdk/converter"
)

// DefaultMaxBody caps a decode request (Temporal caps a payload at 2 MiB;
// the UI batches a few).
const DefaultMaxBody = 16 << 20

// HandlerOptions configure the codec endpoint.
type HandlerOptions struct {
	// Token, when set, is the bearer token every request must carry
	// (Authorization: Bearer TOKEN), compared in constant time.
	Token string
	// AllowedOrigins are the Temporal Web UI origins (scheme://host[:port])
	// that browsers may call the endpoint from. Other origins get 403.
	AllowedOrigins []string
	// MaxBody caps a request body (0 = DefaultMaxBody).
	MaxBody int64
}

// Handler is the Temporal Web UI's codec endpoint ("Codec Server"): POST
// {endpoint}/decode decodes payloads for those allowed to see them. It
// serves only /decode: the UI needs nothing else, and nobody needs to mint
// encrypted payloads over HTTP. CORS preflights are answered for the
// allowed origins only, without the token (browsers send none on a
// preflight); every other request needs the token.
func (c *Codec) Handler(o HandlerOptions) http.Handler {
	maxBody := o.MaxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	origins := make(map[string]bool, len(o.AllowedOrigins))
	for _, origin := range o.AllowedOrigins {
		origins[strings.TrimRight(origin, "/")] = true
	}
	var want [sha256.Size]byte
	if o.Token != "" {
		want = sha256.Sum256([]byte(o.Token))
	}
	inner := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" {
			if !origins[origin] {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			if origin == "" {
				http.Error(w, "not a CORS preflight", http.StatusBadRequest)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "POST")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			h.Set("Access-Control-Max-Age", "600")
			// Chrome's Private Network Access: a public UI page calling a
			// codec endpoint on a private or loopback address.
			if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
				h.Set("Access-Control-Allow-Private-Network", "true")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if o.Token != "" && !bearerMatches(r.Header.Get("Authorization"), want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ssprflow codec"`)
			http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/decode") {
			http.NotFound(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		inner.ServeHTTP(w, r)
	})
}

// bearerMatches compares digests so neither the token's bytes nor its
// length leak through timing.
func bearerMatches(header string, want [sha256.Size]byte) bool {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
