package devstack

import (
	"errors"
	"fmt"
)

// ErrStopped is returned by methods called on a server that was stopped.
var ErrStopped = errors.New("devstack: server stopped")

// PortInUseError reports a fixed port that something else already holds.
type PortInUseError struct {
	// Addr is the host:port that could not be bound.
	Addr string
	// Port is the port number in Addr.
	Port int
	// Override tells the user how to choose another port.
	Override string
	// Err is the error from the operating system.
	Err error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %d (%s) is not available: %v; stop whatever holds it, or %s",
		e.Port, e.Addr, e.Err, e.Override)
}

func (e *PortInUseError) Unwrap() error { return e.Err }
