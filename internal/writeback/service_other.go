//go:build !windows

package writeback

import (
	"context"
	"fmt"
)

// RunService is only available on Windows.
func RunService(name string, run func(ctx context.Context) error) error {
	return fmt.Errorf("run service %q: %w", name, ErrServiceUnsupported)
}

// InstallService is only available on Windows.
func InstallService(cfg ServiceConfig) error {
	return fmt.Errorf("install service %q: %w", cfg.Name, ErrServiceUnsupported)
}

// UninstallService is only available on Windows.
func UninstallService(name string) error {
	return fmt.Errorf("uninstall service %q: %w", name, ErrServiceUnsupported)
}
