package deploytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/dial"
	"github.com/ssprflow/ssprflow/internal/natsproc"
	"github.com/ssprflow/ssprflow/internal/streams"
)

// TestComposeNATSCluster runs compose's NATS cluster as compose does, on
// this machine: three stock nats-server processes, each with the shipped
// nats.conf and nats-tls.conf and its service's command line from
// docker-compose.yml (only host names, ports and the store rewritten to
// local ones). The worker, with worker.example.yaml's NATS section (its
// certificate, password and nats.streams) and its own dialer, creates its
// streams there, replicated three times, and a second worker's start finds
// them as configured. Both compose workers run that configuration.
func TestComposeNATSCluster(t *testing.T) {
	d := certsDir(t)
	c := loadCompose(t)
	cfg, err := config.Load(filepath.Join(deployDir, "worker.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if n := cfg.NATS.Streams.ReplicaCount(); n != len(natsNodes) {
		t.Fatalf("worker.example.yaml nats.streams.replicas %d, want %d for compose's %d NATS nodes", n, len(natsNodes), len(natsNodes))
	}
	for _, w := range workers {
		s, ok := c.Services[w]
		if !ok {
			t.Fatalf("compose has no %s", w)
		}
		if !slices.Contains(s.Volumes, "./worker.example.yaml:/etc/ssprflow/worker.yaml:ro") {
			t.Errorf("%s does not run worker.example.yaml", w)
		}
	}
	for _, n := range natsNodes {
		if !strings.Contains(cfg.NATS.URL, "tls://"+n+":4222") {
			t.Errorf("worker.example.yaml nats.url %s does not name %s: the worker would not fail over to it", cfg.NATS.URL, n)
		}
	}

	raw, err := os.ReadFile(filepath.Join(deployDir, "nats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	tlsConf, err := os.ReadFile(filepath.Join(deployDir, "nats-tls.conf"))
	if err != nil {
		t.Fatal(err)
	}
	tlsConf = bytes.ReplaceAll(tlsConf, []byte("/etc/nats/certs/"), []byte(filepath.Join(d, "nats")+"/"))
	env := os.Environ()
	for _, m := range regexp.MustCompile(`password: \$([A-Z0-9_]+)`).FindAllSubmatch(raw, -1) {
		hash, err := bcrypt.GenerateFromPassword([]byte("pw-"+string(m[1])), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, string(m[1])+"="+string(hash))
	}
	client, route := map[string]int{}, map[string]int{}
	for _, n := range natsNodes {
		client[n], route[n] = natsproc.FreePort(t), natsproc.FreePort(t)
	}
	var urls []string
	for _, n := range natsNodes {
		dir := filepath.Join(t.TempDir(), n)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		conf := bytes.Replace(raw, []byte("jetstream { store_dir: /data }"), []byte("jetstream { store_dir: "+strconv.Quote(filepath.Join(dir, "data"))+" }"), 1)
		conf = bytes.Replace(conf, []byte("port: 4222\n"), []byte(fmt.Sprintf("listen: 127.0.0.1:%d\n", client[n])), 1)
		if err := os.WriteFile(filepath.Join(dir, "nats.conf"), conf, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "nats-tls.conf"), tlsConf, 0o600); err != nil {
			t.Fatal(err)
		}
		args := composeArgs(t, c.Services[n].Command, filepath.Join(dir, "nats.conf"), route)
		natsproc.Run(t, args[1], fmt.Sprintf("127.0.0.1:%d", client[n]), env, args[2:]...)
		urls = append(urls, fmt.Sprintf("tls://127.0.0.1:%d", client[n]))
	}

	nc := cfg.NATS
	nc.URL = strings.Join(urls, ",")
	tc := *nc.TLS
	tc.CAFile, tc.CertFile, tc.KeyFile = exampleFile(d, "worker", tc.CAFile), exampleFile(d, "worker", tc.CertFile), exampleFile(d, "worker", tc.KeyFile)
	nc.TLS = &tc
	t.Setenv("SSPRFLOW_NATS_PASSWORD", "pw-SSPRFLOW_NATS_PASSWORD")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, js, err := dial.NATS(ctx, nc, "deploytest")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The cluster elects its JetStream meta leader first.
	var created []string
	for {
		actx, acancel := context.WithTimeout(ctx, 3*time.Second)
		var more []string
		more, err = streams.Ensure(actx, js, cfg.NATS.Streams)
		acancel()
		created = append(created, more...)
		if err == nil || errors.Is(err, streams.ErrMismatch) || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil || len(created) != 3 {
		t.Fatalf("the worker's streams on compose's cluster: created %v, %v", created, err)
	}
	for _, name := range created {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info := s.CachedInfo()
		if info.Config.Replicas != 3 || info.Cluster == nil || info.Cluster.Name != "ssprflow" || len(info.Cluster.Replicas) != 2 {
			t.Errorf("%s: replicas %d, cluster %+v; want R3 on cluster ssprflow", name, info.Config.Replicas, info.Cluster)
		}
	}
	if again, err := streams.Ensure(ctx, js, cfg.NATS.Streams); err != nil || len(again) != 0 {
		t.Fatalf("a second worker's start: created %v, %v", again, err)
	}
}

// composeArgs maps a NATS service's compose command to this machine: the
// configuration file, and the cluster listen and route URLs (compose host
// names) to local ports.
func composeArgs(t *testing.T, command []string, conf string, route map[string]int) []string {
	t.Helper()
	args := slices.Clone(command)
	if len(args) < 2 || args[0] != "-c" || args[1] != "/etc/nats/nats.conf" {
		t.Fatalf("NATS command %q does not start with -c /etc/nats/nats.conf", command)
	}
	args[1] = conf
	var name string
	for i := 2; i+1 < len(args); i++ {
		if args[i] == "--server_name" {
			name = args[i+1]
		}
	}
	if route[name] == 0 {
		t.Fatalf("NATS command %q: --server_name is not one of %v", command, natsNodes)
	}
	for i := 2; i+1 < len(args); i++ {
		switch args[i] {
		case "--cluster":
			if args[i+1] != "nats://0.0.0.0:6222" {
				t.Fatalf("--cluster %s, want nats://0.0.0.0:6222", args[i+1])
			}
			args[i+1] = fmt.Sprintf("nats://127.0.0.1:%d", route[name])
		case "--routes":
			var routes []string
			for _, r := range strings.Split(args[i+1], ",") {
				host, ok := strings.CutPrefix(r, "nats://")
				host, _, _ = strings.Cut(host, ":")
				if !ok || route[host] == 0 {
					t.Fatalf("route %s names no compose NATS node", r)
				}
				routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", route[host]))
			}
			if len(routes) != len(natsNodes) {
				t.Fatalf("--routes %s: want every node", args[i+1])
			}
			args[i+1] = strings.Join(routes, ",")
		}
	}
	return args
}
