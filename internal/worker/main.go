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

	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/internal/dial"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/writeback"
)

// Main is ssprflow-worker: the main worker (workflows and activities, the
// approval bridge), with --agent writeback the agent that runs on a sync
// server and serves only the writeback activities on its own task queue,
// or `ssprflow-worker ad ...`, the directory step by hand.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "ad" || args[0] == "login" || args[0] == "--version" || args[0] == "-version") {
		root := &cmdline.Command{Name: "ssprflow-worker", Summary: "the ssprflow worker and its tools", Subs: []*cmdline.Command{adCmd(), loginCmd()}}
		return cmdline.Program{Root: root, Version: cmdline.Version}.Main(ctx, args, stdout, stderr)
	}
	fs := flag.NewFlagSet("ssprflow-worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ssprflow-worker --config worker.yaml        run the worker")
		fmt.Fprintln(stderr, "       ssprflow-worker --agent writeback ...       run the writeback agent on a sync server")
		fmt.Fprintln(stderr, "       ssprflow-worker ad check|grant|revoke ...   the directory step by hand")
		fmt.Fprintln(stderr, "       ssprflow-worker login portal --tenant T    sign in once for the portal API (device code)")
		fmt.Fprintln(stderr, "       ssprflow-worker --version")
		fs.PrintDefaults()
	}
	cfgPath := fs.String("config", envConfig(), "worker configuration file ($SSPRFLOW_CONFIG)")
	agent := fs.String("agent", "", "run as an agent: 'writeback' on an Entra Connect or Cloud Sync server")
	queue := fs.String("task-queue", "", "the agent's task queue (the plan's writeback.agentQueue)")
	mode := fs.String("mode", "connect", "agent sync engine: connect (Entra Connect) or cloudsync (Cloud Sync)")
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
	// Usage mistakes exit 2 before anything starts: a stray word (say
	// "--config w.yaml ad check") must not start a production worker.
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ssprflow-worker: "+format+" (run 'ssprflow-worker -h')\n", a...)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected argument %q: flags only, or 'ssprflow-worker ad ...' with ad first", fs.Arg(0))
	case *agent != "" && *agent != "writeback":
		return usage("unknown agent %q: the only agent is 'writeback'", *agent)
	case *mode != "connect" && *mode != "cloudsync":
		return usage("--mode %q: connect (Entra Connect) or cloudsync (Cloud Sync)", *mode)
	case *agent == "" && *cfgPath == "":
		return usage("give the worker a configuration: --config worker.yaml (see deploy/worker.example.yaml)")
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
		if *agent == "" {
			return Run(ctx, cfg, Options{Logger: logger})
		}
		tc := config.Temporal{Address: *temporalAddr, Namespace: *namespace, Codec: AgentCodec(*codecKeys)}
		if cfg != nil {
			tc = cfg.Temporal
		}
		if tc.Address == "" {
			return errors.New("the agent needs Temporal: --config FILE or --temporal HOST:PORT")
		}
		opts := writeback.AgentOptions{TaskQueue: *queue, Logger: logger, Mode: writeback.ModeEntraConnect,
			Runner: writeback.PowerShell{Path: writeback.DefaultPowerShellPath()}}
		if *mode == "cloudsync" {
			opts.Mode = writeback.ModeCloudSync
			if *credFile != "" {
				opts.CloudSyncCredential = writeback.CredentialFromFile(*credFile)
			} else if u, p, ok := strings.Cut(*credEnv, ","); ok {
				opts.CloudSyncCredential = writeback.CredentialFromEnv(u, p)
			}
		}
		return RunAgent(ctx, tc, opts)
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

// RunAgent runs the writeback agent with opts (its runner, queue and
// sync engine) against Temporal until ctx ends. The local stack runs it with
// a simulated sync server (internal/writebacksim), which this binary does
// not link.
func RunAgent(ctx context.Context, tc config.Temporal, opts writeback.AgentOptions) error {
	if err := RequireCodec(tc); err != nil {
		return err
	}
	warnIfDisabled(tc, opts.Logger)
	c, err := dial.Temporal(ctx, tc, opts.Logger, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	return writeback.RunAgent(ctx, c, opts)
}

func envConfig() string { return os.Getenv("SSPRFLOW_CONFIG") }

func parseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}
