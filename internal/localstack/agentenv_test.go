package localstack

import (
	"slices"
	"strings"
	"testing"
)

func TestAgentEnv(t *testing.T) {
	// What the demo's process holds when it starts the agent (dev.go and
	// demo.go set these before startAgent).
	parent := []string{
		"PATH=/usr/bin:/bin", "HOME=/home/op", "TMPDIR=/tmp/x", "LANG=C.UTF-8",
		"SSPRFLOW_SIM_TOKEN=sim-token", "SSPRFLOW_SIM_TOKEN_PORTAL=portal-token",
		"SSPRFLOW_DEMO_NATS_PASSWORD=nats-pw", "SSPRFLOW_NATS_PASSWORD=nats-pw2",
		"SSPRFLOW_DEMO_PW_OPERATOR=op-pw", "SSPRFLOW_DEMO_PW_ALICE=alice-pw",
		"SSPRFLOW_AD_PASSWORD=ad-pw", "SSPRFLOW_DEV_SIGNING_KEY=signing",
		"SSPRFLOW_CONFIG=/etc/ssprflow/worker.yaml", "SSPRFLOW_GRAPH_SECRET=graph",
		"SSPRFLOW_CLOUDSYNC_PASSWORD=cs", "AWS_SECRET_ACCESS_KEY=aws", "NOEQUALS",
	}
	tests := []struct {
		name  string
		extra []string
		want  []string
	}{
		{name: "no extra", want: []string{"PATH=/usr/bin:/bin", "HOME=/home/op", "TMPDIR=/tmp/x", "LANG=C.UTF-8"}},
		{name: "codec key passed", extra: []string{"SSPRFLOW_CODEC_KEY=k1"},
			want: []string{"PATH=/usr/bin:/bin", "HOME=/home/op", "TMPDIR=/tmp/x", "LANG=C.UTF-8", "SSPRFLOW_CODEC_KEY=k1"}},
		{name: "extra replaces inherited", extra: []string{"TMPDIR=/run/agent"},
			want: []string{"PATH=/usr/bin:/bin", "HOME=/home/op", "LANG=C.UTF-8", "TMPDIR=/run/agent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := agentEnv(parent, tt.extra)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("agentEnv = %q, want %q", got, tt.want)
			}
			for _, kv := range got {
				// The agent needs no secret of the stack's: every value that
				// is one must stay behind.
				for _, secret := range []string{"token", "pw", "signing", "graph", "aws", "/etc/ssprflow"} {
					if _, v, _ := strings.Cut(kv, "="); strings.Contains(v, secret) {
						t.Errorf("agent inherits %q", kv)
					}
				}
			}
		})
	}
}
