package worker

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestMainUsage: usage mistakes exit 2 before anything starts, naming the
// mistake; a stray word never starts a production worker.
func TestMainUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--config", "worker.yaml", "ad", "check"}, 2, `unexpected argument "ad"`},
		{[]string{"--agent", "bogus"}, 2, `unknown agent "bogus"`},
		{[]string{"--agent", "writeback", "--mode", "sync"}, 2, `--mode "sync"`},
		{nil, 2, "--config worker.yaml"},
		{[]string{"--version"}, 0, "ssprflow-worker"},
		{[]string{"ad", "chek"}, 2, `did you mean "check"`},
	} {
		var out, errb bytes.Buffer
		code := Main(context.Background(), tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
			t.Errorf("ssprflow-worker %s: exit %d, want %d with %q:\n%s%s", strings.Join(tc.args, " "), code, tc.code, tc.want, out.String(), errb.String())
		}
	}
}
