package config

import (
	"strings"
	"testing"
	"time"
)

// TestStreamsConfig: the nats.streams section decodes in the shape the
// cluster tests and deploy/ use, and each bad value is refused with an
// error that names the field and the fix.
func TestStreamsConfig(t *testing.T) {
	const head = "temporal: {address: t:7233}\nnats:\n  url: nats://x\n  streams:\n"
	for _, tc := range []struct {
		name, yaml, wantErr string
		check               func(*Config) bool
	}{
		{name: "default", yaml: "temporal: {address: t:7233}\n", check: func(c *Config) bool {
			return c.NATS.Streams.ReplicaCount() == 1 && c.NATS.Streams.Placement == nil && c.ShutdownTimeout == DefaultShutdownTimeout
		}},
		{name: "cluster", yaml: head + "    replicas: 3\n    placement: {cluster: \"east\", tags: [ssd]}\n    approvals: {maxAge: 720h, maxBytes: 1073741824}\n    events: {maxAge: 2160h}\n    blobs: {maxBytes: 536870912}\n",
			check: func(c *Config) bool {
				s := c.NATS.Streams
				return s.ReplicaCount() == 3 && s.Placement.Cluster == "east" && s.Placement.Tags[0] == "ssd" &&
					s.Approvals.MaxAge == 720*time.Hour && s.Approvals.MaxBytes == 1<<30 && s.Events.MaxAge == 2160*time.Hour && s.Blobs.MaxBytes == 512<<20
			}},
		{name: "empty placement", yaml: head + "    replicas: 3\n    placement: {cluster: \"\", tags: []}\n", check: func(c *Config) bool { return c.NATS.Streams.Replicas == 3 }},
		{name: "health and shutdown", yaml: "temporal: {address: t:7233}\nhealth: {listen: \":8081\"}\nshutdownTimeout: 45s\n", check: func(c *Config) bool {
			return c.Health.Listen == ":8081" && c.ShutdownTimeout == 45*time.Second
		}},
		{name: "too many replicas", yaml: head + "    replicas: 7\n", wantErr: "nats.streams.replicas 7: use 1 (one NATS server) to 5"},
		{name: "negative replicas", yaml: head + "    replicas: -1\n", wantErr: "nats.streams.replicas -1"},
		{name: "misspelt field", yaml: head + "    replica: 3\n", wantErr: `unknown field "replica" in nats.streams; did you mean "replicas"?`},
		{name: "age below the duplicate window", yaml: head + "    approvals: {maxAge: 1m}\n", wantErr: "nats.streams.approvals.maxAge 1m0s: must be at least 10m0s"},
		{name: "age without a unit", yaml: head + "    events: {maxAge: 30}\n", wantErr: "line 5: cannot unmarshal !!int `30` into time.Duration"},
		{name: "negative bytes", yaml: head + "    events: {maxBytes: -5}\n", wantErr: "nats.streams.events.maxBytes -5: must be positive"},
		{name: "blob age", yaml: head + "    blobs: {maxAge: 720h}\n", wantErr: "nats.streams.blobs.maxAge: blobs have no age limit"},
		{name: "blob store smaller than a blob", yaml: head + "    blobs: {maxBytes: 1000}\n", wantErr: "nats.streams.blobs.maxBytes 1000: must be at least 67108864"},
		{name: "empty tag", yaml: head + "    placement: {tags: [\"\"]}\n", wantErr: "nats.streams.placement.tags[0] is empty"},
		{name: "health without listen", yaml: "temporal: {address: t:7233}\nhealth: {}\n", wantErr: "health.listen is required"},
		{name: "negative shutdown", yaml: "temporal: {address: t:7233}\nshutdownTimeout: -1s\n", wantErr: "shutdownTimeout -1s: must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("w.yaml", []byte(tc.yaml))
			if tc.wantErr == "" {
				if err != nil || !tc.check(c) {
					t.Fatalf("err %v, config %+v", err, c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "w.yaml") {
				t.Fatalf("error %v, want it to name w.yaml and %q", err, tc.wantErr)
			}
		})
	}
}
