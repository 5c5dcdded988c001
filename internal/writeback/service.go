package writeback

import "errors"

// ServiceConfig describes the agent's Windows service.
type ServiceConfig struct {
	Name        string
	DisplayName string
	Description string
	// ExePath is the agent executable; Args are passed to it on start.
	ExePath string
	Args    []string
	// Account runs the service (e.g. a gMSA "DOMAIN\svc-ssprflow$" in
	// ADSyncAdmins); empty means LocalSystem. Password is empty for a gMSA.
	Account  string
	Password string
}

// ErrServiceUnsupported is returned by the service helpers off Windows.
var ErrServiceUnsupported = errors.New("windows service support is only available on Windows")
