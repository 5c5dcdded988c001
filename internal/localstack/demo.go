package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/internal/dial"

	"github.com/nats-io/nats.go"
	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/examples"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cli"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/worker"
	"github.com/ssprflow/ssprflow/workflows"
)

// Environment the demo's in-process worker reads its secrets from.
const (
	envSimToken   = "SSPRFLOW_SIM_TOKEN"
	envADPassword = "SSPRFLOW_AD_PASSWORD"
	demoOperator  = "operator"
)

func runDemo(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "demo", "[--plan FILE] [--manual]",
		"Start a local stack, a worker and a writeback agent, run a plan through every step, answer its gates over NATS, and print the report.")
	planFile := fs.String("plan", "", "plan to run (default: the embedded examples/pilot.yaml)")
	manual := fs.Bool("manual", false, "do not answer approval gates: wait for a human running 'ssprflow approve' in another terminal")
	keep := fs.Bool("keep", false, "keep the stack running after the report (Temporal UI, approval app) until Ctrl-C, and its work directory (logs, NATS store) after")
	users := fs.Int("users", 200, "simulated tenant users")
	quota := fs.String("quota", "off", "realistic: the simulator enforces Graph's documented budgets (small tenant), on its clock; off: none")
	if _, err := cmdline.Parse(fs, args); err != nil {
		return err
	}
	if *users < 1 {
		return cmdline.Usage("--users must be at least 1, got %d", *users)
	}
	if err := cmdline.OneOf("--quota", *quota, "realistic", "off"); err != nil {
		return err
	}
	start := time.Now()
	p, err := demoPlan(*planFile)
	if err != nil {
		return cmdline.Failed(err)
	}
	dir, err := os.MkdirTemp("", "ssprflow-demo-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	logf, err := os.Create(filepath.Join(dir, "worker.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	file := *planFile
	if file == "" {
		file = "examples/pilot.yaml"
	}
	d := &demo{io: io, p: p, file: file, dir: dir, log: logf, logger: slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if *quota == "realistic" {
		d.quota = entrasim.DefaultQuota
	}
	fmt.Fprintf(io.Out, "ssprflow demo — plan %s, tenant %s (logs in %s)\n", p.Metadata.Name, p.Metadata.Tenant, dir)

	stop, err := d.startStack(ctx, *users)
	if err != nil {
		return err
	}
	defer stop()
	stopWorker, err := d.startWorkers(ctx)
	if err != nil {
		return err
	}
	defer stopWorker()
	fmt.Fprintf(io.Out, "  stack ready in %s\n\n", time.Since(start).Round(100*time.Millisecond))

	id, err := d.startRollout(ctx)
	if err != nil {
		return err
	}
	if *manual {
		d.printManual(id)
	} else {
		botCtx, stopBot := context.WithCancel(ctx)
		var bot sync.WaitGroup
		bot.Go(func() { approverBot(botCtx, io, d.st, p) })
		defer func() { stopBot(); bot.Wait() }() // the bot stops writing before the stack stops
	}
	err = d.followAndReport(ctx, id, start)
	if *keep && ctx.Err() == nil {
		fmt.Fprintf(io.Out, "\nThe stack keeps running (--keep): Temporal UI %s, approvals %s. Ctrl-C stops it.\n", d.st.UI.URL(), d.web)
		<-ctx.Done()
	}
	return err
}

// followAndReport prints the rollout's progress until it ends, then its
// status and report; it fails unless the rollout succeeded.
func (d *demo) followAndReport(ctx context.Context, id string, start time.Time) error {
	tc, err := dial.Temporal(ctx, d.cfg.Temporal, d.logger, nil)
	if err != nil {
		return err
	}
	defer tc.Close()
	dc, err := dial.DataConverter(d.cfg.Temporal)
	if err != nil {
		return err
	}
	final, err := cli.FollowRollout(ctx, d.io.Out, tc, dc, id)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(d.io.Err, "\ninterrupted: stopping the local stack (the rollout dies with it)")
			return errInterrupted
		}
		return err
	}
	fmt.Fprintln(d.io.Out)
	cli.RenderStatus(d.io.Out, final, time.Now())
	cli.RenderReport(d.io.Out, final)
	if len(d.missing) > 0 {
		fmt.Fprintf(d.io.Out, "\nLeft out of this run: %s (%s)\n", strings.Join(d.missing, ", "), d.st.DCMissing)
	}
	// What the rollout costs Temporal: it must not grow with the members.
	if h, err := cli.History(ctx, tc, id, final.RunID); err == nil {
		fmt.Fprintf(d.io.Out, "\nTemporal history: %d events, %d bytes (largest event %d bytes)\n", h.Events, h.Bytes, h.Largest)
	} else {
		fmt.Fprintf(d.io.Err, "read the rollout's history: %v\n", err)
	}
	if s := d.st.Sim.IdentityStats(); s.DeviceCodeLogin > 0 {
		fmt.Fprintf(d.io.Out, "portal sign-in: 1 device code sign-in, %d silent token refreshes, %d refused\n", s.Refreshes, s.RefusedGrants)
	}
	fmt.Fprintf(d.io.Out, "\ndemo finished in %s\n", time.Since(start).Round(100*time.Millisecond))
	if final.Status != workflows.StatusSucceeded {
		return cmdline.Exit(1, "the rollout did not succeed: %s", final.LastError)
	}
	return nil
}

// demo is one run of `ssprflow-dev demo`.
type demo struct {
	io      IO
	p       *plan.Rollout
	file    string // the plan's path: member files are relative to it
	quota   entrasim.Quota
	dir     string
	log     *os.File
	logger  *slog.Logger
	st      *Stack
	cfg     *config.Config // the in-process worker's
	missing []string       // steps left out (no Samba)
	web     string         // the approval web app's URL
}

// startStack starts Temporal, NATS, the simulator and (with Samba) the DC,
// and prepares the plan and the worker configuration for them.
func (d *demo) startStack(ctx context.Context, users int) (stop func(), err error) {
	p, io := d.p, d.io
	approvers := make([]string, 0, len(p.Spec.Approvers))
	for _, ap := range p.Spec.Approvers {
		approvers = append(approvers, ap.ID)
	}
	st, err := StartStack(ctx, StackOptions{Dir: d.dir, SimAddr: "127.0.0.1:0", Users: users, TimeScale: 3600, Quota: d.quota,
		Approvers: approvers, Operators: []string{demoOperator}, Directory: p.Spec.Directory != nil, SMB: canServeSMB(), TemporalUI: true, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	d.st = st
	fmt.Fprintf(io.Out, "  Temporal  %s (embedded, SQLite in memory)\n  NATS      %s (embedded, JetStream)\n  Graph     %s (tenant simulator, %d users, 1 s = 1 simulated hour)\n",
		st.Temporal.HostPort(), st.NATSURL(), st.SimURL, users)
	if st.DC != nil {
		fmt.Fprintf(io.Out, "  AD DS     %s (Samba AD DC, realm EXAMPLE.TEST)\n", st.DC.URL())
		if err := demoDirectory(ctx, st, p); err != nil {
			st.Stop()
			return nil, err
		}
	} else if p.Spec.Directory != nil {
		d.missing = append(d.missing, "ad-permissions", "password-age", "directory-preflight", "writeback")
		fmt.Fprintf(io.Out, "  AD DS     NOT RUNNING: %s\n            the directory and writeback steps are left out of this run\n", st.DCMissing)
		p.Spec.Directory = nil
		p.Spec.Writeback = plan.Writeback{Mode: plan.WritebackNone}
	}
	os.Setenv(envSimToken, st.Sim.Token())
	os.Setenv(envSimToken+"_PORTAL", st.Sim.PortalToken())
	os.Setenv("SSPRFLOW_DEMO_NATS_PASSWORD", st.Passwords[WorkerUser])
	cfg := SimConfig(st.SimURL, envSimToken, st.Temporal.HostPort(), st.NATSURL(), 3600)
	st.Identity(cfg)
	st.Codec(cfg)
	st.LabDirectory(cfg, envADPassword)
	cfg.NATS.User, cfg.NATS.Password = WorkerUser, config.Secret{Env: "SSPRFLOW_DEMO_NATS_PASSWORD"}
	if err := portalSignIn(ctx, st, cfg, d.dir, func(f string, a ...any) { fmt.Fprintf(io.Out, f, a...) }); err != nil {
		st.Stop()
		return nil, err
	}
	if d.web, err = st.ApprovalWeb(cfg, d.dir); err != nil {
		st.Stop()
		return nil, err
	}
	fmt.Fprintf(io.Out, "  approvals %s (approval web app; sign in as <approver>@%s through the simulator)\n", d.web, entrasim.DefaultTenant)
	fmt.Fprintf(io.Out, "  UI        %s (Temporal Web UI: rollouts by search attribute, payloads decoded by the worker's codec endpoint)\n", st.UI.URL())
	d.cfg = cfg
	return st.Stop, nil
}

// startWorkers runs the worker in this process and the writeback agent as
// its own, as on a sync server.
func (d *demo) startWorkers(ctx context.Context) (stop func(), err error) {
	wctx, stopWorker := context.WithCancel(ctx)
	ready := make(chan struct{})
	werr := make(chan error, 1)
	go func() {
		werr <- worker.Run(wctx, d.cfg, worker.Options{Logger: d.logger, Ready: func() { close(ready) }})
	}()
	stops := []func(){func() { stopWorker(); <-werr }}
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	select {
	case <-ready:
	case <-ctx.Done():
		stop()
		return nil, errInterrupted
	case err := <-werr:
		werr <- err // for the wait in stop
		stop()
		return nil, fmt.Errorf("worker did not start: %v (see %s)", err, d.log.Name())
	case <-time.After(30 * time.Second):
		stop()
		return nil, fmt.Errorf("worker did not start in 30s (see %s)", d.log.Name())
	}
	fmt.Fprintf(d.io.Out, "  worker    task queue %s (in-process)\n", workflows.TaskQueue)
	if q := d.p.Spec.Writeback.AgentQueue; q != "" && d.p.Spec.Writeback.Mode != plan.WritebackNone {
		account := ""
		if d.p.Spec.Directory != nil {
			account = LabConnectorAccount
		}
		stopAgent, err := startAgent(ctx, d.dir, d.st.Temporal.HostPort(), q, account, d.st.CodecEnv())
		if err != nil {
			stop()
			return nil, err
		}
		stops = append(stops, stopAgent)
		fmt.Fprintf(d.io.Out, "  agent     task queue %s (separate process, simulated sync server)\n", q)
	}
	return stop, nil
}

// startRollout starts the plan over NATS as the operator's user, as
// `ssprflow rollout start` does: the starter is authenticated for the
// self-approval rule.
func (d *demo) startRollout(ctx context.Context) (string, error) {
	raw, err := yaml.Marshal(d.p)
	if err != nil {
		return "", err
	}
	os.Setenv("SSPRFLOW_DEMO_PW_OPERATOR", d.st.Passwords[demoOperator])
	opNATS := config.NATS{URL: d.st.NATSURL(), User: demoOperator, Password: config.Secret{Env: "SSPRFLOW_DEMO_PW_OPERATOR"}}
	id, err := cli.StartOverNATS(ctx, opNATS, demoOperator, d.p, d.file, raw)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(d.io.Out, "rollout %s started over NATS by %q\n", id, demoOperator)
	return id, nil
}

// printManual tells a person how to answer the gates with the CLI.
func (d *demo) printManual(id string) {
	out, st := d.io.Out, d.st
	fmt.Fprintf(out, "\nGates wait for you. In a browser: open %s, sign in as one of", d.web)
	for _, ap := range d.p.Spec.Approvers {
		fmt.Fprintf(out, " %s@%s", ap.ID, entrasim.DefaultTenant)
	}
	fmt.Fprintf(out, " and decide.\nOr in another terminal:\n  export SSPRFLOW_NATS_URL=%s SSPRFLOW_TEMPORAL=%s\n", st.NATSURL(), st.Temporal.HostPort())
	fmt.Fprintf(out, "  export %s=%s   # this run's payload key, for 'ssprflow rollout status'\n", config.EnvCodecKeys, st.CodecKeys())
	for _, ap := range d.p.Spec.Approvers {
		fmt.Fprintf(out, "  SSPRFLOW_NATS_PASSWORD=%s bin/ssprflow approve %s --user %s --gate <gate> --comment ok\n", st.Passwords[ap.ID], id, ap.ID)
	}
	fmt.Fprintln(out)
}

// demoPlan loads the plan and shortens its waits for a demo.
func demoPlan(file string) (*plan.Rollout, error) {
	var p *plan.Rollout
	var err error
	if file == "" {
		b, rerr := examples.FS.ReadFile("pilot.yaml")
		if rerr != nil {
			return nil, rerr
		}
		p, err = plan.Load("examples/pilot.yaml", b)
	} else {
		p, err = plan.LoadFile(file)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// demoDirectory points the plan at the local DC (the worker's directory
// profile LabProfile) and creates what a real domain would already have:
// the connector account and some users.
func demoDirectory(ctx context.Context, st *Stack, p *plan.Rollout) error {
	d := p.Spec.Directory
	d.Profile = LabProfile
	d.Scope = nil
	os.Setenv(envADPassword, st.DC.AdminPassword)
	sam := LabConnectorAccount
	if i := strings.LastIndex(sam, `\`); i >= 0 {
		sam = sam[i+1:]
	}
	if _, err := st.DC.CreateConnectorAccount(ctx, sam, randomSecret()+"Aa1!"); err != nil {
		return fmt.Errorf("create connector account %s: %w", sam, err)
	}
	// The walkthrough's GPO note: writeback needs minimum password age 0.
	// Samba provisions 1 day; a domain prepared per the walkthrough has 0.
	if _, err := st.DC.SambaTool(ctx, "domain", "passwordsettings", "set", "--min-pwd-age=0"); err != nil {
		return fmt.Errorf("set the lab domain's minimum password age to 0: %w", err)
	}
	return nil
}

// approverBot answers approval requests exactly as approvers would: over
// NATS, authenticated as each approver, through the same bridge as the CLI.
func approverBot(ctx context.Context, io IO, st *Stack, p *plan.Rollout) {
	nc, err := nats.Connect(st.NATSURL(), nats.UserInfo(WorkerUser, st.Passwords[WorkerUser]))
	if err != nil {
		fmt.Fprintln(io.Err, "approver bot:", err)
		return
	}
	defer nc.Close()
	reqs := make(chan *nats.Msg, 16)
	subj := approval.Prefix + "." + p.TenantToken() + "." + p.Metadata.Name + ".approval.request.*"
	sub, err := nc.ChanSubscribe(subj, reqs)
	if err != nil {
		fmt.Fprintln(io.Err, "approver bot:", err)
		return
	}
	defer func() { _ = sub.Unsubscribe() }()
	seen := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-reqs:
			var req approval.Request
			if err := json.Unmarshal(m.Data, &req); err != nil || seen[req.ID] {
				continue
			}
			seen[req.ID] = true
			n := 0
			for _, ap := range req.Approvers {
				if n >= req.Quorum {
					break
				}
				// The demo worker forbids self-approval (its policy), so the
				// operator never answers its own rollout.
				if ap == demoOperator {
					continue
				}
				time.Sleep(300 * time.Millisecond) // a person takes a moment
				comment := "demo: looks good"
				if len(req.Instructions) > 0 {
					comment = "demo: done"
				}
				nf := config.NATS{URL: st.NATSURL(), User: ap, Password: config.Secret{Env: "SSPRFLOW_DEMO_PW_" + strings.ToUpper(ap)}}
				os.Setenv("SSPRFLOW_DEMO_PW_"+strings.ToUpper(ap), st.Passwords[ap])
				v, err := cli.Decide(ctx, nf, p.TenantToken(), p.Metadata.Name, ap,
					approval.Decision{Gate: req.Gate, Verdict: "approve", Comment: comment, RequestID: req.ID}, 30*time.Second)
				switch {
				case err != nil:
					fmt.Fprintf(io.Err, "  approver %s: %v\n", ap, err)
				case !v.Accepted:
					fmt.Fprintf(io.Out, "  approver %-6s → gate %s: refused: %s\n", ap, req.Gate, v.Reason)
				default:
					n++
					fmt.Fprintf(io.Out, "  approver %-6s → gate %s: approved over NATS (%s)\n", ap, req.Gate, v.Reason)
				}
			}
		}
	}
}
