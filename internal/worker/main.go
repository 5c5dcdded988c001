package worker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/ssprflow/ssprflow/internal/dial"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/writeback"
	"github.com/ssprflow/ssprflow/internal/writebacksim"
)

// Main is ssprflow-worker: the main worker (workflows and activities, the
// approval bridge), or with --agent writeback the agent that runs on a sync
// server and serves only the writeback activities on its own task queue.
func Main(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ssprflow-worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("SSPRFLOW_CONFIG"), "worker configuration file ($SSPRFLOW_CONFIG)")
	agent := fs.String("agent", "", "run as an agent: 'writeback' on an Entra Connect or Cloud Sync server")
	queue := fs.String("task-queue", "", "the agent's task queue (the plan's writeback.agentQueue)")
	mode := fs.String("mode", "connect", "agent sync engine: connect (Entra Connect) or cloudsync (Cloud Sync)")
	runner := fs.String("runner", "powershell", "agent runner: powershell, or simulated (a simulated sync server, for local demos)")
	stateFile := fs.String("state-file", "", "simulated sync server state file")
	syncAccount := fs.String("sync-account", "", "simulated sync server: the AD DS connector account it uses")
	credEnv := fs.String("cloudsync-credential-env", "SSPRFLOW_CLOUDSYNC_USER,SSPRFLOW_CLOUDSYNC_PASSWORD", "Cloud Sync: env vars holding the tenant admin user and password")
	credFile := fs.String("cloudsync-credential-file", "", "Cloud Sync: file with the tenant admin user and password")
	temporalAddr := fs.String("temporal", os.Getenv("SSPRFLOW_TEMPORAL"), "agent without --config: Temporal frontend host:port")
	namespace := fs.String("namespace", "default", "agent without --config: Temporal namespace")
	codecKeys := fs.String("codec-keys-file", "", "agent without --config: file with the payload keys, ID:BASE64[,ID:BASE64...], the first encrypts (default: $"+config.EnvCodecKeys+")")
	service := fs.String("service", "", "Windows: install|uninstall|run the agent as a Windows service with this name")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: parseLevel(*level)}))
	var cfg *config.Config
	if *cfgPath != "" {
		c, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintln(stderr, "ssprflow-worker:", err)
			return 1
		}
		cfg = c
	}
	run := func(ctx context.Context) error {
		switch *agent {
		case "":
			if cfg == nil {
				return errors.New("give the worker a configuration: --config worker.yaml (see deploy/worker.example.yaml)")
			}
			return Run(ctx, cfg, Options{Logger: logger})
		case "writeback":
			tc := config.Temporal{Address: *temporalAddr, Namespace: *namespace, Codec: agentCodec(*codecKeys)}
			if cfg != nil {
				tc = cfg.Temporal
			}
			if tc.Address == "" {
				return errors.New("the agent needs Temporal: --config FILE or --temporal HOST:PORT")
			}
			return runAgent(ctx, tc, logger, agentFlags{queue: *queue, mode: *mode, runner: *runner,
				stateFile: *stateFile, syncAccount: *syncAccount, credEnv: *credEnv, credFile: *credFile})
		}
		return fmt.Errorf("unknown agent %q: the only agent is 'writeback'", *agent)
	}
	var err error
	if *service != "" {
		err = serviceCommand(ctx, *service, args, run)
	} else {
		err = run(ctx)
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(stderr, "ssprflow-worker:", err)
		return 1
	}
	return 0
}

type agentFlags struct {
	queue, mode, runner, stateFile, syncAccount, credEnv, credFile string
}

func runAgent(ctx context.Context, tc config.Temporal, logger *slog.Logger, f agentFlags) error {
	if err := RequireCodec(tc); err != nil {
		return err
	}
	warnIfDisabled(tc, logger)
	c, err := dial.Temporal(ctx, tc, logger, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	opts := writeback.AgentOptions{TaskQueue: f.queue, Logger: logger, Mode: writeback.ModeEntraConnect}
	if f.mode == "cloudsync" {
		opts.Mode = writeback.ModeCloudSync
		if f.credFile != "" {
			opts.CloudSyncCredential = writeback.CredentialFromFile(f.credFile)
		} else if u, p, ok := strings.Cut(f.credEnv, ","); ok {
			opts.CloudSyncCredential = writeback.CredentialFromEnv(u, p)
		}
	}
	switch f.runner {
	case "powershell":
		opts.Runner = writeback.PowerShell{Path: writeback.DefaultPowerShellPath()}
	case "simulated":
		sim, err := writebacksim.Open(f.stateFile)
		if err != nil {
			return err
		}
		if f.syncAccount != "" {
			sim.SetConnectorAccount(f.syncAccount)
		}
		logger.Warn("writeback agent uses a SIMULATED sync server: nothing on a real Entra Connect server is changed")
		opts.Runner = sim.WithLogger(logger)
	default:
		return fmt.Errorf("unknown runner %q: powershell or simulated", f.runner)
	}
	return writeback.RunAgent(ctx, c, opts)
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}
