package payloadcrypt

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	uiOrigin = "https://temporal-ui.corp.example"
	token    = "codec-token-for-tests"
)

// TestHandlerOverHTTP drives the codec endpoint as the Temporal Web UI
// does, over a real listener.
func TestHandlerOverHTTP(t *testing.T) {
	c := oneKey(t)
	srv := httptest.NewServer(c.Handler(HandlerOptions{Token: token, AllowedOrigins: []string{uiOrigin + "/"}}))
	t.Cleanup(srv.Close)
	sealed, err := c.Encode([]*commonpb.Payload{plain(upn)})
	if err != nil {
		t.Fatal(err)
	}
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: sealed})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path string, header map[string]string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	auth := map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json", "X-Namespace": "default"}

	t.Run("decode with the token", func(t *testing.T) {
		resp, b := do(http.MethodPost, "/decode", auth, body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var out commonpb.Payloads
		if err := json.Unmarshal(b, &out); err != nil || len(out.Payloads) != 1 {
			t.Fatalf("response %s: %v", b, err)
		}
		if got := string(out.Payloads[0].Data); got != `"`+upn+`"` {
			t.Errorf("decoded %q", got)
		}
	})
	t.Run("decode from the allowed origin", func(t *testing.T) {
		h := map[string]string{"Origin": uiOrigin}
		for k, v := range auth {
			h[k] = v
		}
		resp, b := do(http.MethodPost, "/default/decode", h, body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != uiOrigin {
			t.Errorf("status %d, allow-origin %q: %s", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), b)
		}
	})
	for _, tc := range []struct {
		name   string
		method string
		path   string
		header map[string]string
		want   int
	}{
		{"no token", http.MethodPost, "/decode", map[string]string{"Content-Type": "application/json"}, http.StatusUnauthorized},
		{"wrong token", http.MethodPost, "/decode", map[string]string{"Authorization": "Bearer " + token + "x"}, http.StatusUnauthorized},
		{"token without Bearer", http.MethodPost, "/decode", map[string]string{"Authorization": token}, http.StatusUnauthorized},
		{"another origin with the token", http.MethodPost, "/decode", map[string]string{"Authorization": "Bearer " + token, "Origin": "https://evil.example"}, http.StatusForbidden},
		{"encode is not served", http.MethodPost, "/encode", auth, http.StatusNotFound},
		{"GET is not served", http.MethodGet, "/decode", auth, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := do(tc.method, tc.path, tc.header, body)
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if strings.Contains(string(b), upn) {
				t.Errorf("refused response shows the UPN: %s", b)
			}
		})
	}

	preflight := func(origin string) *http.Response {
		resp, _ := do(http.MethodOptions, "/decode", map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers":         "authorization,content-type,x-namespace",
			"Access-Control-Request-Private-Network": "true",
		}, nil)
		return resp
	}
	t.Run("preflight from the allowed origin", func(t *testing.T) {
		resp := preflight(uiOrigin)
		h := resp.Header
		if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != uiOrigin ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || h.Get("Access-Control-Allow-Private-Network") != "true" {
			t.Errorf("status %d, headers %v", resp.StatusCode, h)
		}
	})
	t.Run("preflight from another origin", func(t *testing.T) {
		resp := preflight("https://evil.example")
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("status %d, allow-origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	})
	t.Run("oversized body", func(t *testing.T) {
		small := httptest.NewServer(c.Handler(HandlerOptions{Token: token, MaxBody: 64}))
		t.Cleanup(small.Close)
		req, _ := http.NewRequest(http.MethodPost, small.URL+"/decode", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := small.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}
