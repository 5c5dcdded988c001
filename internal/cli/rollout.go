package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/worker"
	"github.com/ssprflow/ssprflow/workflows"
)

func rolloutCmd() *command {
	return &command{name: "rollout", summary: "start, watch, list and stop rollouts", subs: []*command{
		{name: "start", summary: "start a rollout from a plan file", run: runRolloutStart},
		{name: "status", summary: "show a rollout's stages, steps and gates (--watch to follow)", run: runRolloutStatus},
		{name: "list", summary: "list rollouts (filter by --tenant, --state)", run: runRolloutList},
		{name: "cancel", summary: "cancel a rollout; it undoes its changes per the plan's failure policy", run: runRolloutCancel},
		{name: "resume", summary: "answer a paused rollout: --action retry|rollback|abort", run: runRolloutResume},
	}}
}

// temporalFlags select the Temporal frontend.
type temporalFlags struct {
	address, namespace, config *string
}

func addTemporalFlags(fs *flag.FlagSet) temporalFlags {
	return temporalFlags{
		address:   fs.String("temporal", env("SSPRFLOW_TEMPORAL", "127.0.0.1:7233"), "Temporal frontend host:port ($SSPRFLOW_TEMPORAL)"),
		namespace: fs.String("namespace", env("SSPRFLOW_NAMESPACE", "default"), "Temporal namespace ($SSPRFLOW_NAMESPACE)"),
		config:    fs.String("config", env("SSPRFLOW_CONFIG", ""), "worker configuration file (its temporal: section is used, with the payload keys) ($SSPRFLOW_CONFIG); without it the payload keys come from $"+config.EnvCodecKeys+" (ID:BASE64[,...])"),
	}
}

func (t temporalFlags) dial(ctx context.Context) (client.Client, error) {
	tc := config.Temporal{Address: *t.address, Namespace: *t.namespace}
	if _, ok := os.LookupEnv(config.EnvCodecKeys); ok {
		// Histories are encrypted; without keys the client reads only
		// what is not, and says which key it lacks.
		tc.Codec = config.CodecKeyList(config.Secret{Env: config.EnvCodecKeys})
	}
	if *t.config != "" {
		cfg, err := config.Load(*t.config)
		if err != nil {
			return nil, err
		}
		tc = cfg.Temporal
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return worker.DialTemporal(ctx, tc, quiet, nil)
}

func currentUser() string {
	if v := os.Getenv("SSPRFLOW_USER"); v != "" {
		return v
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

func runRolloutStart(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "rollout start", "FILE",
		"Validate a plan and start its rollout (one per tenant plan at a time). The request goes over NATS as your NATS user,\n"+
			"which makes you the rollout's authenticated starter: you cannot approve it unless the plan allows self-approval.")
	nf := addNATSFlags(fs)
	tf := addTemporalFlags(fs)
	direct := fs.Bool("direct", false, "start on Temporal directly (administrators); the starter is then --started-by, not authenticated")
	by := fs.String("started-by", currentUser(), "with --direct: who starts the rollout ($SSPRFLOW_USER)")
	queue := fs.String("task-queue", workflows.TaskQueue, "with --direct: task queue of the ssprflow worker")
	out := outputFlag(fs)
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usageErr("rollout start needs exactly one plan file")
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	p, err := plan.Load(files[0], raw)
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	var id string
	if *direct {
		c, err := tf.dial(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		if id, err = worker.StartRollout(ctx, c, p, *by, "", nil, *queue); err != nil {
			return err
		}
	} else {
		if *nf.user == "" && *nf.creds == "" {
			return usageErr("say who you are on NATS: --user (with $SSPRFLOW_NATS_PASSWORD) or --creds; or --direct with Temporal access")
		}
		if id, err = StartOverNATS(ctx, nf.config(), operatorID(nf), p, files[0], raw); err != nil {
			return err
		}
	}
	if *out == "json" {
		return printJSON(io.Out, map[string]string{"workflowId": id})
	}
	fmt.Fprintf(io.Out, "started rollout %s\nfollow it:  ssprflow rollout status %s --watch\n", id, id)
	return nil
}

// QueryState reads a rollout's state; for a closed rollout it falls back to
// the result (or the failure details) so the status of a finished rollout
// can still be shown.
//
// Temporal's own execution status comes first: a rollout terminated on
// Temporal (or timed out) is reported as terminated with what it left
// behind, never as still waiting.
func QueryState(ctx context.Context, c client.Client, id string) (workflows.State, error) {
	var st workflows.State
	desc, derr := c.DescribeWorkflowExecution(ctx, id, "")
	if derr == nil {
		switch es := desc.GetWorkflowExecutionInfo().GetStatus(); es {
		case enums.WORKFLOW_EXECUTION_STATUS_TERMINATED, enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
			return terminatedState(ctx, c, id, desc.GetWorkflowExecutionInfo().GetCloseTime().AsTime(), es), nil
		}
	}
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err == nil {
		err = v.Get(&st)
		return st, err
	}
	// A closed rollout can still answer from its result; a running one whose
	// query failed (no worker polling) must not block here until it ends.
	if derr != nil || desc.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) || errors.As(derr, &nf) {
			return st, &exitError{code: 1, msg: "no rollout " + id}
		}
		return st, fmt.Errorf("query %s (is a worker running?): %w", id, err)
	}
	run := c.GetWorkflow(ctx, id, "")
	if gerr := run.Get(ctx, &st); gerr == nil {
		return st, nil
	} else {
		var appErr *temporal.ApplicationError
		if errors.As(gerr, &appErr) && appErr.HasDetails() {
			if derr := appErr.Details(&st); derr == nil {
				return st, nil
			}
		}
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return st, &exitError{code: 1, msg: "no rollout " + id}
	}
	return st, fmt.Errorf("query %s: %w", id, err)
}

// terminatedState is the state of a rollout that Temporal ended without
// the workflow's say: its last state (a query replays the history up to
// the end, when a worker runs), marked terminated, and what it changed that
// nothing undid.
func terminatedState(ctx context.Context, c client.Client, id string, at time.Time, es enums.WorkflowExecutionStatus) workflows.State {
	var st workflows.State
	if v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryState); err == nil {
		_ = v.Get(&st)
	}
	if st.WorkflowID == "" {
		st.WorkflowID = id
	}
	how := "terminated on Temporal"
	if es == enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT {
		how = "timed out on Temporal"
	}
	st.Status, st.EndedAt = workflows.StatusTerminated, at
	left := leftBehind(st)
	switch {
	case st.Steps == nil:
		st.LastError = how + " (no worker answered, so what it changed is unknown: start a worker and run 'rollout status' again)"
	case len(left) == 0:
		st.LastError = how + ", outside ssprflow; it had changed nothing that needs undoing"
	default:
		st.LastError = how + ", outside ssprflow: nothing was undone; left behind: " + strings.Join(left, "; ")
	}
	for i := range st.Gates {
		if !st.Gates[i].Status.Closed() && st.Gates[i].Status != workflows.GatePending {
			st.Gates[i].Status = workflows.GateFailed
		}
	}
	return st
}

// leftBehind summarises the changes no compensation undid.
func leftBehind(st workflows.State) []string {
	var out []string
	for _, ch := range st.Changes {
		if ch.Compensation == nil || ch.Compensation.Status != workflows.CompensationDone {
			out = append(out, ch.Stage+"/"+ch.Step+": "+changeSummary(ch))
		}
	}
	return out
}

// oneRollout parses flags and the single ROLLOUT argument, and dials
// Temporal. The caller closes the client.
func oneRollout(ctx context.Context, fs *flag.FlagSet, tf temporalFlags, args []string, cmd string) (string, client.Client, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", nil, err
	}
	if len(pos) != 1 {
		return "", nil, usageErr("%s needs a rollout id (sspr/<tenant>/<plan>)", cmd)
	}
	id, err := rolloutID(pos[0])
	if err != nil {
		return "", nil, err
	}
	c, err := tf.dial(ctx)
	if err != nil {
		return "", nil, err
	}
	return id, c, nil
}

func rolloutID(arg string) (string, error) {
	t, r, ok := workflows.ParseWorkflowID(arg)
	if !ok {
		return "", usageErr("%q is not a rollout id: use sspr/<tenant>/<plan> (as printed by 'rollout start' and 'rollout list')", arg)
	}
	return workflows.WorkflowID(t, r), nil
}

func runRolloutStatus(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "rollout status", "ROLLOUT", "Show where a rollout is: stage, each step's state, gates and approvals, what changed.")
	tf := addTemporalFlags(fs)
	watch := fs.Bool("watch", false, "refresh until the rollout ends")
	out := outputFlag(fs)
	id, c, err := oneRollout(ctx, fs, tf, args, "rollout status")
	if err != nil {
		return err
	}
	defer c.Close()
	last := ""
	for {
		st, err := QueryState(ctx, c, id)
		if err != nil {
			return err
		}
		if *out == "json" {
			if !*watch || ended(st.Status) {
				return printJSON(io.Out, st)
			}
		} else {
			var b strings.Builder
			RenderStatus(&b, st, time.Now())
			if s := b.String(); s != last {
				if *watch && last != "" {
					fmt.Fprintln(io.Out, strings.Repeat("─", 60))
				}
				fmt.Fprint(io.Out, s)
				last = s
			}
		}
		if !*watch || ended(st.Status) {
			if st.Status != workflows.StatusSucceeded && ended(st.Status) {
				return &exitError{code: 1}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func ended(s workflows.Status) bool {
	switch s {
	case workflows.StatusSucceeded, workflows.StatusFailed, workflows.StatusRolledBack, workflows.StatusCancelled, workflows.StatusTerminated:
		return true
	}
	return false
}

func runRolloutList(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "rollout list", "", "List rollouts, newest first.")
	tf := addTemporalFlags(fs)
	tenant := fs.String("tenant", "", "only this tenant")
	state := fs.String("state", "", "only rollouts in this state (running, waiting, paused, succeeded, rolled-back, failed, cancelled)")
	out := outputFlag(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	c, err := tf.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	q := []string{"WorkflowType = 'RolloutWorkflow'"}
	if *tenant != "" {
		q = append(q, fmt.Sprintf("%s = '%s'", workflows.SATenant, strings.ReplaceAll(*tenant, "'", "")))
	}
	if *state != "" {
		q = append(q, fmt.Sprintf("%s = '%s'", workflows.SAState, strings.ReplaceAll(*state, "'", "")))
	}
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: strings.Join(q, " AND ")})
	if err != nil {
		return fmt.Errorf("list rollouts: %w", err)
	}
	type row struct {
		ID, Tenant, Plan, Stage, State string
		Started                        time.Time
	}
	var rows []row
	for _, e := range resp.Executions {
		r := row{ID: e.GetExecution().GetWorkflowId(), Started: e.GetStartTime().AsTime()}
		for k, v := range e.GetSearchAttributes().GetIndexedFields() {
			var s string
			_ = converter.GetDefaultDataConverter().FromPayload(v, &s)
			switch k {
			case workflows.SATenant:
				r.Tenant = s
			case workflows.SAPlan:
				r.Plan = s
			case workflows.SAStage:
				r.Stage = s
			case workflows.SAState:
				r.State = s
			}
		}
		r.State = listState(r.State, e.GetStatus())
		rows = append(rows, r)
	}
	if *out == "json" {
		return printJSON(io.Out, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(io.Out, "no rollouts")
		return nil
	}
	fmt.Fprintf(io.Out, "%-52s %-12s %-12s %-20s\n", "ROLLOUT", "STATE", "STAGE", "STARTED")
	for _, r := range rows {
		// Search attributes and ids are whatever was written to Temporal.
		fmt.Fprintf(io.Out, "%-52s %-12s %-12s %-20s\n", safeText(r.ID), safeText(r.State), safeText(r.Stage), r.Started.Local().Format("2006-01-02 15:04:05"))
	}
	return nil
}

// listState is a listed rollout's state: the workflow's own, unless
// Temporal ended it without the workflow's say (the search attribute then
// still reads "waiting").
func listState(sa string, es enums.WorkflowExecutionStatus) string {
	switch es {
	case enums.WORKFLOW_EXECUTION_STATUS_TERMINATED, enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return string(workflows.StatusTerminated)
	case enums.WORKFLOW_EXECUTION_STATUS_FAILED, enums.WORKFLOW_EXECUTION_STATUS_CANCELED:
		if !ended(workflows.Status(sa)) {
			return string(workflows.StatusFailed)
		}
	}
	return sa
}

func runRolloutCancel(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "rollout cancel", "ROLLOUT", "Cancel a rollout. It compensates (undoes its changes) per the plan's failure policy before it ends.")
	tf := addTemporalFlags(fs)
	id, c, err := oneRollout(ctx, fs, tf, args, "rollout cancel")
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.CancelWorkflow(ctx, id, ""); err != nil {
		return fmt.Errorf("cancel %s: %w", id, err)
	}
	fmt.Fprintf(io.Out, "cancel requested for %s; it is undoing its changes — follow with 'ssprflow rollout status %s --watch'\n", id, id)
	return nil
}

func runRolloutResume(ctx context.Context, io IO, args []string) error {
	fs := newFlags(io, "rollout resume", "ROLLOUT --action retry|rollback|abort", "Answer a rollout paused by its failure policy.")
	tf := addTemporalFlags(fs)
	action := fs.String("action", "", "retry (run the failed step or gate again), rollback (undo everything), abort (stop, leave changes)")
	id, c, err := oneRollout(ctx, fs, tf, args, "rollout resume")
	if err != nil {
		return err
	}
	defer c.Close()
	if *action == "" {
		return usageErr("rollout resume needs --action retry|rollback|abort")
	}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.UpdateOperate, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []interface{}{workflows.OperatorAction{Action: *action, By: currentUser()}},
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("%s refused: %v", id, err)}
	}
	fmt.Fprintf(io.Out, "%s: %s accepted\n", id, *action)
	return nil
}

func operatorID(nf natsFlags) string { return *nf.user }

// StartOverNATS asks a worker to start the plan's rollout as operator.
func StartOverNATS(ctx context.Context, nc config.NATS, operator string, p *plan.Rollout, file string, raw []byte) (string, error) {
	conn, _, err := worker.DialNATS(ctx, nc, "ssprflow-cli-"+operator, nats.CustomInboxPrefix(approval.InboxPrefix(operator)))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	reply, err := approval.RequestStart(ctx, conn, p.TenantToken(), p.Metadata.Name, operator, approval.StartRequest{Plan: raw, File: file}, 30*time.Second)
	if err != nil {
		return "", err
	}
	if reply.Error != "" {
		return reply.WorkflowID, &exitError{code: 1, msg: reply.Error}
	}
	return reply.WorkflowID, nil
}
