package deploytest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/dial"

	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/config"
)

// natsNodes and workers are compose's NATS cluster and workers.
var (
	natsNodes = []string{"nats1", "nats2", "nats3"}
	workers   = []string{"worker1", "worker2"}
)

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
	} `yaml:"services"`
}

// interpolate applies compose's ${VAR:-default}, ${VAR:?err} and ${VAR}
// with an empty environment, as a fresh deployment would.
var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}`)

func interpolate(s string) string {
	return interpolation.ReplaceAllStringFunc(s, func(m string) string {
		p := interpolation.FindStringSubmatch(m)
		if p[2] == "-" {
			return p[3]
		}
		return ""
	})
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(deployDir, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// TestComposeExposure: only Temporal's frontend and NATS are published beyond
// 127.0.0.1, and both demand a client certificate; the UI is read-only.
func TestComposeExposure(t *testing.T) {
	c := loadCompose(t)
	public := map[string]bool{}
	for name, s := range c.Services {
		for _, p := range s.Ports {
			parts := strings.Split(interpolate(p), ":")
			if len(parts) == 3 && (parts[0] == "127.0.0.1" || parts[0] == "[::1]") {
				continue
			}
			public[name+":"+parts[len(parts)-1]] = true
		}
		if slices.Contains(s.Command, "--agent") {
			t.Errorf("service %s runs the writeback agent: it belongs on the sync server", name)
		}
	}
	for p := range public {
		if p != "temporal:7233" && p != "nats1:4222" && p != "nats2:4222" && p != "nats3:4222" {
			t.Errorf("%s is published on every interface", p)
		}
	}
	tmp := c.Services["temporal"].Environment
	for _, k := range []string{"TEMPORAL_TLS_FRONTEND_CERT", "TEMPORAL_TLS_SERVER_CERT", "TEMPORAL_TLS_CLIENT1_CA_CERT"} {
		if tmp[k] == "" {
			t.Errorf("temporal: %s not set", k)
		}
	}
	if tmp["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"] != "true" {
		t.Error("temporal: TEMPORAL_TLS_REQUIRE_CLIENT_AUTH is not true: anyone reaching 7233 controls every rollout")
	}
	ui := c.Services["temporal-ui"].Environment
	if ui["TEMPORAL_TLS_CERT"] == "" || ui["TEMPORAL_TLS_ENABLE_HOST_VERIFICATION"] != "true" {
		t.Error("temporal-ui: no verified mTLS to the frontend")
	}
	if ui["TEMPORAL_DISABLE_WRITE_ACTIONS"] != "true" {
		t.Error("temporal-ui: write actions enabled: its certificate would let any UI user signal or terminate rollouts")
	}
	for _, n := range natsNodes {
		if !slices.Contains(c.Services[n].Volumes, "./nats-tls.conf:/etc/nats/nats-tls.conf:ro") {
			t.Errorf("%s: nats-tls.conf is not mounted next to nats.conf", n)
		}
	}
}

// TestComposeMountsOnlyOwnCerts: each container gets its own certs.sh
// directory and nothing else of the PKI (never ca/, which holds the CA keys),
// and every certificate file a container is told about is one certs.sh makes.
func TestComposeMountsOnlyOwnCerts(t *testing.T) {
	d := certsDir(t)
	c := loadCompose(t)
	want := map[string]string{"temporal": "temporal", "temporal-ui": "temporal-ui", "nats1": "nats", "nats2": "nats", "nats3": "nats", "worker1": "worker", "worker2": "worker"}
	for name, s := range c.Services {
		var dirs []string
		for _, v := range s.Volumes {
			src, target, _ := strings.Cut(interpolate(v), ":")
			if !strings.HasPrefix(src, "./certs") {
				continue
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(src, "./certs"), "/")
			dirs = append(dirs, rel)
			target, _, _ = strings.Cut(target, ":")
			// Every file this service names under the mount exists there.
			for k, val := range s.Environment {
				if f, ok := strings.CutPrefix(val, target+"/"); ok {
					if _, err := os.Stat(filepath.Join(d, rel, f)); err != nil {
						t.Errorf("%s: %s=%s: certs.sh makes no %s/%s", name, k, val, rel, f)
					}
				}
			}
		}
		if w, ok := want[name]; ok && !slices.Equal(dirs, []string{w}) {
			t.Errorf("%s mounts certs %q, want only %q", name, dirs, w)
		}
		if _, ok := want[name]; !ok && len(dirs) > 0 {
			t.Errorf("%s mounts certs %q, wants none", name, dirs)
		}
	}
}

// exampleFile maps a path in an example configuration to certs.sh's output.
func exampleFile(d, component, path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		path = path[i+1:]
	}
	return filepath.Join(d, component, path)
}

// TestWorkerExampleConfig: the worker's example configuration loads, uses
// mTLS to Temporal and NATS with certs.sh's worker files, and the worker's
// own dialer gets through the real nats-server's TLS with it.
func TestWorkerExampleConfig(t *testing.T) {
	d := certsDir(t)
	cfg, err := config.Load(filepath.Join(deployDir, "worker.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for what, tc := range map[string]*config.TLS{"temporal": cfg.Temporal.TLS, "nats": cfg.NATS.TLS} {
		if tc == nil || tc.CAFile == "" || tc.CertFile == "" || tc.KeyFile == "" {
			t.Fatalf("%s.tls: %+v, want caFile, certFile and keyFile", what, tc)
		}
		if base := filepath.Base(tc.CertFile); base != what+".pem" {
			t.Errorf("%s.tls.certFile is %s, want the worker's %s certificate %s.pem", what, base, what, what)
		}
		for _, f := range []string{tc.CAFile, tc.CertFile, tc.KeyFile} {
			if !strings.HasPrefix(f, "/etc/ssprflow/certs/") {
				t.Errorf("%s.tls: %s is not under the compose mount /etc/ssprflow/certs/", what, f)
			}
			if _, err := os.Stat(exampleFile(d, "worker", f)); err != nil {
				t.Errorf("%s.tls: certs.sh makes no worker/%s", what, filepath.Base(f))
			}
		}
	}
	if !strings.HasPrefix(cfg.NATS.URL, "tls://") {
		t.Errorf("nats.url %s, want tls://", cfg.NATS.URL)
	}
	nc := cfg.NATS
	nc.URL = startTLSNATS(t, d)
	tc := *nc.TLS
	tc.CAFile, tc.CertFile, tc.KeyFile = exampleFile(d, "worker", tc.CAFile), exampleFile(d, "worker", tc.CertFile), exampleFile(d, "worker", tc.KeyFile)
	tc.ServerName = "nats" // in the certificate, as in compose
	nc.TLS = &tc
	t.Setenv("SSPRFLOW_NATS_PASSWORD", "unused-by-this-server")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := dial.NATS(ctx, nc, "deploytest")
	if err != nil {
		t.Fatalf("worker.DialNATS with the example's TLS: %v", err)
	}
	defer conn.Close()
	if err := conn.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestAgentExampleConfig: the writeback agent's configuration holds Temporal
// and nothing else, with certs.sh's agent files.
func TestAgentExampleConfig(t *testing.T) {
	d := certsDir(t)
	cfg, err := config.Load(filepath.Join(deployDir, "agent.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NATS.URL != "" || cfg.NATS.User != "" || cfg.NATS.CredsFile != "" || len(cfg.Tenants) != 0 ||
		len(cfg.Directories) != 0 || len(cfg.People) != 0 || cfg.Signing != nil {
		t.Errorf("the agent's configuration holds more than Temporal: %+v", cfg)
	}
	tc := cfg.Temporal.TLS
	if tc == nil || tc.CertFile == "" {
		t.Fatal("temporal.tls: no client certificate")
	}
	for _, f := range []string{tc.CAFile, tc.CertFile, tc.KeyFile} {
		if _, err := os.Stat(exampleFile(d, "agent", f)); err != nil {
			t.Errorf("temporal.tls: certs.sh makes no agent/ file for %s", f)
		}
	}
}
