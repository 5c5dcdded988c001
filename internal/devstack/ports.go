package devstack

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// loopback is where every embedded service listens: the local stack is never
// meant to be reachable from other machines.
const loopback = "127.0.0.1"

// defaultOverride is the advice a PortInUseError gives when the caller did not
// name a flag.
const defaultOverride = "choose another port (each `ssprflow dev` port has a flag; 0 lets the system pick a free one)"

// NamedPort is a fixed port that `ssprflow dev` wants, with the way to change it.
type NamedPort struct {
	// Addr is host:port, e.g. "127.0.0.1:7233".
	Addr string
	// Override tells the user how to choose another port, e.g. "set --temporal-port".
	Override string
}

// CheckPortFree reports whether addr (host:port) can be listened on. It returns
// a *PortInUseError naming the port and how to override it when it cannot.
// A port of 0 is always free.
func CheckPortFree(addr string) error {
	return checkPort(NamedPort{Addr: addr})
}

// CheckPortsFree checks every port and returns all conflicts at once, so a user
// fixes them in one go rather than one per run.
func CheckPortsFree(ports ...NamedPort) error {
	var errs []error
	for _, p := range ports {
		if err := checkPort(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func checkPort(p NamedPort) error {
	host, portStr, err := net.SplitHostPort(p.Addr)
	if err != nil {
		return fmt.Errorf("check port %q: %w", p.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("check port %q: port must be a number from 0 to 65535", p.Addr)
	}
	if port == 0 {
		return nil
	}
	if host == "" {
		host = loopback
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, portStr))
	if err != nil {
		override := p.Override
		if override == "" {
			override = defaultOverride
		}
		return &PortInUseError{Addr: p.Addr, Port: port, Override: override, Err: err}
	}
	return l.Close()
}

// freePort asks the kernel for a free loopback port.
//
// The port is released before the caller binds it, so on Linux (which hands out
// ephemeral ports randomly) it could be given out again at once. Connecting to
// it and closing the accepted side first leaves the port in TIME_WAIT, which
// keeps the kernel from handing it out for :0 binds for a minute, while an
// explicit bind with SO_REUSEADDR (Go's default) still succeeds.
func freePort() (int, error) {
	l, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		return 0, fmt.Errorf("pick free port: %w", err)
	}
	defer l.Close()
	addr := l.Addr().(*net.TCPAddr)

	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		return addr.Port, nil // the port is still free; only the TIME_WAIT guard is lost
	}
	if s, ok := <-accepted; ok {
		_ = s.Close() // the server side closes first: it holds TIME_WAIT
	}
	_ = c.Close()
	return addr.Port, nil
}

// freePorts returns n distinct free ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	seen := make(map[int]bool, n)
	for len(ports) < n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// FreeAddr is a free loopback host:port, for a service of the stack that
// another must know before it listens (the codec endpoint the Web UI calls).
func FreeAddr() (string, error) {
	p, err := freePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(loopback, strconv.Itoa(p)), nil
}
