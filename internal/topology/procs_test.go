package topology

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bins are the binaries the topology runs, built once by TestMain.
var bins struct {
	temporal, worker, dev string
}

// TestMain builds topology-temporal, ssprflow-worker and ssprflow-dev (its
// hidden agent command runs the writeback agent on the simulated sync
// server) into a temporary directory. With -short nothing is built and the
// tests skip.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "ssprflow-topology-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if err := build(dir); err != nil {
			fmt.Fprintln(os.Stderr, "topology: build:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func build(dir string) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	for _, b := range []struct {
		out *string
		pkg string
	}{
		{&bins.temporal, "./internal/topology/cmd/topology-temporal"},
		{&bins.worker, "./worker"},
		{&bins.dev, "./internal/localstack/cmd/ssprflow-dev"},
	} {
		*b.out = filepath.Join(dir, filepath.Base(b.pkg))
		args := []string{"build", "-o", *b.out}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, b.pkg)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
		}
	}
	return nil
}

// proc is a child process of the topology, in its own process group, its
// stdout and stderr in files under the test's directory.
type proc struct {
	name    string
	cmd     *exec.Cmd
	out     string // stdout
	log     string // stderr
	done    chan struct{}
	started time.Time
	// quiet: a finished helper (schema setup) whose output a failure
	// need not show.
	quiet bool
}

var procSeq struct {
	sync.Mutex
	n map[string]int
}

// startProc runs bin args with env (its whole environment) until the test
// ends; a failed test logs the tail of its stderr.
func startProc(t testing.TB, dir, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	procSeq.Lock()
	if procSeq.n == nil {
		procSeq.n = map[string]int{}
	}
	procSeq.n[name]++
	seq := procSeq.n[name]
	procSeq.Unlock()
	base := filepath.Join(dir, fmt.Sprintf("%s-%d", name, seq))
	outf, err := os.Create(base + ".out")
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(base + ".log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, outf, logf
	// Its own group, so a kill reaches whatever it started; and it dies
	// with the test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: fmt.Sprintf("%s-%d", name, seq), cmd: cmd, out: outf.Name(), log: logf.Name(), done: make(chan struct{}), started: time.Now()}
	go func() { _ = cmd.Wait(); outf.Close(); logf.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		if t.Failed() && !p.quiet {
			t.Logf("%s (pid %d) stderr, last lines:\n%s", p.name, cmd.Process.Pid, tail(p.log, 40))
		}
	})
	return p
}

// signal sends sig to the process group and waits for the process to end.
func (p *proc) signal(sig syscall.Signal) {
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitOutput polls the process's stdout until it has a line equal to want.
func (p *proc) waitOutput(t testing.TB, want string, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(p.out)
		for _, line := range strings.Split(string(b), "\n") {
			if line == want {
				return
			}
		}
		if p.exited() {
			t.Fatalf("%s exited before %q:\n%s", p.name, want, tail(p.log, 40))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q after %s:\n%s", p.name, want, d, tail(p.log, 40))
		}
	}
}

func tail(file string, n int) string {
	b, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePorts returns n distinct TCP ports on 127.0.0.1 that were free a
// moment ago (held open together, so they differ).
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// minimalEnv is what every child process inherits: enough to run, none of
// this process's secrets.
func minimalEnv(extra ...string) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "TZ", "GOMAXPROCS", "GOTRACEBACK"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}

// tcpProxy forwards 127.0.0.1:port to target; down() drops every
// connection and refuses new ones until up(): PostgreSQL unreachable for
// the Temporal server, as a network partition or a failover looks.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	isDown bool
	wg     sync.WaitGroup
}

func startProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.down()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.isDown
		if !down {
			p.conns[c] = struct{}{}
		}
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.pipe(c)
	}
}

func (p *tcpProxy) pipe(c net.Conn) {
	defer p.wg.Done()
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.forget(c)
		return
	}
	p.mu.Lock()
	if p.isDown {
		p.mu.Unlock()
		s.Close()
		p.forget(c)
		return
	}
	p.conns[s] = struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(s, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, s); done <- struct{}{} }()
	<-done
	p.forget(c)
	p.forget(s)
	<-done
}

func (p *tcpProxy) forget(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// down closes every open connection and refuses new ones; it returns how
// many connections it dropped.
func (p *tcpProxy) down() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isDown = true
	n := len(p.conns)
	for c := range p.conns {
		c.Close()
	}
	return n
}

func (p *tcpProxy) up() {
	p.mu.Lock()
	p.isDown = false
	p.mu.Unlock()
}

// psql runs SQL on the local PostgreSQL's maintenance database.
func psql(sql string) error {
	var out bytes.Buffer
	cmd := exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("psql %q: %w: %s", sql, err, out.String())
	}
	return nil
}
