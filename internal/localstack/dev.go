package localstack

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cmdline"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/devstack"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/worker"
)

func runDev(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "dev", "[--db FILE]", "Run Temporal, NATS, the tenant simulator, a Samba DC (when installed), a worker and a writeback agent locally, for trying ssprflow by hand.")
	tport := fs.Int("temporal-port", 7233, "Temporal frontend port")
	nport := fs.Int("nats-port", 4223, "NATS port (4222 is often a system NATS)")
	simAddr := fs.String("sim-addr", "127.0.0.1:8787", "tenant simulator address")
	uiPort := fs.Int("ui-port", 8233, "Temporal Web UI port (as temporal server start-dev)")
	db := fs.String("db", "", "Temporal SQLite file: rollouts survive a restart (default: in memory)")
	approvers := fs.String("approvers", "alice,bob,carol", "dev approver accounts to create on NATS")
	queue := fs.String("agent-queue", "ssprflow-writeback-sync01", "task queue of the local writeback agent")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	if err := devstack.CheckPortsFree(
		devstack.NamedPort{Override: "use --temporal-port", Addr: fmt.Sprintf("127.0.0.1:%d", *tport)},
		devstack.NamedPort{Override: "use --nats-port", Addr: fmt.Sprintf("127.0.0.1:%d", *nport)},
		devstack.NamedPort{Override: "use --sim-addr", Addr: *simAddr},
		devstack.NamedPort{Override: "use --ui-port", Addr: fmt.Sprintf("127.0.0.1:%d", *uiPort)},
	); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ssprflow-dev-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logf, err := os.Create(filepath.Join(dir, "worker.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	logger := slog.New(slog.NewTextHandler(logf, nil))
	aps := approval.ParseIDs(*approvers)
	st, err := StartStack(ctx, StackOptions{Dir: dir, TemporalPort: *tport, NATSPort: *nport, SimAddr: *simAddr,
		DBFile: *db, TemporalUI: true, UIPort: *uiPort, Users: 200, TimeScale: 60, Approvers: aps, Operators: []string{"operator"}, Directory: true, SMB: canServeSMB(), Logger: logger})
	if err != nil {
		return err
	}
	defer st.Stop()
	os.Setenv(envSimToken, st.Sim.Token())
	os.Setenv(envSimToken+"_PORTAL", st.Sim.PortalToken())
	os.Setenv("SSPRFLOW_DEMO_NATS_PASSWORD", st.Passwords[WorkerUser])
	cfg := SimConfig(st.SimURL, envSimToken, st.Temporal.HostPort(), st.NATSURL(), 60)
	st.Identity(cfg)
	if *db != "" { // the histories outlive this run: so must their key
		if err := persistDevCodecKey(*db + ".codec-key"); err != nil {
			return err
		}
	}
	st.Codec(cfg)
	st.LabDirectory(cfg, envADPassword)
	web, err := st.ApprovalWeb(cfg, dir)
	if err != nil {
		return err
	}
	cfg.NATS.User, cfg.NATS.Password = WorkerUser, config.Secret{Env: "SSPRFLOW_DEMO_NATS_PASSWORD"}
	if st.DC != nil {
		os.Setenv(envADPassword, st.DC.AdminPassword)
	}
	go func() {
		if err := worker.Run(ctx, cfg, worker.Options{Logger: logger}); err != nil && ctx.Err() == nil {
			fmt.Fprintln(io.Err, "worker:", err)
		}
	}()
	stopAgent, err := startAgent(ctx, dir, st.Temporal.HostPort(), *queue, LabConnectorAccount, st.CodecEnv())
	if err != nil {
		return err
	}
	defer stopAgent()
	fmt.Fprintf(io.Out, "ssprflow dev stack running (logs in %s).\n\n", dir)
	fmt.Fprintf(io.Out, "  Temporal UI   %s (payloads decoded by the worker's codec endpoint)\n", st.UI.URL())
	fmt.Fprintf(io.Out, "  approvals     %s (sign in as <approver>@%s)\n\nIn another terminal:\n\n", web, entrasim.DefaultTenant)
	fmt.Fprintf(io.Out, "  export SSPRFLOW_TEMPORAL=%s SSPRFLOW_NATS_URL=%s\n", st.Temporal.HostPort(), st.NATSURL())
	fmt.Fprintf(io.Out, "  export %s=%s   # payload key: Temporal history is encrypted\n", config.EnvCodecKeys, st.CodecKeys())
	if st.DC != nil {
		fmt.Fprintf(io.Out, "  # Samba AD DC at %s, CA %s, %s / $SSPRFLOW_AD_PASSWORD=%s\n", st.DC.URL(), st.DC.CAFile, st.DC.AdminUser, st.DC.AdminPassword)
	} else {
		fmt.Fprintf(io.Out, "  # no AD DC: %s\n", st.DCMissing)
	}
	fmt.Fprintf(io.Out, "  # operator (may start rollouts) NATS password %s\n", st.Passwords["operator"])
	for _, ap := range aps {
		fmt.Fprintf(io.Out, "  # approver %-6s NATS password %s\n", ap, st.Passwords[ap])
	}
	fmt.Fprintf(io.Out, "\n  SSPRFLOW_NATS_PASSWORD=<operator's> ssprflow plan diff examples/pilot.yaml --user operator\n  SSPRFLOW_NATS_PASSWORD=<operator's> ssprflow rollout start examples/pilot.yaml --user operator\n  ssprflow rollout status sspr/contoso_onmicrosoft_com/sspr-pilot --watch\n")
	fmt.Fprintf(io.Out, "  SSPRFLOW_NATS_PASSWORD=<approver's> ssprflow approve sspr/contoso_onmicrosoft_com/sspr-pilot --user alice --gate pilot\n\nCtrl-C stops everything.\n")
	<-ctx.Done()
	fmt.Fprintln(io.Out, "stopping")
	return nil
}
