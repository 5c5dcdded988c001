//go:build windows

package writeback

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// RunService runs run as the Windows service name, cancelling its context on
// Stop or Shutdown. Started from a console (not by the service manager), it
// runs run directly and cancels on Ctrl+C.
func RunService(name string, run func(ctx context.Context) error) error {
	isService, err := svc.IsWindowsService()
	if err != nil {
		return fmt.Errorf("run service %q: detect service mode: %w", name, err)
	}
	if !isService {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		return run(ctx)
	}
	h := &serviceHandler{run: run}
	if err := svc.Run(name, h); err != nil {
		return fmt.Errorf("run service %q: %w", name, err)
	}
	return h.err
}

type serviceHandler struct {
	run func(ctx context.Context) error
	err error
}

// Execute implements svc.Handler.
func (h *serviceHandler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.run(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending, WaitHint: 30000}
				cancel()
				select {
				case h.err = <-done:
				case <-time.After(30 * time.Second):
					h.err = errors.New("agent did not stop within 30s")
				}
				return false, exitCode(h.err)
			}
		case h.err = <-done:
			// The agent stopped by itself: report it so the recovery actions restart it.
			status <- svc.Status{State: svc.StopPending}
			return false, exitCode(h.err)
		}
	}
}

func exitCode(err error) uint32 {
	if err != nil {
		return 1
	}
	return 0
}

// InstallService registers the agent as an automatic-start service that the
// service manager restarts after a failure.
func InstallService(cfg ServiceConfig) error {
	if cfg.Name == "" || cfg.ExePath == "" {
		return fmt.Errorf("install service: %w: Name and ExePath are required", ErrBadInput)
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("install service %q: connect to service manager: %w", cfg.Name, err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(cfg.Name); err == nil {
		s.Close()
		return fmt.Errorf("install service %q: already installed", cfg.Name)
	}
	s, err := m.CreateService(cfg.Name, cfg.ExePath, mgr.Config{
		DisplayName:      cfg.DisplayName,
		Description:      cfg.Description,
		StartType:        mgr.StartAutomatic,
		DelayedAutoStart: true,
		ServiceStartName: cfg.Account,
		Password:         cfg.Password,
	}, cfg.Args...)
	if err != nil {
		return fmt.Errorf("install service %q: %w", cfg.Name, err)
	}
	defer s.Close()
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 10 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 60 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 5 * time.Minute},
	}
	if err := s.SetRecoveryActions(actions, uint32((24 * time.Hour).Seconds())); err != nil {
		return fmt.Errorf("install service %q: set recovery actions: %w", cfg.Name, err)
	}
	return nil
}

// UninstallService stops (best effort) and deletes the service.
func UninstallService(name string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("uninstall service %q: connect to service manager: %w", name, err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return fmt.Errorf("uninstall service %q: %w", name, err)
	}
	defer s.Close()
	_, _ = s.Control(svc.Stop)
	if err := s.Delete(); err != nil {
		return fmt.Errorf("uninstall service %q: %w", name, err)
	}
	return nil
}
