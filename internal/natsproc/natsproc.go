// Package natsproc runs the stock nats-server binary as a child process,
// for tests that must show what a real server does with a shipped
// configuration file (the embedded server of internal/devstack is built
// from Go options, not from deploy/ files).
package natsproc

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Binary returns the nats-server binary. Without one the test is skipped,
// except in CI (CI set), where .ci/install-deps installs it and a skip
// would hide a test that never ran.
func Binary(t testing.TB) string {
	t.Helper()
	bin := "/usr/sbin/nats-server"
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	bin, err := exec.LookPath("nats-server")
	if err == nil {
		return bin
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nats-server is required in CI (.ci/install-deps installs it)")
	}
	t.Skip("SKIPPED LOUDLY: nats-server binary not installed (apt-get install nats-server)")
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs nats-server -c conf (plus args) with env as its whole
// environment until the test ends, and returns once addr (host:port)
// accepts connections. The server's output is logged if the test fails.
func Start(t testing.TB, conf, addr string, env []string, args ...string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(Binary(t), append([]string{"-c", conf}, args...)...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("nats-server output:\n%s", out.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("nats-server exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server not ready on %s:\n%s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
