package topology

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/dial"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/natsproc"
	"github.com/ssprflow/ssprflow/internal/sambadc"
	"github.com/ssprflow/ssprflow/internal/streams"
)

// Names every part of the topology agrees on.
const (
	workerUser       = "ssprflow-worker"
	operatorUser     = "operator"
	labProfile       = "lab"
	connectorSAM     = "MSOL_ssprflow"
	connectorAccount = `EXAMPLE\MSOL_ssprflow`
	agentQueue       = "ssprflow-writeback-topology"
	streamReplicas   = 3

	// Environment variables of the worker processes' secrets.
	envSimToken  = "SSPRFLOW_TOPO_SIM_TOKEN"
	envNATSPW    = "SSPRFLOW_TOPO_NATS_PASSWORD"
	envADPW      = "SSPRFLOW_TOPO_AD_PASSWORD"
	envCodecKey  = "SSPRFLOW_TOPO_CODEC_KEY"
	envSigningKy = "SSPRFLOW_TOPO_SIGNING_KEY"
)

var approvers = []string{"alice", "bob"}

// topology is what an organisation runs, on this machine: Temporal on
// PostgreSQL, a NATS cluster, a DC. Rollouts (see rig) add the tenant, the
// workers and the agent.
type topology struct {
	t         *testing.T
	dir       string
	pg        *tcpProxy
	temporal  *temporalServer
	nats      *natsCluster
	dc        *sambadc.DC
	passwords map[string]string // NATS users'
	codecKey  string            // base64
	signKey   string
	tc        client.Client
}

func newTopology(t *testing.T) *topology {
	t.Helper()
	if testing.Short() {
		t.Skip("production-topology test: starts Temporal on PostgreSQL, a NATS cluster, workers and a DC")
	}
	if err := sambadc.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("samba is required in CI (.ci/install-deps installs it): %v", err)
		}
		t.Skipf("SKIPPED LOUDLY: samba is not installed: %v", err)
	}
	natsproc.Binary(t)
	requirePostgres(t)
	dir := t.TempDir()
	top := &topology{t: t, dir: dir, passwords: map[string]string{}, codecKey: randomKey(), signKey: randomKey()}
	start := time.Now()

	top.pg = startProxy(t, "127.0.0.1:5432")
	top.temporal = startTemporal(t, dir, top.pg.addr())

	people, err := approval.Deployment{WorkerUser: workerUser, Approvers: approvers, Operators: []string{operatorUser}}.Users()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range people {
		top.passwords[u.Name] = randomHex(16)
	}
	top.nats = startNATS(t, dir, people, top.passwords)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	top.dc, err = sambadc.Start(ctx, sambadc.Options{Dir: filepath.Join(dir, "dc")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = top.dc.Stop() })
	if _, err := top.dc.CreateConnectorAccount(ctx, connectorSAM, "Connector-Pa55!"+top.dc.AdminPassword[:6]); err != nil {
		t.Fatal(err)
	}
	if _, err := top.dc.SambaTool(ctx, "domain", "passwordsettings", "set", "--min-pwd-age=0"); err != nil {
		t.Fatal(err)
	}

	// This process dials as the operator would (the codec key decodes
	// the rollout's state).
	t.Setenv(config.EnvCodecKeys, "topo:"+top.codecKey)
	t.Setenv(envCodecKey, top.codecKey)
	top.tc, err = dial.Temporal(ctx, top.temporalConfig(), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(top.tc.Close)
	t.Logf("topology up in %s: Temporal %s on PostgreSQL database %s (through proxy %s), NATS %s, DC %s",
		time.Since(start).Round(time.Millisecond), top.temporal.hostPort(), top.temporal.db, top.pg.addr(), top.nats.urls(), top.dc.URL())
	return top
}

// requirePostgres: the machine's PostgreSQL (trust auth for postgres on
// 127.0.0.1:5432) and its psql client; skipped loudly without them, except
// in CI, where a skip would hide a suite that never ran.
func requirePostgres(t *testing.T) {
	t.Helper()
	err := psql("SELECT 1")
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and psql are required in CI: %v", err)
	}
	t.Skipf("SKIPPED LOUDLY: no PostgreSQL on 127.0.0.1:5432 with psql: %v", err)
}

func randomKey() string {
	var b [config.CodecKeySize]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

func (top *topology) temporalConfig() config.Temporal {
	return config.Temporal{Address: top.temporal.hostPort(), Namespace: "default",
		Codec: &config.Codec{KeySet: config.KeySet{Current: "topo", Keys: []config.Key{{ID: "topo", Secret: config.Secret{Env: envCodecKey}}}}}}
}

// natsAs is the NATS configuration of user, its password in this process's
// environment.
func (top *topology) natsAs(user string) config.NATS {
	env := "SSPRFLOW_TOPO_PW_" + strings.ToUpper(strings.ReplaceAll(user, "-", "_"))
	top.t.Setenv(env, top.passwords[user])
	return config.NATS{URL: top.nats.urls(), User: user, Password: config.Secret{Env: env}}
}

// checkStreams fails the test unless every stream of the worker exists at
// R3 with a leader and every replica current: the workers create them from
// nats.streams (replicas: 3) and must never change them.
func (top *topology) checkStreams(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, js, err := dial.NATS(ctx, top.natsAs(workerUser), "topology-harness")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, cfg := range streams.Configs(config.Streams{Replicas: streamReplicas}) {
		for {
			s, err := js.Stream(ctx, cfg.Name)
			var why string
			switch {
			case err != nil:
				why = err.Error()
			case s.CachedInfo().Config.Replicas != streamReplicas:
				t.Fatalf("stream %s has %d replicas, want %d", cfg.Name, s.CachedInfo().Config.Replicas, streamReplicas)
			case s.CachedInfo().Cluster == nil || s.CachedInfo().Cluster.Leader == "":
				why = "no leader"
			default:
				why = ""
				for _, p := range s.CachedInfo().Cluster.Replicas {
					if !p.Current || p.Offline {
						why = "replica " + p.Name + " not current"
					}
				}
			}
			if why == "" {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("stream %s not healthy at R%d: %s", cfg.Name, streamReplicas, why)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// streamLeader returns the index of the node leading stream, and the
// stream's replicas as the cluster reports them.
func (top *topology) streamLeader(ctx context.Context, stream string) (int, *jetstream.ClusterInfo, error) {
	nc, js, err := dial.NATS(ctx, top.natsAs(workerUser), "topology-harness", nats.MaxReconnects(-1))
	if err != nil {
		return -1, nil, err
	}
	defer nc.Close()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return -1, nil, err
	}
	ci := s.CachedInfo().Cluster
	if ci == nil || ci.Leader == "" {
		return -1, ci, fmt.Errorf("stream %s has no leader", stream)
	}
	for i, n := range top.nats.nodes {
		if n.name == ci.Leader {
			return i, ci, nil
		}
	}
	return -1, ci, fmt.Errorf("stream %s led by unknown server %q", stream, ci.Leader)
}

// temporalServer is the topology-temporal process on its own database.
type temporalServer struct {
	t      testing.TB
	dir    string
	db     string
	pgAddr string
	ports  []int
	p      *proc
}

func startTemporal(t testing.TB, dir, pgAddr string) *temporalServer {
	t.Helper()
	ts := &temporalServer{t: t, dir: dir, db: "ssprflow_topo_" + randomHex(6), pgAddr: pgAddr, ports: freePorts(t, 4)}
	t.Cleanup(func() {
		// After the server (cleanups run last-in first-out): nothing holds
		// the databases any more; FORCE ends what still does.
		for _, db := range []string{ts.db, ts.db + "_visibility"} {
			if err := psql("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)"); err != nil {
				t.Errorf("drop database: %v", err)
			}
		}
	})
	setup := startProc(t, dir, "temporal-setup", minimalEnv(), bins.temporal, "setup", "--pg", pgAddr, "--db", ts.db)
	<-setup.done
	if code := setup.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("temporal schema setup exited %d:\n%s", code, tail(setup.log, 30))
	}
	setup.quiet = true
	ts.serve()
	return ts
}

func (ts *temporalServer) hostPort() string { return "127.0.0.1:" + strconv.Itoa(ts.ports[0]) }

// serve starts the server process and waits until it serves the namespace.
func (ts *temporalServer) serve() {
	ts.t.Helper()
	args := []string{"serve", "--pg", ts.pgAddr, "--db", ts.db}
	for i, name := range []string{"frontend", "history", "matching", "worker"} {
		args = append(args, "--"+name+"-port", strconv.Itoa(ts.ports[i]))
	}
	ts.p = startProc(ts.t, ts.dir, "temporal", minimalEnv(), bins.temporal, args...)
	ts.p.waitOutput(ts.t, "ready", 2*time.Minute)
}

// natsCluster is three nats-server processes in one cluster, JetStream on
// each, the users and permissions of deploy/nats.conf.
type natsCluster struct {
	t     testing.TB
	dir   string
	nodes []*natsNode
}

type natsNode struct {
	name       string
	port, cprt int
	conf       string
	p          *proc
}

func startNATS(t testing.TB, dir string, users []approval.NATSUser, passwords map[string]string) *natsCluster {
	t.Helper()
	ports := freePorts(t, 6)
	c := &natsCluster{t: t, dir: dir}
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3+i]))
	}
	var auth strings.Builder
	auth.WriteString("authorization {\n  users = [\n")
	for _, u := range users {
		fmt.Fprintf(&auth, "    { user: %q, password: %q\n      permissions: {\n", u.Name, passwords[u.Name])
		writeAllow(&auth, "publish", u.Publish)
		writeAllow(&auth, "subscribe", u.Subscribe)
		if u.AllowResponses {
			auth.WriteString("        allow_responses: true\n")
		}
		auth.WriteString("      } }\n")
	}
	auth.WriteString("  ]\n}\n")
	for i := range 3 {
		n := &natsNode{name: fmt.Sprintf("nats-%d", i+1), port: ports[i], cprt: ports[3+i]}
		n.conf = filepath.Join(dir, n.name+".conf")
		conf := fmt.Sprintf("server_name: %s\nlisten: 127.0.0.1:%d\njetstream { store_dir: %q, max_memory_store: 64MB, max_file_store: 2GB }\n"+
			"cluster { name: ssprflow-topology, listen: 127.0.0.1:%d, routes: [%s] }\n%s",
			n.name, n.port, filepath.Join(dir, n.name+"-store"), n.cprt, strings.Join(routes, ", "), auth.String())
		if err := os.WriteFile(n.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, n)
	}
	for i := range c.nodes {
		c.start(i)
	}
	return c
}

func writeAllow(b *strings.Builder, name string, subjects []string) {
	fmt.Fprintf(b, "        %s: { allow: [", name)
	for i, s := range subjects {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "%q", s)
	}
	b.WriteString("] }\n")
}

// start (re)starts node i and waits until it accepts clients.
func (c *natsCluster) start(i int) {
	c.t.Helper()
	n := c.nodes[i]
	n.p = startProc(c.t, c.dir, n.name, minimalEnv(), natsproc.Binary(c.t), "-c", n.conf)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", n.port), nats.NoReconnect(), nats.Timeout(time.Second)); err == nil || strings.Contains(fmt.Sprint(err), "Authorization") {
			if nc != nil {
				nc.Close()
			}
			return
		}
		if n.p.exited() || time.Now().After(deadline) {
			c.t.Fatalf("%s did not start:\n%s", n.name, tail(n.p.log, 30))
		}
	}
}

func (c *natsCluster) urls() string {
	var urls []string
	for _, n := range c.nodes {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", n.port))
	}
	return strings.Join(urls, ",")
}

// tenant is one rollout's world: a fresh tenant simulator, two worker
// processes and the writeback agent, for the topology's Temporal, NATS and
// DC.
type tenant struct {
	top     *topology
	name    string // the fault, for names
	dir     string
	sim     *entrasim.Server
	simURL  string
	cfgPath string
	workers []*proc
	agent   *proc
	ou      string // the DN the rollout grants on
	state   string // the simulated sync server's state file
}

const tenantDomain = "contoso.onmicrosoft.com"

func (top *topology) newTenant(t *testing.T, name string, users int) *tenant {
	t.Helper()
	dir := t.TempDir()
	sim, err := entrasim.New(entrasim.Options{Users: users, Org: true, Strict: true, TimeScale: 3600, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ou, err := top.dc.CreateOU(ctx, top.dc.BaseDN, "Topology-"+name)
	if err != nil {
		t.Fatal(err)
	}
	tn := &tenant{top: top, name: name, dir: dir, sim: sim, simURL: url, ou: ou, state: filepath.Join(dir, "sync-server.json")}
	tn.writeConfig(t)
	return tn
}

// writeConfig writes the worker configuration both workers share, as a
// Deployment's ConfigMap would hold it; secrets come from the environment.
func (tn *tenant) writeConfig(t *testing.T) {
	top := tn.top
	cfg := &config.Config{
		Temporal: top.temporalConfig(),
		NATS: config.NATS{URL: top.nats.urls(), User: workerUser, Password: config.Secret{Env: envNATSPW},
			Streams: config.Streams{Replicas: streamReplicas}},
		Tenants: []config.Tenant{{
			Tenant: "*", GraphURL: tn.simURL + "/v1.0", PortalURL: tn.simURL,
			Graph:       config.Credential{Method: "token", Token: config.Secret{Env: envSimToken}},
			Portal:      &config.Credential{Method: "token", Token: config.Secret{Env: envSimToken + "_PORTAL"}},
			GraphBudget: &config.GraphBudget{Size: "small", WindowScale: 3600},
		}},
		Directories: []config.Directory{{
			Profile: labProfile, URL: top.dc.URL(), CAFile: top.dc.CAFile, ServerName: top.dc.ServerName,
			BindUser: top.dc.AdminUser, BindPassword: config.Secret{Env: envADPW}, ConnectorAccount: connectorAccount,
		}},
		Signing: &config.Signing{KeySet: config.KeySet{Current: "topo", Keys: []config.Key{{ID: "topo", Secret: config.Secret{Env: envSigningKy}}}}},
	}
	for _, u := range append(append([]string(nil), approvers...), operatorUser) {
		cfg.People = append(cfg.People, config.Person{ID: u, NATS: []string{u}})
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tn.cfgPath = filepath.Join(tn.dir, "worker.yaml")
	if err := os.WriteFile(tn.cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// startWorker starts one more ssprflow-worker process (its own blob
// cache, as on its own host) and waits until it polls: its log says so.
func (tn *tenant) startWorker(t *testing.T) *proc {
	t.Helper()
	top := tn.top
	i := len(tn.workers) + 1
	// What differs between two hosts: the blob cache and the probes'
	// address.
	health := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
	b, err := os.ReadFile(tn.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	b = fmt.Appendf(b, "blobCache: %s\nhealth:\n  listen: %q\n", filepath.Join(tn.dir, fmt.Sprintf("blobs-%d", i)), health)
	cfgPath := filepath.Join(tn.dir, fmt.Sprintf("worker-%d.yaml", i))
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	env := minimalEnv(
		envSimToken+"="+tn.sim.Token(), envSimToken+"_PORTAL="+tn.sim.PortalToken(),
		envNATSPW+"="+top.passwords[workerUser], envADPW+"="+top.dc.AdminPassword,
		envCodecKey+"="+top.codecKey, envSigningKy+"="+top.signKey)
	p := startProc(t, tn.dir, "worker-"+tn.name, env, bins.worker, "--config", cfgPath, "--log-level", "info")
	tn.workers = append(tn.workers, p)
	waitReady(t, p, "http://"+health+"/readyz", time.Minute)
	top.checkStreams(t)
	return p
}

// waitReady polls the worker's /readyz until it answers 200: it polls
// its task queue, NATS and Temporal are connected, the streams are as
// configured.
func waitReady(t testing.TB, p *proc, url string, d time.Duration) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := hc.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if p.exited() {
			t.Fatalf("%s exited before it was ready:\n%s", p.name, tail(p.log, 40))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not ready after %s:\n%s", p.name, url, d, tail(p.log, 40))
		}
	}
}

// startAgent starts the writeback agent on its simulated sync server, as
// its own process with only its Temporal identity and the payload key.
func (tn *tenant) startAgent(t *testing.T) *proc {
	t.Helper()
	p := startProc(t, tn.dir, "agent-"+tn.name, minimalEnv(config.EnvCodecKeys+"=topo:"+tn.top.codecKey), bins.dev,
		"agent", "--task-queue", agentQueue, "--temporal", tn.top.temporal.hostPort(),
		"--state-file", tn.state, "--sync-account", connectorAccount)
	tn.agent = p
	return p
}
