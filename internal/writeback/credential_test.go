package writeback_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/ssprflow/ssprflow/internal/writeback"
	"github.com/ssprflow/ssprflow/internal/writebacksim"
)

func TestCredentialSources(t *testing.T) {
	ctx := context.Background()
	t.Setenv("WB_USER", "admin@contoso.onmicrosoft.com")
	t.Setenv("WB_PASS", "pa55")
	if u, p, err := writeback.CredentialFromEnv("WB_USER", "WB_PASS")(ctx); err != nil || u != "admin@contoso.onmicrosoft.com" || p != "pa55" {
		t.Errorf("env: %q %q %v", u, p, err)
	}
	if _, _, err := writeback.CredentialFromEnv("WB_USER", "WB_MISSING")(ctx); err == nil {
		t.Errorf("env: missing password accepted")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "cred.json")
	os.WriteFile(good, []byte(`{"username":"admin@contoso.onmicrosoft.com","password":"pa55"}`), 0o600)
	if u, p, err := writeback.CredentialFromFile(good)(ctx); err != nil || u == "" || p != "pa55" {
		t.Errorf("file: %q %q %v", u, p, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"username":"x","password":"leaky-secret"`), 0o600)
	_, _, err := writeback.CredentialFromFile(bad)(ctx)
	if err == nil || strings.Contains(err.Error(), "leaky-secret") {
		t.Errorf("file: err = %v (must fail without echoing the secret)", err)
	}
}

func TestSecretNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fs := writebacksim.New().WithLogger(logger)
	act := &writeback.Activities{Runner: fs, Mode: writeback.ModeCloudSync, Logger: logger,
		CloudSyncCredential: func(context.Context) (string, string, error) {
			return "admin@contoso.onmicrosoft.com", "top-secret-pw", nil
		}}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	writeback.Register(env, act)
	v, err := env.ExecuteActivity(writeback.ActivityEnableWriteback, writeback.EnableInput{})
	if err != nil {
		t.Fatal(err)
	}
	var res writeback.EnableResult
	if err := v.Get(&res); err != nil || !res.Changed {
		t.Fatalf("result = %+v, %v", res, err)
	}
	if strings.Contains(logs.String(), "top-secret-pw") {
		t.Errorf("password in logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "SIMULATED") {
		t.Errorf("simulated server does not say so in its logs")
	}
}
