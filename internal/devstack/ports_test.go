package devstack

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestCheckPortFree(t *testing.T) {
	held, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = held.Close() })
	heldPort := held.Addr().(*net.TCPAddr).Port
	free, err := freePort()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		addr     string
		wantErr  bool
		wantPort int
	}{
		{name: "free port", addr: loopback + ":" + strconv.Itoa(free)},
		{name: "port zero", addr: loopback + ":0"},
		{name: "held port", addr: held.Addr().String(), wantErr: true, wantPort: heldPort},
		{name: "held port without host", addr: ":" + strconv.Itoa(heldPort), wantErr: true, wantPort: heldPort},
		{name: "no port", addr: "127.0.0.1", wantErr: true},
		{name: "port out of range", addr: "127.0.0.1:70000", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPortFree(tt.addr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CheckPortFree(%q) = %v, want error %v", tt.addr, err, tt.wantErr)
			}
			if tt.wantPort == 0 {
				return
			}
			var inUse *PortInUseError
			if !errors.As(err, &inUse) {
				t.Fatalf("error %v is not a *PortInUseError", err)
			}
			msg := err.Error()
			if inUse.Port != tt.wantPort || !strings.Contains(msg, strconv.Itoa(tt.wantPort)) || !strings.Contains(msg, "choose another port") {
				t.Errorf("error %q should name port %d and how to override it", msg, tt.wantPort)
			}
		})
	}
}

func TestCheckPortsFreeReportsEveryConflict(t *testing.T) {
	var held []net.Listener
	for range 2 {
		l, err := net.Listen("tcp", loopback+":0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		held = append(held, l)
	}
	err := CheckPortsFree(
		NamedPort{Addr: held[0].Addr().String(), Override: "set --temporal-port"},
		NamedPort{Addr: loopback + ":0"},
		NamedPort{Addr: held[1].Addr().String(), Override: "set --nats-port"},
	)
	if err == nil {
		t.Fatal("CheckPortsFree: no error for two held ports")
	}
	for _, want := range []string{"--temporal-port", "--nats-port"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := freePorts(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p == 0 || seen[p] {
			t.Fatalf("freePorts returned %v: want 8 distinct non-zero ports", ports)
		}
		seen[p] = true
	}
}
