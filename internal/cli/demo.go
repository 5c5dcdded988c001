package cli

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

	"github.com/nats-io/nats.go"
	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/examples"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/worker"
	"github.com/ssprflow/ssprflow/workflows"
)

func demoCmd() *command {
	return &command{name: "demo", summary: "run a whole rollout on a local stack (Temporal, NATS, tenant simulator, Samba DC)", run: runDemo}
}

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
	keep := fs.Bool("keep", false, "keep the work directory (logs, NATS store) after the demo")
	users := fs.Int("users", 200, "simulated tenant users")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	start := time.Now()
	p, err := demoPlan(*planFile)
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
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
	logger := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo}))

	fmt.Fprintf(io.Out, "ssprflow demo — plan %s, tenant %s (logs in %s)\n", p.Metadata.Name, p.Metadata.Tenant, dir)
	approvers := make([]string, 0, len(p.Spec.Approvers))
	for _, ap := range p.Spec.Approvers {
		approvers = append(approvers, ap.ID)
	}
	st, err := StartStack(ctx, StackOptions{Dir: dir, SimAddr: "127.0.0.1:0", Users: *users, TimeScale: 3600,
		Approvers: approvers, Operators: []string{demoOperator}, Directory: p.Spec.Directory != nil, Logger: logger})
	if err != nil {
		return err
	}
	defer st.Stop()
	fmt.Fprintf(io.Out, "  Temporal  %s (embedded, SQLite in memory)\n  NATS      %s (embedded, JetStream)\n  Graph     %s (tenant simulator, %d users, 1 s = 1 simulated hour)\n",
		st.Temporal.HostPort(), st.NATSURL(), st.SimURL, *users)
	var missing []string
	if st.DC != nil {
		fmt.Fprintf(io.Out, "  AD DS     %s (Samba AD DC, realm EXAMPLE.TEST)\n", st.DC.URL())
		if err := demoDirectory(ctx, st, p); err != nil {
			return err
		}
	} else if p.Spec.Directory != nil {
		missing = append(missing, "ad-permissions", "password-age", "directory-preflight", "writeback")
		fmt.Fprintf(io.Out, "  AD DS     NOT RUNNING: %s\n            the directory and writeback steps are left out of this run\n", st.DCMissing)
		p.Spec.Directory = nil
		p.Spec.Writeback = plan.Writeback{Mode: plan.WritebackNone}
	}

	os.Setenv(envSimToken, st.Sim.Token())
	os.Setenv(envSimToken+"_PORTAL", st.Sim.PortalToken())
	os.Setenv("SSPRFLOW_DEMO_NATS_PASSWORD", st.Passwords[WorkerUser])
	cfg := SimConfig(st.SimURL, envSimToken, st.Temporal.HostPort(), st.NATSURL())
	st.Identity(cfg)
	st.Codec(cfg)
	st.LabDirectory(cfg, envADPassword)
	cfg.NATS.User, cfg.NATS.Password = WorkerUser, config.Secret{Env: "SSPRFLOW_DEMO_NATS_PASSWORD"}

	wctx, stopWorker := context.WithCancel(ctx)
	ready := make(chan struct{})
	werr := make(chan error, 1)
	go func() {
		werr <- worker.Run(wctx, cfg, worker.Options{Logger: logger, Ready: func() { close(ready) }})
	}()
	defer func() { stopWorker(); <-werr }()
	select {
	case <-ready:
	case <-ctx.Done():
		return errInterrupted
	case err := <-werr:
		werr <- err // for the deferred wait
		return fmt.Errorf("worker did not start: %v (see %s)", err, logf.Name())
	case <-time.After(30 * time.Second):
		return fmt.Errorf("worker did not start in 30s (see %s)", logf.Name())
	}
	fmt.Fprintf(io.Out, "  worker    task queue %s (in-process)\n", workflows.TaskQueue)
	if q := p.Spec.Writeback.AgentQueue; q != "" && p.Spec.Writeback.Mode != plan.WritebackNone {
		account := ""
		if p.Spec.Directory != nil {
			account = LabConnectorAccount
		}
		stopAgent, err := startAgent(ctx, dir, st.Temporal.HostPort(), q, account, st.CodecEnv())
		if err != nil {
			return err
		}
		defer stopAgent()
		fmt.Fprintf(io.Out, "  agent     task queue %s (separate process, simulated sync server)\n", q)
	}
	fmt.Fprintf(io.Out, "  stack ready in %s\n\n", round(time.Since(start)))

	tc, err := worker.DialTemporal(ctx, cfg.Temporal, logger, nil)
	if err != nil {
		return err
	}
	defer tc.Close()
	// Started over NATS as the operator's user, as `ssprflow rollout start`
	// does: the starter is authenticated for the self-approval rule.
	raw, err := yaml.Marshal(p)
	if err != nil {
		return err
	}
	os.Setenv("SSPRFLOW_DEMO_PW_OPERATOR", st.Passwords[demoOperator])
	opNATS := config.NATS{URL: st.NATSURL(), User: demoOperator, Password: config.Secret{Env: "SSPRFLOW_DEMO_PW_OPERATOR"}}
	id, err := StartOverNATS(ctx, opNATS, demoOperator, p, "examples/pilot.yaml", raw)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "rollout %s started over NATS by %q\n", id, demoOperator)
	if *manual {
		fmt.Fprintf(io.Out, "\nGates wait for you. In another terminal:\n  export SSPRFLOW_NATS_URL=%s SSPRFLOW_TEMPORAL=%s\n", st.NATSURL(), st.Temporal.HostPort())
		fmt.Fprintf(io.Out, "  export %s=%s   # this run's payload key, for 'ssprflow rollout status'\n", config.EnvCodecKeys, st.CodecKeys())
		for _, ap := range approvers {
			fmt.Fprintf(io.Out, "  SSPRFLOW_NATS_PASSWORD=%s ssprflow approve %s --user %s --gate <gate> --comment ok\n", st.Passwords[ap], id, ap)
		}
		fmt.Fprintln(io.Out)
	} else {
		botCtx, stopBot := context.WithCancel(ctx)
		var bot sync.WaitGroup
		bot.Go(func() { approverBot(botCtx, io, st, p) })
		defer func() { stopBot(); bot.Wait() }() // the bot stops writing before the stack stops
	}

	final, err := followRollout(ctx, io, tc, id)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(io.Err, "\ninterrupted: stopping the local stack (the rollout dies with it)")
			return errInterrupted
		}
		return err
	}
	fmt.Fprintln(io.Out)
	RenderStatus(io.Out, final, time.Now())
	RenderReport(io.Out, final)
	if len(missing) > 0 {
		fmt.Fprintf(io.Out, "\nLeft out of this run: %s (%s)\n", strings.Join(missing, ", "), st.DCMissing)
	}
	fmt.Fprintf(io.Out, "\ndemo finished in %s\n", round(time.Since(start)))
	if final.Status != workflows.StatusSucceeded {
		return &exitError{code: 1, msg: "the rollout did not succeed: " + final.LastError}
	}
	return nil
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
				v, err := Decide(ctx, nf, p.TenantToken(), p.Metadata.Name, ap,
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

// followRollout prints each step and gate as its state changes — a line per
// transition with elapsed time — and returns the final state.
func followRollout(ctx context.Context, io IO, tc client.Client, id string) (workflows.State, error) {
	t0 := time.Now()
	prev := map[string]string{}
	var st workflows.State
	for {
		var err error
		st, err = QueryState(ctx, tc, id)
		if err != nil && ctx.Err() != nil {
			return st, ctx.Err()
		}
		if err == nil {
			// A gate that closed did so before the next stage's steps ran,
			// and one that opened did so after the last stage's steps: print
			// them on that side of this poll's step lines.
			printGates := func(closed bool) {
				for _, g := range st.Gates {
					key := "gate/" + g.Name
					val := string(g.Status) + fmt.Sprint(len(g.Decisions)) + fmt.Sprintf("%.0f", g.Coverage)
					if g.Status.Closed() != closed || prev[key] == val || g.Status == workflows.GatePending {
						continue
					}
					extra := ""
					if g.MinCoverage > 0 && g.Coverage > 0 {
						extra = fmt.Sprintf("registration %.0f%% (needs %.0f%%)", g.Coverage, g.MinCoverage)
					}
					if g.Quorum > 0 {
						extra += fmt.Sprintf(" approvals %d/%d", approvedCount(g), g.Quorum)
					}
					fmt.Fprintf(io.Out, "  %6s  ◆ gate %-15s %-17s %s\n", round(time.Since(t0)), g.Name, g.Status, extra)
					prev[key] = val
				}
			}
			printGates(true)
			for _, s := range st.Steps {
				key := s.Stage + "/" + s.Name
				if prev[key] != string(s.Status) {
					if s.Status != workflows.StepPending {
						fmt.Fprintf(io.Out, "  %6s  %s %-10s %-20s %-11s %s\n", round(time.Since(t0)), stepMark[s.Status], s.Stage, s.Name, s.Status, clip(firstNonEmpty(s.Error, s.Detail), 90))
					}
					prev[key] = string(s.Status)
				}
			}
			printGates(false)
			if ended(st.Status) {
				return st, nil
			}
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
