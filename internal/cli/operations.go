package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

func runExport(ctx context.Context, io IO, args []string) error {
	c := newCommand(io, "export", "--tenant T [--directory PROFILE] [--out FILE]",
		"Write the tenant's current SSPR configuration as a plan. A worker reads the tenant (and, with --directory, the\n"+
			"connector's rights and the password age through that directory profile) with its own credentials; nothing is\n"+
			"changed. plan diff of the result against the same tenant shows no change; what it cannot read is a # NOTE.", natsFlags)
	tenant := c.fs.String("tenant", "", "the tenant, as the worker configuration names it (contoso.onmicrosoft.com)")
	dir := c.fs.String("directory", "", "a directory profile of the worker configuration")
	out := c.fs.String("out", "", "write the plan to FILE (default: standard output)")
	if _, err := c.parse(args, func() error {
		if *tenant == "" {
			return cmdline.Usage("export needs --tenant, e.g. --tenant contoso.onmicrosoft.com")
		}
		return nil
	}); err != nil {
		return err
	}
	nc, err := c.conn.dialNATS(ctx, true)
	if err != nil {
		return err
	}
	defer nc.Close()
	tok := (&plan.Rollout{Metadata: plan.Metadata{Tenant: *tenant}}).TenantToken()
	reply, err := approval.RequestExport(ctx, nc.Conn, tok, nc.user, approval.ExportRequest{Tenant: *tenant, Directory: *dir}, approval.OperationWait)
	if err != nil {
		return cmdline.Failed(err)
	}
	if *out == "" {
		_, err = io.Out.Write([]byte(reply.Plan))
		return err
	}
	if err := os.WriteFile(*out, []byte(reply.Plan), 0o644); err != nil {
		return cmdline.Failed(err)
	}
	fmt.Fprintf(io.Out, "wrote %s: check it with 'ssprflow plan diff %s' (no change expected)\n", *out, *out)
	return nil
}

func runWatch(action string) func(ctx context.Context, io IO, args []string) error {
	return func(ctx context.Context, io IO, args []string) error {
		summary := map[string]string{
			approval.WatchStart:     "Check the tenant and the domain against the plan on a schedule (a Temporal Schedule the worker runs;\nthe interval is the worker's watch.every, default daily). Drift becomes an event and a notification.",
			approval.WatchStop:      "Delete the plan's watch schedule.",
			approval.WatchRemediate: "Put the plan's settings, the connector's AD rights and the SSPR scope back where they drifted: a rollout\nrun of its own that waits for an approver first (no members are added).",
		}[action]
		c := newCommand(io, "watch "+action, "FILE", summary, natsFlags)
		file, p, raw, nc, err := c.planOnNATS(ctx, args)
		if err != nil {
			return err
		}
		defer nc.Close()
		reply, err := approval.RequestWatch(ctx, nc.Conn, p.TenantToken(), p.Metadata.Name, nc.user,
			approval.WatchRequest{Action: action, Plan: raw, File: file}, approval.OperationWait)
		if err != nil {
			return cmdline.Failed(err)
		}
		switch action {
		case approval.WatchStart:
			fmt.Fprintf(io.Out, "watching %s: schedule %s checks every %s (the first check runs now); see 'ssprflow watch status'\n", p.Metadata.Name, reply.ScheduleID, reply.Every)
		case approval.WatchStop:
			fmt.Fprintf(io.Out, "stopped watching %s (schedule %s deleted)\n", p.Metadata.Name, reply.ScheduleID)
		default:
			fmt.Fprintf(io.Out, "remediation %s started: it waits for an approver ('ssprflow approve %s --gate %s'), then puts back what drifted\n",
				reply.WorkflowID, reply.WorkflowID, workflows.RemediateStage)
		}
		return nil
	}
}

func runRolloutRevert(ctx context.Context, io IO, args []string) error {
	c := newCommand(io, "rollout revert", "ROLLOUT [--run RUN]",
		"Undo what a finished rollout changed, last change first, after an approver agrees. A setting someone changed\n"+
			"since is reported as a conflict and left as found. The worker reads the run from Temporal.", natsFlags)
	run := c.fs.String("run", "", "the run to revert (default: the latest)")
	r, nc, err := c.rolloutOnNATS(ctx, args, true)
	if err != nil {
		return err
	}
	defer nc.Close()
	reply, err := approval.RequestRevert(ctx, nc.Conn, r.tenant, r.rollout, nc.user, approval.RevertRequest{RunID: *run}, approval.OperationWait)
	if err != nil {
		return cmdline.Failed(err)
	}
	fmt.Fprintf(io.Out, "revert of %s (run %s) started as run %s: it waits for an approver ('ssprflow approve %s --gate %s'),\nthen undoes the changes; follow with 'ssprflow rollout status %s --watch'\n",
		reply.WorkflowID, reply.Reverts, reply.RunID, reply.WorkflowID, workflows.RevertStage, reply.WorkflowID)
	return nil
}

func runWatchStatus(ctx context.Context, io IO, args []string) error {
	c := newCommand(io, "watch status", "[--tenant T] [--plan NAME]", "The last drift checks, newest first, and what drifted.", temporalFlags|outputFlag)
	tenant := c.fs.String("tenant", "", "only this tenant")
	name := c.fs.String("plan", "", "only this plan")
	limit := c.fs.Int("last", 10, "how many checks")
	if _, err := c.parse(args); err != nil {
		return err
	}
	tc, err := c.conn.dialTemporal(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	q := []string{fmt.Sprintf("WorkflowType = '%s'", workflows.DriftCheckWorkflowName), "ExecutionStatus != 'Running'"}
	if *tenant != "" {
		q = append(q, fmt.Sprintf("%s = '%s'", workflows.SATenant, strings.ReplaceAll(*tenant, "'", "")))
	}
	if *name != "" {
		q = append(q, fmt.Sprintf("%s = '%s'", workflows.SAPlan, strings.ReplaceAll(*name, "'", "")))
	}
	resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: strings.Join(q, " AND "), PageSize: int32(*limit)})
	if err != nil {
		return fmt.Errorf("list drift checks: %w", err)
	}
	var checks []workflows.DriftResult
	for _, e := range resp.GetExecutions() {
		if len(checks) >= *limit {
			break
		}
		var res workflows.DriftResult
		if err := tc.GetWorkflow(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()).Get(ctx, &res); err != nil {
			var appErr *temporal.ApplicationError
			msg := err.Error()
			if errors.As(err, &appErr) {
				msg = appErr.Message()
			}
			res = workflows.DriftResult{CheckedAt: e.GetStartTime().AsTime()}
			res.Items = append(res.Items, driftFailed(msg))
		}
		checks = append(checks, res)
	}
	if c.json() {
		return cmdline.PrintJSON(io.Out, checks)
	}
	if len(checks) == 0 {
		fmt.Fprintln(io.Out, "no drift check has run (start one with 'ssprflow watch start PLAN')")
		return nil
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECKED\tTENANT\tPLAN\tRESULT")
	for _, ch := range checks {
		result := fmt.Sprintf("clean (%d settings, %d scopes)", ch.Settings, ch.Scopes)
		if ch.Drifted() {
			result = fmt.Sprintf("DRIFT: %d item(s)", len(ch.Items))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.CheckedAt.UTC().Format(time.RFC3339), ch.Tenant, ch.Plan, result)
	}
	tw.Flush()
	if last := checks[0]; last.Drifted() {
		fmt.Fprintf(io.Out, "\nDrift found by the last check (%s):\n", last.CheckedAt.UTC().Format(time.RFC3339))
		for _, it := range last.Items {
			where := ""
			if it.Label != "" {
				where = " — " + it.Label
			}
			fmt.Fprintf(io.Out, "  %-13s %s%s\n", it.Kind, safeText(it.Detail), where)
		}
		fmt.Fprintln(io.Out, "\nPut it back with 'ssprflow watch remediate PLAN' (behind an approval), or change the plan.")
	}
	return nil
}

func driftFailed(msg string) activities.DriftItem {
	return activities.DriftItem{Kind: activities.DriftFailed, Detail: "the check failed: " + msg}
}
