package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/devstack"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/sambadc"
)

// StackOptions configure the local stack.
type StackOptions struct {
	Dir          string // working directory for state and logs
	TemporalPort int    // 0 = free port
	NATSPort     int
	SimAddr      string // host:port, "127.0.0.1:0" = free port
	DBFile       string // Temporal SQLite file; empty = in memory
	Users        int    // simulated tenant users
	TimeScale    float64
	Approvers    []string
	// Operators may start rollouts (NATS users with approval.RoleOperator permissions).
	Operators []string
	// ExtraUsers are added to NATS as given (tests and benchmarks).
	ExtraUsers []devstack.NATSUser
	Directory  bool // start a Samba AD DC when samba is installed
	// SMB serves the DC's SYSVOL over SMB, so password age reads the GPOs'
	// GptTmpl.inf as on a real domain (needs root for Samba's namespaces).
	SMB bool
	// Quota makes the simulator enforce Graph's throttling budgets (on its
	// clock); the zero Quota enforces none.
	Quota entrasim.Quota
	// TemporalUI serves the Temporal Web UI on UIPort (0 = a free port),
	// with the worker's codec endpoint, so its pages show decoded payloads.
	TemporalUI bool
	UIPort     int
	Logger     *slog.Logger
}

// Stack is the local stack: embedded Temporal and NATS, the tenant
// simulator and (when samba is installed) a Samba AD DC.
type Stack struct {
	Temporal  *devstack.Temporal
	UI        *devstack.TemporalUI // nil unless StackOptions.TemporalUI
	NATS      *devstack.NATS
	Sim       *entrasim.Server
	SimURL    string
	DC        *sambadc.DC
	DCMissing string // why there is no DC
	// Passwords of the dev NATS users (approvers and the worker), for this
	// run only.
	Passwords map[string]string
	// codecListen is where the worker serves the UI's codec endpoint.
	codecListen string
	stops       []func()
}

// WorkerUser is the NATS user of the worker and the demo's own tooling.
const WorkerUser = "ssprflow-worker"

// StartStack starts everything; on error, what started is stopped.
func StartStack(ctx context.Context, o StackOptions) (s *Stack, err error) {
	s = &Stack{Passwords: map[string]string{}}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.Temporal, err = devstack.StartTemporal(ctx, devstack.TemporalOptions{DBFile: o.DBFile, Port: o.TemporalPort, Logger: logger})
	if err != nil {
		return s, fmt.Errorf("start Temporal: %w", err)
	}
	s.stops = append(s.stops, func() { _ = s.Temporal.Stop() })
	if o.TemporalUI {
		if s.codecListen, err = devstack.FreeAddr(); err != nil {
			return s, fmt.Errorf("codec endpoint: %w", err)
		}
		s.UI, err = devstack.StartTemporalUI(ctx, devstack.TemporalUIOptions{Port: o.UIPort, Temporal: s.Temporal.HostPort(), CodecEndpoint: "http://" + s.codecListen})
		if err != nil {
			return s, err
		}
		s.stops = append(s.stops, s.UI.Stop)
	}

	// The same users and permissions as deploy/nats.conf (approval.RolePermissions).
	people, err := approval.Deployment{WorkerUser: WorkerUser, Approvers: o.Approvers, Operators: o.Operators}.Users()
	if err != nil {
		return s, fmt.Errorf("NATS users: %w", err)
	}
	var users []devstack.NATSUser
	for _, p := range people {
		u := devstack.NATSUser{Name: p.Name, Password: randomSecret(), Publish: p.Publish, Subscribe: p.Subscribe, AllowResponses: p.AllowResponses}
		s.Passwords[p.Name] = u.Password
		users = append(users, u)
	}
	users = append(users, o.ExtraUsers...)
	for _, u := range o.ExtraUsers {
		s.Passwords[u.Name] = u.Password
	}
	storeDir := ""
	if o.Dir != "" {
		storeDir = filepath.Join(o.Dir, "nats")
	}
	s.NATS, err = devstack.StartNATS(ctx, devstack.NATSOptions{Port: o.NATSPort, StoreDir: storeDir, Users: users})
	if err != nil {
		return s, fmt.Errorf("start NATS: %w", err)
	}
	s.stops = append(s.stops, s.NATS.Stop)

	// Strict: the demo and every end-to-end test run against only what
	// Microsoft documents for v1.0.
	s.Sim, err = entrasim.New(entrasim.Options{Users: o.Users, Org: true, Strict: true, TimeScale: o.TimeScale, Quota: o.Quota, Logger: logger})
	if err != nil {
		return s, fmt.Errorf("start tenant simulator: %w", err)
	}
	s.SimURL, err = s.Sim.Start(o.SimAddr)
	if err != nil {
		return s, fmt.Errorf("start tenant simulator on %s: %w", o.SimAddr, err)
	}
	s.stops = append(s.stops, func() { _ = s.Sim.Close() })

	if o.Directory {
		if _, lerr := exec.LookPath("samba"); lerr != nil {
			s.DCMissing = "samba is not installed (apt-get install samba-ad-dc samba-ad-provision samba-dsdb-modules ldb-tools; 'make demo' does it)"
		} else {
			dcDir := ""
			if o.Dir != "" {
				dcDir = filepath.Join(o.Dir, "dc") // so every process of the stack names the work directory
			}
			s.DC, err = sambadc.Start(ctx, sambadc.Options{Dir: dcDir, SMB: o.SMB})
			if err != nil {
				return s, fmt.Errorf("start Samba AD DC: %w", err)
			}
			s.stops = append(s.stops, func() { _ = s.DC.Stop() })
		}
	}
	return s, nil
}

// Stop stops everything in reverse order. Safe to call twice.
func (s *Stack) Stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}

// NATSURL is the client URL of the local NATS server.
func (s *Stack) NATSURL() string { return s.NATS.URL() }

// canServeSMB: Samba serves SYSVOL over SMB in its own mount and PID
// namespaces, which need root. Without it the DC still runs, and the
// password-age step warns that it could not read the GPOs' templates.
func canServeSMB() bool { return os.Geteuid() == 0 }

func randomSecret() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// startAgent runs the writeback agent as its own process (this binary's
// hidden "agent" command), in its own process group so Ctrl-C cleanup can
// kill it with everything it started. It inherits none of the stack's
// secrets (see agentEnv); extraEnv (KEY=VALUE) is what it needs beyond its
// flags.
func startAgent(ctx context.Context, dir, temporal, queue, syncAccount string, extraEnv []string) (stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "agent", "--task-queue", queue,
		"--temporal", temporal, "--state-file", filepath.Join(dir, "sync-server.json"))
	if syncAccount != "" {
		cmd.Args = append(cmd.Args, "--sync-account", syncAccount)
	}
	cmd.Env = agentEnv(os.Environ(), extraEnv)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start writeback agent: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done); logf.Close() }()
	return func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}, nil
}

var errInterrupted = errors.New("interrupted")

// SimConfig is a worker configuration for the tenant simulator. The
// worker paces Graph by the small-tenant budget with windows divided by
// the simulator's time scale, as the simulator's realistic quota counts
// them on its accelerated clock.
func SimConfig(simURL, tokenEnv, temporal, natsURL string, timeScale float64) *config.Config {
	return &config.Config{
		Temporal: config.Temporal{Address: temporal, Namespace: "default"},
		NATS:     config.NATS{URL: natsURL},
		Tenants: []config.Tenant{{
			Tenant: "*", GraphURL: simURL + "/v1.0", PortalURL: simURL,
			Graph:       config.Credential{Method: "token", Token: config.Secret{Env: tokenEnv}},
			Portal:      &config.Credential{Method: "token", Token: config.Secret{Env: tokenEnv + "_PORTAL"}},
			GraphBudget: &config.GraphBudget{Size: "small", WindowScale: timeScale},
		}},
	}
}
