package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageCheckedBeforeConnecting: every command refuses a usage mistake
// with exit 2 and says what is wrong, without contacting NATS or Temporal
// (none runs here: a command that tried to connect would fail otherwise).
func TestUsageCheckedBeforeConnecting(t *testing.T) {
	for _, k := range []string{"SSPRFLOW_CONFIG", "SSPRFLOW_NATS_USER"} {
		t.Setenv(k, "")
	}
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"events"}, "events needs a rollout id, e.g. ssprflow events sspr/"},
		{[]string{"pending", "sspr/a/b", "extra"}, "pending needs a rollout id"},
		{[]string{"report", "not-an-id"}, `"not-an-id" is not a rollout id`},
		{[]string{"report", "sspr/a/b", "--output", "yaml"}, "--output"},
		{[]string{"pending", "sspr/a/b"}, "say who you are on NATS"},
		{[]string{"events", "sspr/a/b", "--config", missing}, "--config"},
		{[]string{"approve", "sspr/a/b"}, "approve needs --gate"},
		{[]string{"reject", "--gate", "pilot"}, "reject needs a rollout id"},
		{[]string{"approve", "sspr/a/b", "--gate", "pilot"}, "say who you are"},
		{[]string{"rollout", "status"}, "rollout status needs a rollout id"},
		{[]string{"rollout", "cancel", "a/b/c"}, `"a/b/c" is not a rollout id`},
		{[]string{"rollout", "resume", "sspr/a/b"}, "rollout resume needs --action"},
		{[]string{"rollout", "resume", "sspr/a/b", "--action", "retyr"}, `did you mean "retry"`},
		{[]string{"rollout", "list", "--state", "runing"}, `did you mean "running"`},
		{[]string{"rollout", "start"}, "rollout start needs exactly one plan file"},
		{[]string{"rollout", "start", "../../examples/pilot.yaml"}, "say who you are on NATS"},
		{[]string{"plan", "diff", "a.yaml", "b.yaml"}, "plan diff needs exactly one plan file"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), tt.args, &out, &errb)
			if code != 2 || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, errb.String(), tt.want)
			}
		})
	}
}
