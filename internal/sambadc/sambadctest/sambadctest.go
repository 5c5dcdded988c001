// Package sambadctest starts Samba AD DCs for tests.
package sambadctest

import (
	"context"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/sambadc"
)

// New starts a DC (LDAPS only) for t and stops it when t ends. It skips t,
// loudly, only when the samba binaries are missing; any other failure
// fails t.
func New(t testing.TB) *sambadc.DC { t.Helper(); return NewWith(t, sambadc.Options{}) }

// NewWith is New with options, e.g. sambadc.Options{SMB: true}.
func NewWith(t testing.TB, opts sambadc.Options) *sambadc.DC {
	t.Helper()
	if err := sambadc.Available(); err != nil {
		t.Skipf("SKIPPING REAL-DC TEST: Samba AD DC not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dc, err := sambadc.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start Samba DC: %v", err)
	}
	t.Cleanup(func() {
		if err := dc.Stop(); err != nil {
			t.Errorf("stop Samba DC: %v", err)
		}
	})
	return dc
}
