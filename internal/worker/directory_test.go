package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/config"
)

// fakeLDAP is a real TCP listener that records every connection and every
// byte it receives, then hangs up: it answers nothing, so a bind to it
// fails, but what the worker sent is on record.
type fakeLDAP struct {
	ln    net.Listener
	mu    sync.Mutex
	conns int
	got   bytes.Buffer
}

func startFakeLDAP(t *testing.T) *fakeLDAP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLDAP{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns++
			f.mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					// The client sends its request and waits for an
					// answer; a short silence means it has said all.
					_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
					n, err := c.Read(buf)
					f.mu.Lock()
					f.got.Write(buf[:n])
					f.mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
	})
	return f
}

func (f *fakeLDAP) url() string { return "ldap://" + f.ln.Addr().String() }

func (f *fakeLDAP) seen() (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns, f.got.String()
}

// attackerInput is a directory preflight input as someone with direct
// Temporal access would send it, bypassing plan validation: the plan's
// directory still carries the fields older plans had, pointing the worker
// at the attacker's listener and naming the worker's NATS password.
func attackerInput(t *testing.T, profile, attackerURL string) activities.DirectoryPreflightInput {
	t.Helper()
	dir := map[string]any{
		"url": attackerURL, "insecure": true, "bindUser": `EVIL\attacker`,
		"bindPassword": map[string]string{"env": "SSPRFLOW_NATS_PASSWORD"},
		"caFile":       "/etc/ssprflow/ca.pem", "serverName": "evil.example", "connectorAccount": `EVIL\MSOL_x`,
	}
	if profile != "" {
		dir["profile"] = profile
	}
	raw, err := json.Marshal(map[string]any{"plan": map[string]any{
		"apiVersion": "ssprflow/v1", "kind": "Rollout",
		"metadata": map[string]any{"name": "attack", "tenant": "contoso.onmicrosoft.com"},
		"spec":     map[string]any{"directory": dir, "writeback": map[string]any{"mode": "connect"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var in activities.DirectoryPreflightInput
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestPlanCannotSteerDirectory: whatever the plan carries, the worker dials
// only its own profile's DC, binds as the profile's identity with the
// profile's password, and never touches the URL or secret the plan names.
func TestPlanCannotSteerDirectory(t *testing.T) {
	const natsPassword = "worker-nats-password-must-not-leave"
	t.Setenv("SSPRFLOW_NATS_PASSWORD", natsPassword)
	attacker, dc := startFakeLDAP(t), startFakeLDAP(t)
	pwFile := filepath.Join(t.TempDir(), "corp-ad")
	if err := os.WriteFile(pwFile, []byte("profile-password-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Directories: []config.Directory{{
		Profile: "corp", URL: dc.url(), AllowPlainLDAP: true, // plain only so the fake can read the bind
		BindUser: `CORP\svc-ssprflow`, BindPassword: config.Secret{File: pwFile}, ConnectorAccount: `CORP\MSOL_1`,
	}}}
	acts := &activities.Activities{Directory: DirectoryDialer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))}

	for _, tc := range []struct {
		name, profile string
		wantBind      bool
		wantErr       string
	}{
		{"names the profile", "corp", true, "directory profile corp"},
		{"names no profile", "", false, "names no profile"},
		{"names an unknown profile", "lab", false, `this worker has no directory profile "lab": add it under directories: in the worker configuration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			before, _ := dc.seen()
			_, err := acts.DirectoryPreflight(ctx, attackerInput(t, tc.profile, attacker.url()))
			if err == nil {
				t.Fatal("preflight succeeded against a listener that answers nothing")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
			for _, leak := range []string{attacker.ln.Addr().String(), "SSPRFLOW_NATS_PASSWORD", natsPassword, pwFile, "EVIL"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q contains %q", err, leak)
				}
			}
			if n, got := attacker.seen(); n != 0 || got != "" {
				t.Fatalf("the plan's URL received %d connection(s) and %q", n, got)
			}
			n, got := dc.seen()
			if !tc.wantBind {
				// Retrying cannot add a profile to the worker's configuration.
				if appErr, ok := err.(*temporal.ApplicationError); !ok || !appErr.NonRetryable() {
					t.Errorf("error %v (%T) is retryable", err, err)
				}
				if n != before {
					t.Errorf("the profile's DC was dialled for a plan that names no valid profile")
				}
				return
			}
			if n != before+1 {
				t.Fatalf("the profile's DC received %d connection(s), want 1", n-before)
			}
			if !strings.Contains(got, `CORP\svc-ssprflow`) || !strings.Contains(got, "profile-password-1") {
				t.Errorf("the bind was not the profile's identity and password: %q", got)
			}
			if strings.Contains(got, natsPassword) || strings.Contains(got, "EVIL") {
				t.Errorf("the plan's identity or secret reached the DC: %q", got)
			}
		})
	}
}

// TestDirectoryErrorsDoNotEchoWorkerPaths: what the activity returns goes
// into workflow history, where operators read it; it names the profile, and
// the path, variable and OS error go only to the worker log.
func TestDirectoryErrorsDoNotEchoWorkerPaths(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	pw := filepath.Join(dir, "pw")
	_ = os.WriteFile(pw, []byte("pw"), 0o600)
	notPEM := filepath.Join(dir, "not-a-ca.pem")
	_ = os.WriteFile(notPEM, []byte("hello"), 0o600)
	missing := filepath.Join(dir, "no-such-secret")
	dc := startFakeLDAP(t)

	for _, tc := range []struct {
		name    string
		prof    config.Directory
		wantErr string
		secret  string // must be in the log, never in the error
	}{
		{"unset env", config.Directory{BindPassword: config.Secret{Env: "SSPRFLOW_TEST_UNSET_7f3a"}},
			"directory profile corp: the bind password could not be read (see the worker log)", "SSPRFLOW_TEST_UNSET_7f3a"},
		{"missing file", config.Directory{BindPassword: config.Secret{File: missing}},
			"directory profile corp: the bind password could not be read (see the worker log)", missing},
		{"empty file", config.Directory{BindPassword: config.Secret{File: empty}},
			"directory profile corp: the bind password could not be read (see the worker log)", empty},
		{"missing CA", config.Directory{BindPassword: config.Secret{File: pw}, CAFile: missing},
			"directory profile corp: the CA file could not be read (see the worker log)", missing},
		{"CA not PEM", config.Directory{BindPassword: config.Secret{File: pw}, CAFile: notPEM},
			"directory profile corp: the CA file could not be read (see the worker log)", notPEM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prof := tc.prof
			prof.Profile, prof.URL, prof.BindUser, prof.ConnectorAccount = "corp", dc.url(), `CORP\svc`, `CORP\MSOL_1`
			var log bytes.Buffer
			acts := &activities.Activities{Directory: DirectoryDialer(&config.Config{Directories: []config.Directory{prof}},
				slog.New(slog.NewTextHandler(&log, nil)))}
			_, err := acts.DirectoryPreflight(context.Background(), attackerInput(t, "corp", "ldap://127.0.0.1:1"))
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != "DirectoryUnavailable" {
				t.Fatalf("error %v (%T), want a non-retryable DirectoryUnavailable", err, err)
			}
			if _, top := err.(*temporal.ApplicationError); !top {
				t.Errorf("the application error is wrapped (%T): Temporal would retry it", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want %q", err, tc.wantErr)
			}
			for _, leak := range []string{tc.secret, dir, "no such file", "SSPRFLOW_"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q echoes %q", err, leak)
				}
			}
			if !strings.Contains(log.String(), tc.secret) || !strings.Contains(log.String(), "profile=corp") {
				t.Errorf("the worker log lacks the detail %q: %s", tc.secret, log.String())
			}
			if n, _ := dc.seen(); n != 0 {
				t.Errorf("dialled the DC %d time(s) without a usable password and CA", n)
			}
		})
	}
}
