package natsproc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is a nats-server child process that a test can kill and start
// again with the same arguments (the same port and store directory), to
// show what clients do when their server dies and comes back.
type Server struct {
	t    testing.TB
	bin  string
	args []string
	env  []string
	addr string

	mu     sync.Mutex
	out    lockedBuffer
	cmd    *exec.Cmd
	exited chan struct{}
}

// Run starts nats-server -c conf (plus args) with env as its whole
// environment, like Start, and returns it once addr accepts connections.
// It is killed when the test ends.
func Run(t testing.TB, conf, addr string, env []string, args ...string) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), args: append([]string{"-c", conf}, args...), env: env, addr: addr}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("nats-server %s output:\n%s", addr, s.out.String())
		}
	})
	s.Restart()
	return s
}

// RunJetStream runs a lone nats-server with JetStream on a free loopback
// port, its store in a directory of the test's, under this process's
// environment.
func RunJetStream(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("listen: %s\njetstream { store_dir: %q }\n", addr, filepath.Join(dir, "js"))), 0o600); err != nil {
		t.Fatal(err)
	}
	return Run(t, conf, addr, os.Environ())
}

// Addr is the server's client host:port.
func (s *Server) Addr() string { return s.addr }

// URL is the server's client URL.
func (s *Server) URL() string { return "nats://" + s.addr }

// Kill kills the server (SIGKILL: no lame-duck mode, no goodbye to its
// clients or routes) and waits until it has exited. Killing a stopped
// server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart starts a stopped server again with its first arguments and
// waits until it accepts connections.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.t.Fatalf("nats-server %s is running", s.addr)
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = s.env, &s.out, &s.out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			s.cmd = nil
			s.t.Fatalf("nats-server exited:\n%s", s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server not ready on %s:\n%s", s.addr, s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Cluster is nats-server processes routed into one JetStream cluster.
type Cluster struct {
	// Name is the cluster's name (a stream placement's cluster).
	Name    string
	Servers []*Server
}

// StartCluster runs n nats-server processes with JetStream, each with its
// own store directory under the test's temporary directory, routed to each
// other as cluster "ssprflow-test" (servers n1, n2, ...), and returns once
// the cluster has a JetStream meta leader, so an R3 stream can be created.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	dir := t.TempDir()
	clientPorts, routePorts := make([]int, n), make([]int, n)
	for i := range n {
		clientPorts[i], routePorts[i] = FreePort(t), FreePort(t)
	}
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	c := &Cluster{Name: "ssprflow-test"}
	for i := range n {
		name := "n" + strconv.Itoa(i+1)
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
jetstream { store_dir: %q, max_memory_store: 64MB, max_file_store: 4GB }
cluster { name: %s, listen: 127.0.0.1:%d, routes: [%s] }
`, name, clientPorts[i], filepath.Join(dir, name), c.Name, routePorts[i], strings.Join(routes, ", "))
		path := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		c.Servers = append(c.Servers, Run(t, path, fmt.Sprintf("127.0.0.1:%d", clientPorts[i]), os.Environ()))
	}
	c.WaitJetStream(t)
	return c
}

// URLs is every server's client URL, comma-separated, as a client's
// nats.url takes them.
func (c *Cluster) URLs() string {
	var urls []string
	for _, s := range c.Servers {
		urls = append(urls, s.URL())
	}
	return strings.Join(urls, ",")
}

// WaitJetStream waits until the cluster's JetStream answers (it has a meta
// leader).
func (c *Cluster) WaitJetStream(t testing.TB) {
	t.Helper()
	js := c.JetStream(t)
	for deadline := time.Now().Add(30 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream cluster %s not ready: %v", c.Name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// JetStream connects to the cluster (any node) for the rest of the test.
func (c *Cluster) JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// lockedBuffer is a bytes.Buffer that a process's output and a test's
// failure log may use at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
