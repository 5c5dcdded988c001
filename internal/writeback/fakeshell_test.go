package writeback

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

const aadName = "contoso.onmicrosoft.com - AAD"

func TestFakeShellRecordedConnectors(t *testing.T) {
	conns, err := ListConnectors(context.Background(), NewFakeShell())
	if err != nil {
		t.Fatal(err)
	}
	aad, err := FindAADConnector(conns)
	if err != nil || aad.Name != aadName {
		t.Fatalf("AAD connector = %+v, %v", aad, err)
	}
	if got := ADConnectorAccounts(conns); !slices.Equal(got, []string{`contoso.com\MSOL_6f0a1c2b3d4e`}) {
		t.Errorf("AD accounts = %q", got)
	}
}

func TestFakeShellOddFormatting(t *testing.T) {
	formats := map[string]Formatting{
		"plain":    {},
		"bom+crlf": {BOM: true, CRLF: true},
		"warnings": {Warnings: []string{"WARNING: The names of some imported commands include unapproved verbs.", "{ not json"}},
		"pretty":   {Pretty: true, CRLF: true},
		"ps51":     {PS51ArrayWrap: true},
		"unwrap":   {Unwrap: true, BOM: true},
	}
	for name, fm := range formats {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			base := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
			fs := NewFakeShell().WithClock(func() time.Time { return base })
			fs.SetFormatting(fm)
			conns, err := ListConnectors(ctx, fs)
			if err != nil {
				t.Fatal(err)
			}
			if len(conns) != 2 || len(ADConnectorAccounts(conns)) != 1 {
				t.Fatalf("connectors = %+v", conns)
			}
			if on, err := GetPasswordWriteback(ctx, fs, aadName); err != nil || on {
				t.Fatalf("get = %t, %v", on, err)
			}
			if on, err := SetPasswordWriteback(ctx, fs, aadName, true); err != nil || !on {
				t.Fatalf("set = %t, %v", on, err)
			}
			events, err := ReadWritebackEvents(ctx, fs, base.Add(-time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if res := Evaluate(events); !res.Healthy || len(events) != 6 {
				t.Errorf("events %d, healthy %t, problems %q", len(events), res.Healthy, res.Problems)
			}
		})
	}
}

func TestFakeShellFailures(t *testing.T) {
	tests := []struct {
		failure Failure
		want    error
	}{
		{FailModuleMissing, ErrModuleMissing},
		{FailModuleMissingStderr, ErrModuleMissing},
		{FailNotRecognized, ErrCmdletNotRecognized},
		{FailAccessDenied, ErrAccessDenied},
		{FailGarbage, ErrBadOutput},
	}
	for _, tt := range tests {
		t.Run(string(tt.failure), func(t *testing.T) {
			fs := NewFakeShell()
			fs.SetFormatting(Formatting{BOM: true, CRLF: true})
			fs.FailNext(ScriptListConnectors, tt.failure)
			_, err := ListConnectors(context.Background(), fs)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			// FailNext is one-shot.
			if _, err := ListConnectors(context.Background(), fs); err != nil {
				t.Fatalf("second run: %v", err)
			}
		})
	}
	fs := NewFakeShell()
	fs.FailAlways("*", FailAccessDenied)
	for range 2 {
		if _, err := GetPasswordWriteback(context.Background(), fs, aadName); !errors.Is(err, ErrAccessDenied) {
			t.Fatalf("FailAlways: err = %v", err)
		}
	}
	fs.FailAlways("*", "")
	if _, err := GetPasswordWriteback(context.Background(), fs, aadName); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
	if _, err := GetPasswordWriteback(context.Background(), fs, "nope - AAD"); err == nil {
		t.Errorf("unknown connector accepted")
	}
}

func TestFakeShellRecordedFailureEvents(t *testing.T) {
	tests := []struct {
		set      string
		problems []int
	}{
		{"events-servicebus-blocked", []int{32002}},
		{"events-min-password-age", []int{6329, 31003}},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			base := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
			fs := NewFakeShell().WithClock(func() time.Time { return base })
			if err := fs.AddRecordedEvents(tt.set); err != nil {
				t.Fatal(err)
			}
			events, err := ReadWritebackEvents(context.Background(), fs, base)
			if err != nil {
				t.Fatal(err)
			}
			res := Evaluate(events)
			if res.Healthy || len(res.Problems) != len(tt.problems) {
				t.Fatalf("healthy %t problems %q", res.Healthy, res.Problems)
			}
			var ids []int
			for _, e := range events {
				if e.Kind == EventFailure {
					ids = append(ids, e.ID)
					if e.Meaning == "" || e.Name == "" {
						t.Errorf("event %d lacks its documented meaning", e.ID)
					}
				}
			}
			if !slices.Equal(ids, tt.problems) {
				t.Errorf("failure ids = %v, want %v", ids, tt.problems)
			}
		})
	}
}

func TestFakeShellRecordsInvocationsAndRedactsSecrets(t *testing.T) {
	fs := NewFakeShell()
	ctx := context.Background()
	if err := SetCloudSyncWriteback(ctx, fs, true, "admin@contoso.onmicrosoft.com", "s3cret!"); err != nil {
		t.Fatal(err)
	}
	inv := fs.Invocations()
	if len(inv) != 1 || inv[0].Script != ScriptCloudSyncSetWriteback {
		t.Fatalf("invocations = %+v", inv)
	}
	if inv[0].Args["Password"] != "[redacted]" || inv[0].Args["User"] != "admin@contoso.onmicrosoft.com" || inv[0].Args["Enable"] != "true" {
		t.Errorf("args = %q", inv[0].Args)
	}
	if !fs.CloudSyncWriteback() {
		t.Errorf("cloud sync writeback not enabled")
	}
}

func TestSimulatedSyncServerPersistsState(t *testing.T) {
	ctx := context.Background()
	state := filepath.Join(t.TempDir(), "syncserver.json")
	fs, err := NewSimulatedSyncServer(state)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SetPasswordWriteback(ctx, fs, aadName, true); err != nil {
		t.Fatal(err)
	}
	// A restarted agent process sees the same server.
	fs2, err := NewSimulatedSyncServer(state)
	if err != nil {
		t.Fatal(err)
	}
	if on, err := GetPasswordWriteback(ctx, fs2, aadName); err != nil || !on {
		t.Fatalf("after restart: enabled %t, %v", on, err)
	}
	events, err := ReadWritebackEvents(ctx, fs2, time.Now().Add(-time.Hour))
	if err != nil || !Evaluate(events).Healthy {
		t.Fatalf("after restart: events %+v, %v", events, err)
	}
}
