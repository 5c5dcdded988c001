package writeback_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ssprflow/ssprflow/internal/writeback"
	"github.com/ssprflow/ssprflow/internal/writebacksim"
)

// aadName is the AAD connector of the simulated sync server.
const aadName = "contoso.onmicrosoft.com - AAD"

type harness struct {
	env *testsuite.TestActivityEnvironment
	fs  *writebacksim.SyncServer
	act *writeback.Activities
}

func newHarness(t *testing.T, mode writeback.Mode) *harness {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	fs := writebacksim.New()
	act := &writeback.Activities{Runner: fs, Mode: mode, PollInterval: 5 * time.Millisecond,
		CloudSyncCredential: func(context.Context) (string, string, error) {
			return "admin@contoso.onmicrosoft.com", "from-agent-config", nil
		}}
	writeback.Register(env, act)
	return &harness{env: env, fs: fs, act: act}
}

func (h *harness) enable(t *testing.T, in writeback.EnableInput) (writeback.EnableResult, error) {
	t.Helper()
	v, err := h.env.ExecuteActivity(writeback.ActivityEnableWriteback, in)
	var res writeback.EnableResult
	if err == nil {
		if gerr := v.Get(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

func nonRetryableType(t *testing.T, err error) string {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("err = %v, want an application error", err)
	}
	if !appErr.NonRetryable() {
		t.Errorf("error %v is retryable", err)
	}
	return appErr.Type()
}

func TestEnableWhenDisabled(t *testing.T) {
	h := newHarness(t, writeback.ModeEntraConnect)
	res, err := h.enable(t, writeback.EnableInput{ExpectedConnectorAccount: `CONTOSO\msol_6f0a1c2b3d4e`})
	if err != nil {
		t.Fatal(err)
	}
	want := writeback.EnableResult{PreviousEnabled: false, Changed: true, Connector: aadName, SyncConnectorAccount: `contoso.com\MSOL_6f0a1c2b3d4e`}
	if res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	if !h.fs.Writeback(aadName) {
		t.Errorf("writeback not enabled on the server")
	}
	want2 := []string{writeback.ScriptListConnectors, writeback.ScriptGetPasswordResetConfig, writeback.ScriptSetPasswordResetConfig}
	if got := h.fs.ScriptsRun(); !slices.Equal(got, want2) {
		t.Errorf("scripts = %q, want %q", got, want2)
	}
}

func TestEnableIsIdempotent(t *testing.T) {
	h := newHarness(t, writeback.ModeEntraConnect)
	h.fs.SetWriteback(aadName, true)
	res, err := h.enable(t, writeback.EnableInput{Mode: writeback.ModeEntraConnect})
	if err != nil {
		t.Fatal(err)
	}
	if !res.PreviousEnabled || res.Changed {
		t.Errorf("result = %+v, want previous enabled and no change", res)
	}
	if slices.Contains(h.fs.ScriptsRun(), writeback.ScriptSetPasswordResetConfig) {
		t.Errorf("Set-ADSyncAADPasswordResetConfiguration ran although writeback was on")
	}
}

func TestRestore(t *testing.T) {
	h := newHarness(t, writeback.ModeEntraConnect)
	if _, err := h.enable(t, writeback.EnableInput{}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		prev        bool
		wantChanged bool
	}{{false, true}, {false, false}, {true, true}} {
		v, err := h.env.ExecuteActivity(writeback.ActivityRestoreWriteback, writeback.RestoreInput{PreviousEnabled: tt.prev})
		if err != nil {
			t.Fatal(err)
		}
		var res writeback.RestoreResult
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
		if res.Changed != tt.wantChanged || res.Enabled != tt.prev || h.fs.Writeback(aadName) != tt.prev {
			t.Errorf("restore to %t: %+v (server %t)", tt.prev, res, h.fs.Writeback(aadName))
		}
	}
}

func TestEnableConnectorMismatchIsNonRetryable(t *testing.T) {
	h := newHarness(t, writeback.ModeEntraConnect)
	_, err := h.enable(t, writeback.EnableInput{ExpectedConnectorAccount: `CONTOSO\svc-aadconnect`})
	if typ := nonRetryableType(t, err); typ != writeback.ErrTypeAccountMismatch {
		t.Errorf("type = %q", typ)
	}
	for _, s := range []string{`CONTOSO\svc-aadconnect`, `contoso.com\MSOL_6f0a1c2b3d4e`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
	if h.fs.Writeback(aadName) {
		t.Errorf("writeback was enabled despite the mismatch")
	}
}

func TestEnablePermanentFailures(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*harness)
		in      writeback.EnableInput
		wantTyp string
	}{
		{"module missing", func(h *harness) { h.fs.FailAlways(writeback.ScriptListConnectors, writebacksim.FailModuleMissing) }, writeback.EnableInput{}, writeback.ErrTypeModuleMissing},
		{"access denied", func(h *harness) { h.fs.FailAlways("*", writebacksim.FailAccessDenied) }, writeback.EnableInput{}, writeback.ErrTypeAccessDenied},
		{"mode mismatch", func(*harness) {}, writeback.EnableInput{Mode: writeback.ModeCloudSync}, writeback.ErrTypeModeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, writeback.ModeEntraConnect)
			tt.setup(h)
			_, err := h.enable(t, tt.in)
			if typ := nonRetryableType(t, err); typ != tt.wantTyp {
				t.Errorf("type = %q, want %q", typ, tt.wantTyp)
			}
		})
	}
}

func TestEnableTransientFailureIsRetryable(t *testing.T) {
	h := newHarness(t, writeback.ModeEntraConnect)
	h.fs.FailNext(writeback.ScriptGetPasswordResetConfig, writebacksim.FailGarbage)
	_, err := h.enable(t, writeback.EnableInput{})
	var appErr *temporal.ApplicationError
	if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	// The retry completes the job.
	res, err := h.enable(t, writeback.EnableInput{})
	if err != nil || !res.Changed {
		t.Fatalf("retry: %+v, %v", res, err)
	}
}

func TestCloudSync(t *testing.T) {
	t.Run("enable and restore", func(t *testing.T) {
		h := newHarness(t, writeback.ModeCloudSync)
		res, err := h.enable(t, writeback.EnableInput{})
		if err != nil {
			t.Fatal(err)
		}
		if res.PreviousEnabled || !res.Changed || res.PreviousUnknown || !h.fs.CloudSyncWriteback() {
			t.Errorf("result = %+v", res)
		}
		inv := h.fs.Invocations()
		last := inv[len(inv)-1]
		if last.Args["User"] != "admin@contoso.onmicrosoft.com" || last.Args["Password"] != "[redacted]" {
			t.Errorf("set args = %q", last.Args)
		}
		if _, err := h.env.ExecuteActivity(writeback.ActivityRestoreWriteback, writeback.RestoreInput{PreviousEnabled: false}); err != nil {
			t.Fatal(err)
		}
		if h.fs.CloudSyncWriteback() {
			t.Errorf("restore did not disable")
		}
	})
	t.Run("already enabled", func(t *testing.T) {
		h := newHarness(t, writeback.ModeCloudSync)
		h.fs.SetCloudSync(true, true)
		res, err := h.enable(t, writeback.EnableInput{})
		if err != nil || res.Changed || !res.PreviousEnabled {
			t.Fatalf("result = %+v, %v", res, err)
		}
	})
	t.Run("state unreadable", func(t *testing.T) {
		h := newHarness(t, writeback.ModeCloudSync)
		h.fs.SetCloudSync(false, false)
		res, err := h.enable(t, writeback.EnableInput{})
		if err != nil || !res.Changed || !res.PreviousUnknown {
			t.Fatalf("result = %+v, %v", res, err)
		}
	})
	t.Run("no credential", func(t *testing.T) {
		h := newHarness(t, writeback.ModeCloudSync)
		h.act.CloudSyncCredential = nil
		_, err := h.enable(t, writeback.EnableInput{})
		if typ := nonRetryableType(t, err); typ != writeback.ErrTypeCredentialMissing {
			t.Errorf("type = %q", typ)
		}
	})
	t.Run("cmdlet not recognized", func(t *testing.T) {
		h := newHarness(t, writeback.ModeCloudSync)
		h.fs.FailAlways(writeback.ScriptCloudSyncSetWriteback, writebacksim.FailNotRecognized)
		_, err := h.enable(t, writeback.EnableInput{})
		if typ := nonRetryableType(t, err); typ != writeback.ErrTypeCmdletNotRecognized {
			t.Errorf("type = %q", typ)
		}
	})
}

func (h *harness) verify(t *testing.T, in writeback.VerifyInput) writeback.VerifyResult {
	t.Helper()
	v, err := h.env.ExecuteActivity(writeback.ActivityVerifyWriteback, in)
	if err != nil {
		t.Fatal(err)
	}
	var res writeback.VerifyResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestVerify(t *testing.T) {
	t.Run("healthy after polling", func(t *testing.T) {
		h := newHarness(t, writeback.ModeEntraConnect)
		since := time.Now().Add(-time.Second)
		h.fs.SetEventLag(3)
		if _, err := h.enable(t, writeback.EnableInput{}); err != nil {
			t.Fatal(err)
		}
		res := h.verify(t, writeback.VerifyInput{Since: since, Wait: 10 * time.Second})
		if !res.Healthy || len(res.Problems) != 0 {
			t.Fatalf("result = %+v", res)
		}
		ids := make([]int, len(res.Events))
		for i, e := range res.Events {
			ids[i] = e.ID
		}
		for _, id := range []int{31004, 31005, 31015, 31019} {
			if !slices.Contains(ids, id) {
				t.Errorf("event %d missing from %v", id, ids)
			}
		}
		if n := strings.Count(strings.Join(h.fs.ScriptsRun(), ","), writeback.ScriptReadWritebackEvents); n < 3 {
			t.Errorf("event log read %d times, want polling", n)
		}
	})
	t.Run("service bus blocked", func(t *testing.T) {
		h := newHarness(t, writeback.ModeEntraConnect)
		since := time.Now().Add(-time.Second)
		h.fs.SetServiceBusBlocked(true)
		if _, err := h.enable(t, writeback.EnableInput{}); err != nil {
			t.Fatal(err)
		}
		res := h.verify(t, writeback.VerifyInput{Since: since, Wait: 10 * time.Second})
		if res.Healthy || len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "32002") || !strings.Contains(res.Problems[0], "Service Bus") {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("minimum password age", func(t *testing.T) {
		h := newHarness(t, writeback.ModeEntraConnect)
		since := time.Now().Add(-time.Second)
		if err := h.fs.AddRecordedEvents("events-min-password-age"); err != nil {
			t.Fatal(err)
		}
		res := h.verify(t, writeback.VerifyInput{Since: since})
		if res.Healthy || len(res.Problems) != 2 || !strings.Contains(res.Problems[0], "minimum password age") {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		h := newHarness(t, writeback.ModeEntraConnect)
		start := time.Now()
		res := h.verify(t, writeback.VerifyInput{Since: start, Wait: 50 * time.Millisecond})
		if res.Healthy || len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "no healthy PasswordResetService event") {
			t.Fatalf("result = %+v", res)
		}
		if n := strings.Count(strings.Join(h.fs.ScriptsRun(), ","), writeback.ScriptReadWritebackEvents); n < 2 {
			t.Errorf("event log read %d times, want polling until the wait ends", n)
		}
	})
	t.Run("event log unreadable", func(t *testing.T) {
		h := newHarness(t, writeback.ModeEntraConnect)
		h.fs.FailAlways(writeback.ScriptReadWritebackEvents, writebacksim.FailAccessDenied)
		_, err := h.env.ExecuteActivity(writeback.ActivityVerifyWriteback, writeback.VerifyInput{Wait: time.Second})
		if typ := nonRetryableType(t, err); typ != writeback.ErrTypeAccessDenied {
			t.Errorf("type = %q", typ)
		}
	})
}

func TestAccountsMatch(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`CONTOSO\MSOL_1`, `contoso.com\msol_1`, true},
		{`msol_1@contoso.com`, `CONTOSO\MSOL_1`, true},
		{`MSOL_1`, `contoso.com\MSOL_1`, true},
		{`CONTOSO\MSOL_1`, `CONTOSO\MSOL_2`, false},
		{`contoso.com\MSOL_1`, `contoso.org\MSOL_1`, false},
		{`FABRIKAM\MSOL_1`, `contoso.com\MSOL_1`, false},
		{``, `contoso.com\MSOL_1`, false},
	}
	for _, tt := range tests {
		if got := writeback.AccountsMatch(tt.a, tt.b); got != tt.want {
			t.Errorf("AccountsMatch(%q, %q) = %t, want %t", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestAgentOptionsValidate(t *testing.T) {
	fs := writebacksim.New()
	tests := []struct {
		name string
		o    writeback.AgentOptions
		want error
	}{
		{"ok", writeback.AgentOptions{TaskQueue: "sync-01", Mode: writeback.ModeEntraConnect, Runner: fs}, nil},
		{"no queue", writeback.AgentOptions{Mode: writeback.ModeEntraConnect, Runner: fs}, writeback.ErrBadInput},
		{"bad mode", writeback.AgentOptions{TaskQueue: "q", Mode: "dirsync", Runner: fs}, writeback.ErrBadInput},
		{"no runner", writeback.AgentOptions{TaskQueue: "q", Mode: writeback.ModeEntraConnect}, writeback.ErrBadInput},
		{"cloud sync without credential", writeback.AgentOptions{TaskQueue: "q", Mode: writeback.ModeCloudSync, Runner: fs}, writeback.ErrCredentialMissing},
	}
	for _, tt := range tests {
		if err := tt.o.Validate(); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := writeback.RunAgent(context.Background(), nil, tests[0].o); !errors.Is(err, writeback.ErrBadInput) {
		t.Errorf("nil client: err = %v", err)
	}
}

type recordingRegistry struct{ names []string }

func (r *recordingRegistry) RegisterActivity(any) { r.names = append(r.names, "<unnamed>") }
func (r *recordingRegistry) RegisterActivityWithOptions(_ any, o activity.RegisterOptions) {
	r.names = append(r.names, o.Name)
}
func (r *recordingRegistry) RegisterDynamicActivity(any, activity.DynamicRegisterOptions) {
	r.names = append(r.names, "<dynamic>")
}

func TestRegisterUsesExportedNames(t *testing.T) {
	var r recordingRegistry
	writeback.Register(&r, &writeback.Activities{})
	for _, name := range []string{writeback.ActivityEnableWriteback, writeback.ActivityRestoreWriteback, writeback.ActivityVerifyWriteback} {
		if !slices.Contains(r.names, name) {
			t.Errorf("%s not registered (got %q)", name, r.names)
		}
	}
	for _, name := range r.names {
		if !strings.HasPrefix(name, "Writeback.") {
			t.Errorf("unexpected registration %q", name)
		}
	}
}

func TestEnableMatchesAnyForestAccount(t *testing.T) {
	h := newHarness(t, writeback.ModeEntraConnect)
	h.fs.SetConnectorAccount(`CONTOSO\svc-aadconnect`)
	res, err := h.enable(t, writeback.EnableInput{ExpectedConnectorAccount: "svc-aadconnect@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if res.SyncConnectorAccount != `CONTOSO\svc-aadconnect` || !res.Changed {
		t.Errorf("result = %+v", res)
	}
}
