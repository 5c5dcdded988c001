package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/ssprflow/ssprflow/internal/cmdline"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/dial"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

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
	c := newCommand(io, "rollout start", "FILE",
		"Validate a plan and start its rollout (one per tenant plan at a time). The request goes over NATS as your NATS user,\n"+
			"which makes you the rollout's authenticated starter: you cannot approve it unless the plan allows self-approval.", natsFlags|temporalFlags|outputFlag)
	direct := c.fs.Bool("direct", false, "start on Temporal directly (administrators); the starter is then --started-by, not authenticated")
	by := c.fs.String("started-by", currentUser(), "with --direct: who starts the rollout ($SSPRFLOW_USER)")
	queue := c.fs.String("task-queue", workflows.TaskQueue, "with --direct: task queue of the ssprflow worker")
	waitTenant := c.fs.Bool("queue", false, "when another rollout is changing the same tenant, wait for it to end instead of failing")
	file, err := c.parseFile(args)
	if err != nil {
		return err
	}
	operator := c.conn.userID()
	if !*direct && operator == "" {
		return cmdline.Usage("say who you are on NATS: --user (with $SSPRFLOW_NATS_PASSWORD), $SSPRFLOW_NATS_USER or nats.user in --config; or --direct with Temporal access")
	}
	p, raw, err := readPlan(file)
	if err != nil {
		return err
	}
	var id, note string
	if *direct {
		tc, err := c.conn.dialTemporal(ctx)
		if err != nil {
			return err
		}
		defer tc.Close()
		if id, err = workflows.StartRollout(ctx, tc, p, workflows.StartOptions{StartedBy: *by, TaskQueue: *queue, QueueForTenant: *waitTenant}); err != nil {
			return err
		}
	} else if id, note, err = StartOverNATSQueue(ctx, c.conn.natsConfig(), operator, p, file, raw, *waitTenant); err != nil {
		return err
	}
	if c.json() {
		return cmdline.PrintJSON(io.Out, map[string]string{"workflowId": id, "note": note})
	}
	fmt.Fprintf(io.Out, "started rollout %s\n", id)
	if note != "" {
		fmt.Fprintln(io.Out, note)
	}
	fmt.Fprintf(io.Out, "follow it:  ssprflow rollout status %s --watch\n", id)
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
			return st, &cmdline.ExitError{Code: 1, Msg: "no rollout " + id}
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
		return st, &cmdline.ExitError{Code: 1, Msg: "no rollout " + id}
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
			out = append(out, ch.Stage+"/"+string(ch.Step)+": "+changeSummary(ch))
		}
	}
	return out
}

func runRolloutStatus(ctx context.Context, io IO, args []string) error {
	c := newCommand(io, "rollout status", "ROLLOUT", "Show where a rollout is: stage, each step's state, gates and approvals, what changed.", temporalFlags|outputFlag)
	watch := c.fs.Bool("watch", false, "refresh until the rollout ends")
	id, tc, err := c.rolloutOnTemporal(ctx, args)
	if err != nil {
		return err
	}
	defer tc.Close()
	dc, err := dial.DataConverter(c.conn.temporalConfig())
	if err != nil {
		return err
	}
	last := ""
	for {
		st, err := QueryState(ctx, tc, id)
		if err != nil {
			return err
		}
		var progress []MemberProgress
		if !st.Status.Ended() {
			// Best effort: status without the progress line beats no status.
			progress, _ = PendingProgress(ctx, tc, dc, id)
		}
		if c.json() {
			if !*watch || st.Status.Ended() {
				out := struct {
					workflows.State
					Progress []MemberProgress `json:"progress,omitempty"`
				}{st, progress}
				if err := cmdline.PrintJSON(io.Out, out); err != nil {
					return err
				}
			}
		} else {
			var b strings.Builder
			RenderStatus(&b, st, time.Now())
			for _, p := range progress {
				fmt.Fprintf(&b, "  ⟳ %s: %s\n", safeText(st.Stage), progressLine(p))
			}
			if s := b.String(); s != last {
				if *watch && last != "" {
					fmt.Fprintln(io.Out, strings.Repeat("─", 60))
				}
				fmt.Fprint(io.Out, s)
				last = s
			}
		}
		if !*watch || st.Status.Ended() {
			if st.Status != workflows.StatusSucceeded && st.Status != workflows.StatusReverted && st.Status.Ended() {
				return &cmdline.ExitError{Code: 1}
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

func runRolloutList(ctx context.Context, io IO, args []string) error {
	c := newCommand(io, "rollout list", "", "List rollouts, newest first.", temporalFlags|outputFlag)
	tenant := c.fs.String("tenant", "", "only this tenant")
	state := c.fs.String("state", "", "only rollouts in this state ("+strings.Join(statuses, ", ")+")")
	if _, err := c.parse(args, func() error {
		if *state == "" {
			return nil
		}
		return cmdline.OneOf("state", *state, statuses...)
	}); err != nil {
		return err
	}
	tc, err := c.conn.dialTemporal(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	// Rollouts and their reverts and remediations (runs of the same
	// workflow ids); drift checks are 'watch status'.
	q := []string{fmt.Sprintf("WorkflowType IN ('%s', '%s', '%s')", workflows.RolloutWorkflowName, workflows.RevertWorkflowName, workflows.RemediateWorkflowName)}
	if *tenant != "" {
		q = append(q, fmt.Sprintf("%s = '%s'", workflows.SATenant, strings.ReplaceAll(*tenant, "'", "")))
	}
	if *state != "" {
		q = append(q, fmt.Sprintf("%s = '%s'", workflows.SAState, strings.ReplaceAll(*state, "'", "")))
	}
	resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: strings.Join(q, " AND ")})
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
	if c.json() {
		return cmdline.PrintJSON(io.Out, rows)
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
		if !workflows.Status(sa).Ended() {
			return string(workflows.StatusFailed)
		}
	}
	return sa
}

func runRolloutCancel(ctx context.Context, io IO, args []string) error {
	c := newCommand(io, "rollout cancel", "ROLLOUT", "Cancel a rollout. It compensates (undoes its changes) per the plan's failure policy before it ends.", temporalFlags)
	id, tc, err := c.rolloutOnTemporal(ctx, args)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := tc.CancelWorkflow(ctx, id, ""); err != nil {
		return fmt.Errorf("cancel %s: %w", id, err)
	}
	fmt.Fprintf(io.Out, "cancel requested for %s; it is undoing its changes — follow with 'ssprflow rollout status %s --watch'\n", id, id)
	return nil
}

func runRolloutResume(ctx context.Context, io IO, args []string) error {
	c := newCommand(io, "rollout resume", "ROLLOUT --action retry|rollback|abort", "Answer a rollout paused by its failure policy.", temporalFlags)
	action := c.fs.String("action", "", "retry (run the failed step or gate again), rollback (undo everything), abort (stop, leave changes)")
	id, tc, err := c.rolloutOnTemporal(ctx, args, func() error {
		if *action == "" {
			return cmdline.Usage("rollout resume needs --action retry|rollback|abort")
		}
		allowed := make([]string, len(workflows.Actions))
		for i, a := range workflows.Actions {
			allowed[i] = string(a)
		}
		return cmdline.OneOf("action", *action, allowed...)
	})
	if err != nil {
		return err
	}
	defer tc.Close()
	h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.UpdateOperate, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []interface{}{workflows.OperatorAction{Action: workflows.Action(*action), By: currentUser()}},
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		return &cmdline.ExitError{Code: 1, Msg: fmt.Sprintf("%s refused: %v", id, err)}
	}
	fmt.Fprintf(io.Out, "%s: %s accepted\n", id, *action)
	return nil
}

// statuses are the values of the rollout state search attribute.
var statuses = []string{string(workflows.StatusRunning), string(workflows.StatusWaiting), string(workflows.StatusPaused),
	string(workflows.StatusSucceeded), string(workflows.StatusRolledBack), string(workflows.StatusFailed),
	string(workflows.StatusCancelled), string(workflows.StatusTerminated), string(workflows.StatusReverted),
	string(workflows.StateClean), string(workflows.StateDrift)}

// StartOverNATS asks a worker to start the plan's rollout as operator.
func StartOverNATS(ctx context.Context, nc config.NATS, operator string, p *plan.Rollout, file string, raw []byte) (string, error) {
	id, _, err := StartOverNATSQueue(ctx, nc, operator, p, file, raw, false)
	return id, err
}

// StartOverNATSQueue is StartOverNATS; queue asks to wait for the tenant
// lock, and note is the worker's word on it (queued behind whom).
func StartOverNATSQueue(ctx context.Context, nc config.NATS, operator string, p *plan.Rollout, file string, raw []byte, queue bool) (string, string, error) {
	conn, _, err := dialAs(ctx, nc, operator)
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	req, err := planRequest(ctx, conn, file, raw, p)
	if err != nil {
		return "", "", err
	}
	req.Queue = queue
	reply, err := approval.RequestStart(ctx, conn, p.TenantToken(), p.Metadata.Name, operator, req, 45*time.Second)
	if err != nil {
		return "", "", err
	}
	if reply.Error != "" {
		return reply.WorkflowID, "", &cmdline.ExitError{Code: 1, Msg: reply.Error}
	}
	return reply.WorkflowID, reply.Note, nil
}
