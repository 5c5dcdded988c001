package graph

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{" 1.5 ", 1500 * time.Millisecond, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"Wed, 25 Nov 2026 12:00:10 GMT", 10 * time.Second, true},
		{"Wed, 25 Nov 2026 11:59:00 GMT", 0, true}, // in the past: retry now
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	h := http.Header{}
	if d := retryDelay(h, 3, time.Second); d != 5*time.Second {
		t.Errorf("backoff for attempt 3 = %v, want 4s + 1s jitter bound", d)
	}
}

func TestShouldRetryBoundsTotalWait(t *testing.T) {
	c := &Client{cfg: Config{MaxRetryWait: 10 * time.Second}, log: discard()}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/v1.0/x", nil)
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"4"}}}
	if !c.shouldRetry(0, 0, req, resp) || !c.shouldRetry(4*time.Second, 1, req, resp) {
		t.Error("should retry within the budget")
	}
	if c.shouldRetry(8*time.Second, 2, req, resp) {
		t.Error("retried past MaxRetryWait")
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestNewValidatesConfig(t *testing.T) {
	ctx := context.Background()
	cred := StaticToken("t")
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = ok
	}{
		{"no credential", Config{}, "Credential is required"},
		{"defaults", Config{Credential: cred}, ""},
		{"loopback http", Config{Credential: cred, BaseURL: "http://127.0.0.1:8080/v1.0", PortalURL: "http://localhost:8080"}, ""},
		{"remote http", Config{Credential: cred, BaseURL: "http://graph.example.com/v1.0"}, "want https"},
		{"bad mode", Config{Credential: cred, Mode: "yolo"}, `unknown policy mode "yolo"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(ctx, tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.cfg.Mode != plan.PolicyModeManual && tt.cfg.Mode == "" {
					t.Errorf("default mode %q", c.cfg.Mode)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCredentialConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want CredentialConfig
		err  string
	}{
		{name: "secret", env: map[string]string{"X_TENANT_ID": "t", "X_CLIENT_ID": "c", "X_CLIENT_SECRET": "s"},
			want: CredentialConfig{Kind: CredentialSecret, TenantID: "t", ClientID: "c", Secret: config.Secret{Env: "X_CLIENT_SECRET"}}},
		{name: "secret file", env: map[string]string{"X_TENANT_ID": "t", "X_CLIENT_ID": "c", "X_CLIENT_SECRET_FILE": "/run/s"},
			want: CredentialConfig{Kind: CredentialSecret, TenantID: "t", ClientID: "c", Secret: config.Secret{File: "/run/s"}}},
		{name: "certificate", env: map[string]string{"X_TENANT_ID": "t", "X_CLIENT_ID": "c", "X_CLIENT_CERTIFICATE_PATH": "/c.pem", "X_CLIENT_CERTIFICATE_PASSWORD_FILE": "/p"},
			want: CredentialConfig{Kind: CredentialCertificate, TenantID: "t", ClientID: "c", CertificateFile: "/c.pem", CertificatePassword: config.Secret{File: "/p"}}},
		{name: "workload", env: map[string]string{"X_TENANT_ID": "t", "X_CLIENT_ID": "c", "X_FEDERATED_TOKEN_FILE": "/var/run/token"},
			want: CredentialConfig{Kind: CredentialWorkload, TenantID: "t", ClientID: "c", TokenFile: "/var/run/token"}},
		{name: "managed", env: map[string]string{"X_USE_MANAGED_IDENTITY": "true", "X_CLIENT_ID": "mi"},
			want: CredentialConfig{Kind: CredentialManaged, ClientID: "mi", ManagedIdentityClientID: "mi"}},
		{name: "token wins", env: map[string]string{"X_ACCESS_TOKEN": "tok", "X_CLIENT_SECRET": "s"},
			want: CredentialConfig{Kind: CredentialToken, Secret: config.Secret{Env: "X_ACCESS_TOKEN"}}},
		{name: "nothing", env: map[string]string{}, err: "X_CLIENT_SECRET[_FILE]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := credentialConfigFromEnv("X", func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestNewCredential(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSPRFLOW_TEST_TOKEN", "abc")
	tests := []struct {
		name string
		cfg  CredentialConfig
		err  string
	}{
		{"secret from file", CredentialConfig{Kind: CredentialSecret, TenantID: "00000000-0000-0000-0000-000000000001", ClientID: "c", Secret: config.Secret{File: secret}}, ""},
		{"secret missing ids", CredentialConfig{Kind: CredentialSecret, Secret: config.Secret{File: secret}}, "TenantID is required"},
		{"secret unset env", CredentialConfig{Kind: CredentialSecret, TenantID: "t", ClientID: "c", Secret: config.Secret{Env: "SSPRFLOW_NOPE"}}, "SSPRFLOW_NOPE is not set"},
		{"certificate missing file", CredentialConfig{Kind: CredentialCertificate, TenantID: "t", ClientID: "c", CertificateFile: filepath.Join(dir, "none.pem")}, "read certificate"},
		{"certificate garbage", CredentialConfig{Kind: CredentialCertificate, TenantID: "t", ClientID: "c", CertificateFile: secret}, "parse"},
		{"managed", CredentialConfig{Kind: CredentialManaged}, ""},
		{"token", CredentialConfig{Kind: CredentialToken, Secret: config.Secret{Env: "SSPRFLOW_TEST_TOKEN"}}, ""},
		{"unknown", CredentialConfig{Kind: "magic"}, `unknown kind "magic"`},
		{"empty", CredentialConfig{}, "Kind is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cred, err := NewCredential(tt.cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || cred == nil {
				t.Fatalf("NewCredential: %v", err)
			}
		})
	}
	tok, err := StaticToken("abc").GetToken(context.Background(), policy.TokenRequestOptions{})
	if err != nil || tok.Token != "abc" {
		t.Fatalf("static token: %v %v", tok, err)
	}
}

func TestPortalCodec(t *testing.T) {
	obj := portalObject{}
	for f, k := range portalKeys {
		to := "true"
		switch k.Kind {
		case entra.KindInt:
			to = "2"
		case entra.KindText:
			to = "help@contoso.com"
		case entra.KindScope:
			to = "selected"
		case entra.KindGroup:
			to = "g-1"
		}
		raw, err := encode(entra.Change{Field: f, To: to}, k)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		obj[k.Key] = raw
		got, ok, err := decode(obj, k)
		if err != nil || !ok || got != to {
			t.Errorf("%s round trip: %q %v %v, want %q", f, got, ok, err, to)
		}
	}
	for _, bad := range []entra.Change{
		{Field: entra.FieldScope, To: "some"},
		{Field: entra.FieldMethodsRequired, To: "0"},
		{Field: entra.FieldNotifyUsers, To: "yes"},
		{Field: entra.FieldReconfirmDays, To: "-1"},
	} {
		if _, err := encode(bad, portalKeys[bad.Field]); err == nil || !entra.IsPermanent(err) {
			t.Errorf("encode %+v: %v, want permanent error", bad, err)
		}
	}
}

// FuzzPortalDecode feeds the portal's JSON (untrusted) to the decoder.
func FuzzPortalDecode(f *testing.F) {
	f.Add([]byte(`{"enablementType":1,"passwordResetEnabledGroupIds":["g"],"numberOfAuthenticationMethodsRequired":2,"emailOptionEnabled":true}`))
	f.Add([]byte(`{"enablementType":7,"passwordResetEnabledGroupIds":null}`))
	f.Add([]byte(`{"enablementType":"x","customHelpdeskEmailOrUrl":5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var obj portalObject
		if json.Unmarshal(data, &obj) != nil {
			return
		}
		for f, k := range portalKeys {
			v, ok, err := decode(obj, k)
			if err != nil || !ok {
				continue
			}
			// Whatever decodes must encode back.
			if _, err := encode(entra.Change{Field: f, To: v}, k); err != nil && k.Kind != entra.KindInt {
				t.Fatalf("%s: decoded %q does not encode: %v", f, v, err)
			}
		}
	})
}

// FuzzParseRetryAfter feeds server headers (untrusted) to the parser.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"1", "0.5", "Wed, 25 Nov 2026 12:00:10 GMT", "", "-3", "1e308", "NaN"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := parseRetryAfter(s, now); ok && d < 0 {
			t.Fatalf("negative delay %v for %q", d, s)
		}
	})
}
