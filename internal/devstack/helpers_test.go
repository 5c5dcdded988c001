package devstack

import (
	"bufio"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// testLogger writes the servers' warnings to stderr. t.Log cannot be used: a
// server goroutine may still log after the test has finished, which panics.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// peakRSSMiB reads this process's peak resident set size (VmHWM).
func peakRSSMiB(t testing.TB) float64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Logf("peak RSS unavailable: %v", err)
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				return 0
			}
			return float64(kb) / 1024
		}
	}
	return 0
}

// assertPortsFree fails unless every port can be listened on again.
func assertPortsFree(t *testing.T, ports []int) {
	t.Helper()
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(loopback, strconv.Itoa(p)))
		if err != nil {
			t.Errorf("port %d still held after Stop: %v", p, err)
			continue
		}
		_ = l.Close()
	}
}
