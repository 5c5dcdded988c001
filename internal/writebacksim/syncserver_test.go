package writebacksim

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/writeback"
)

const aadName = "contoso.onmicrosoft.com - AAD"

func TestSyncServerRecordedConnectors(t *testing.T) {
	conns, err := writeback.ListConnectors(context.Background(), New())
	if err != nil {
		t.Fatal(err)
	}
	aad, err := writeback.FindAADConnector(conns)
	if err != nil || aad.Name != aadName {
		t.Fatalf("AAD connector = %+v, %v", aad, err)
	}
	if got := writeback.ADConnectorAccounts(conns); !slices.Equal(got, []string{`contoso.com\MSOL_6f0a1c2b3d4e`}) {
		t.Errorf("AD accounts = %q", got)
	}
}

func TestSyncServerOddFormatting(t *testing.T) {
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
			fs := New().WithClock(func() time.Time { return base })
			fs.SetFormatting(fm)
			conns, err := writeback.ListConnectors(ctx, fs)
			if err != nil {
				t.Fatal(err)
			}
			if len(conns) != 2 || len(writeback.ADConnectorAccounts(conns)) != 1 {
				t.Fatalf("connectors = %+v", conns)
			}
			if on, err := writeback.GetPasswordWriteback(ctx, fs, aadName); err != nil || on {
				t.Fatalf("get = %t, %v", on, err)
			}
			if on, err := writeback.SetPasswordWriteback(ctx, fs, aadName, true); err != nil || !on {
				t.Fatalf("set = %t, %v", on, err)
			}
			events, err := writeback.ReadWritebackEvents(ctx, fs, base.Add(-time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if res := writeback.Evaluate(events); !res.Healthy || len(events) != 6 {
				t.Errorf("events %d, healthy %t, problems %q", len(events), res.Healthy, res.Problems)
			}
		})
	}
}

func TestSyncServerFailures(t *testing.T) {
	tests := []struct {
		failure Failure
		want    error
	}{
		{FailModuleMissing, writeback.ErrModuleMissing},
		{FailModuleMissingStderr, writeback.ErrModuleMissing},
		{FailNotRecognized, writeback.ErrCmdletNotRecognized},
		{FailAccessDenied, writeback.ErrAccessDenied},
		{FailGarbage, writeback.ErrBadOutput},
	}
	for _, tt := range tests {
		t.Run(string(tt.failure), func(t *testing.T) {
			fs := New()
			fs.SetFormatting(Formatting{BOM: true, CRLF: true})
			fs.FailNext(writeback.ScriptListConnectors, tt.failure)
			_, err := writeback.ListConnectors(context.Background(), fs)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			// FailNext is one-shot.
			if _, err := writeback.ListConnectors(context.Background(), fs); err != nil {
				t.Fatalf("second run: %v", err)
			}
		})
	}
	fs := New()
	fs.FailAlways("*", FailAccessDenied)
	for range 2 {
		if _, err := writeback.GetPasswordWriteback(context.Background(), fs, aadName); !errors.Is(err, writeback.ErrAccessDenied) {
			t.Fatalf("FailAlways: err = %v", err)
		}
	}
	fs.FailAlways("*", "")
	if _, err := writeback.GetPasswordWriteback(context.Background(), fs, aadName); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
	if _, err := writeback.GetPasswordWriteback(context.Background(), fs, "nope - AAD"); err == nil {
		t.Errorf("unknown connector accepted")
	}
}

func TestSyncServerRecordedFailureEvents(t *testing.T) {
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
			fs := New().WithClock(func() time.Time { return base })
			if err := fs.AddRecordedEvents(tt.set); err != nil {
				t.Fatal(err)
			}
			events, err := writeback.ReadWritebackEvents(context.Background(), fs, base)
			if err != nil {
				t.Fatal(err)
			}
			res := writeback.Evaluate(events)
			if res.Healthy || len(res.Problems) != len(tt.problems) {
				t.Fatalf("healthy %t problems %q", res.Healthy, res.Problems)
			}
			var ids []int
			for _, e := range events {
				if e.Kind == writeback.EventFailure {
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

func TestSyncServerRecordsInvocationsAndRedactsSecrets(t *testing.T) {
	fs := New()
	ctx := context.Background()
	if err := writeback.SetCloudSyncWriteback(ctx, fs, true, "admin@contoso.onmicrosoft.com", "s3cret!"); err != nil {
		t.Fatal(err)
	}
	inv := fs.Invocations()
	if len(inv) != 1 || inv[0].Script != writeback.ScriptCloudSyncSetWriteback {
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
	fs, err := Open(state)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writeback.SetPasswordWriteback(ctx, fs, aadName, true); err != nil {
		t.Fatal(err)
	}
	// A restarted agent process sees the same server.
	fs2, err := Open(state)
	if err != nil {
		t.Fatal(err)
	}
	if on, err := writeback.GetPasswordWriteback(ctx, fs2, aadName); err != nil || !on {
		t.Fatalf("after restart: enabled %t, %v", on, err)
	}
	events, err := writeback.ReadWritebackEvents(ctx, fs2, time.Now().Add(-time.Hour))
	if err != nil || !writeback.Evaluate(events).Healthy {
		t.Fatalf("after restart: events %+v, %v", events, err)
	}
}
