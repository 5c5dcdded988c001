// Package sambadctest starts Samba AD DCs for tests.
package sambadctest

import (
	"context"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/sambadc"
)

// New starts a DC for t and stops it when t ends. It skips t, loudly, only
// when the samba binaries are missing; any other failure fails t.
func New(t testing.TB) *sambadc.DC {
	t.Helper()
	if err := sambadc.Available(); err != nil {
		t.Skipf("SKIPPING REAL-DC TEST: Samba AD DC not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dc, err := sambadc.Start(ctx, sambadc.Options{})
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
