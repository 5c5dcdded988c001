package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/attest"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/dial"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

// Operations answers export, watch and revert requests over NATS
// (approval.Operations) for people the worker knows.
type Operations struct {
	Client    client.Client
	Converter converter.DataConverter
	Queue     string
	Keys      *attest.Keyring
	People    People
	Blobs     PlanStore
	Acts      *activities.Activities
	// Every is the watch schedule's interval.
	Every time.Duration
}

func (o *Operations) person(natsUser string) (config.Person, error) {
	p, ok := o.People(natsUser)
	if !ok {
		return p, fmt.Errorf("NATS user %q is %w in the worker configuration (people: - id: ... nats: [%s])", natsUser, ErrUnknownIdentity, natsUser)
	}
	return p, nil
}

// Export reads the tenant (and a directory profile) and writes it as a
// plan, with comments for what it could not read or cannot know.
func (o *Operations) Export(ctx context.Context, operator string, req approval.ExportRequest) (approval.ExportReply, error) {
	if _, err := o.person(operator); err != nil {
		return approval.ExportReply{}, err
	}
	if req.Tenant == "" {
		return approval.ExportReply{}, errors.New("export: name the tenant (--tenant contoso.onmicrosoft.com)")
	}
	t, err := o.Acts.Tenants(ctx, req.Tenant, plan.PolicyModePortalAPI)
	if err != nil {
		return approval.ExportReply{}, fmt.Errorf("export: connect to tenant %s: %w", req.Tenant, err)
	}
	// Preview reads what it can and names the rest (a portal field without
	// a portal credential), where Snapshot fails on it.
	read := t.Snapshot
	if pv, ok := t.(entra.Previewer); ok {
		read = pv.Preview
	}
	snap, err := read(ctx)
	if err != nil {
		return approval.ExportReply{}, fmt.Errorf("export: read the SSPR configuration of %s: %w", req.Tenant, err)
	}
	var dir *plan.Directory
	var notes []string
	if req.Directory != "" {
		if dir, notes, err = o.exportDirectory(ctx, req.Directory); err != nil {
			return approval.ExportReply{}, err
		}
	}
	p, more := entra.ExportPlan(req.Tenant, snap, dir)
	notes = append(more, notes...)
	b, err := yaml.Marshal(&p)
	if err != nil {
		return approval.ExportReply{}, err
	}
	// What the export wrote must be a plan the worker accepts.
	if _, err := plan.Load("export", b); err != nil {
		return approval.ExportReply{}, fmt.Errorf("export: the exported plan does not validate (a bug; please report it): %w", err)
	}
	var doc strings.Builder
	fmt.Fprintf(&doc, "# Exported by ssprflow from tenant %s", req.Tenant)
	if req.Directory != "" {
		fmt.Fprintf(&doc, " and directory profile %s", req.Directory)
	}
	doc.WriteString(".\n# plan diff of this file against the same tenant shows no change.\n")
	for _, n := range notes {
		doc.WriteString("# NOTE: " + n + "\n")
	}
	doc.Write(b)
	return approval.ExportReply{Plan: doc.String()}, nil
}

// exportDirectory adds the directory profile when the connector's
// writeback rights are on the domain root, and says what is missing when
// not; the same for the minimum password age.
func (o *Operations) exportDirectory(ctx context.Context, profile string) (*plan.Directory, []string, error) {
	d := &plan.Directory{Profile: profile}
	dir, err := o.Acts.Directory(ctx, d)
	if err != nil {
		return nil, nil, fmt.Errorf("export: directory profile %s: %w", profile, err)
	}
	defer dir.Close()
	var notes []string
	scopes, err := dir.Scopes(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("export: directory profile %s: %w", profile, err)
	}
	for _, dn := range scopes.DNs {
		missing, err := dir.MissingACEs(ctx, dn)
		if err != nil {
			return nil, nil, fmt.Errorf("export: read the ACL of %s: %w", dn, err)
		}
		if len(missing) > 0 {
			notes = append(notes, fmt.Sprintf("%d of the connector's writeback ACE(s) are not on %s: a rollout of this plan grants them", len(missing), dn))
		}
	}
	age, err := dir.PasswordAge(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("export: read the minimum password age: %w", err)
	}
	if !age.OK {
		no := false
		d.RequireMinPasswordAgeZero = &no
		notes = append(notes, "minimum password age is not 0 ("+strings.Join(age.Findings, "; ")+"): writeback fails for users who changed their password within it; requireMinPasswordAgeZero is false to match the domain")
	}
	return d, notes, nil
}

// Watch starts or stops a plan's drift watch, or starts its remediation.
func (o *Operations) Watch(ctx context.Context, tenant, rollout, operator string, req approval.WatchRequest) (approval.WatchReply, error) {
	person, p, err := requestedPlan(ctx, o.People, o.Blobs, tenant, rollout, operator, approval.StartRequest{Plan: req.Plan, File: req.File})
	if err != nil {
		return approval.WatchReply{}, err
	}
	target := workflows.WatchTarget(*p)
	switch req.Action {
	case approval.WatchStart:
		id, err := workflows.UpsertWatch(ctx, o.Client, target, o.Every, o.Queue)
		return approval.WatchReply{ScheduleID: id, Every: o.Every}, err
	case approval.WatchStop:
		return approval.WatchReply{ScheduleID: workflows.WatchScheduleID(tenant, rollout)}, workflows.StopWatch(ctx, o.Client, tenant, rollout)
	case approval.WatchRemediate:
		id, err := workflows.StartRollout(ctx, o.Client, &target, workflows.StartOptions{StartedBy: person.ID, Via: "nats:" + operator,
			Keys: o.Keys, TaskQueue: o.Queue, Remediate: true})
		return approval.WatchReply{WorkflowID: id}, err
	}
	return approval.WatchReply{}, fmt.Errorf("watch: unknown action %q: use start, stop or remediate", req.Action)
}

// Revert starts the revert of the tenant plan's latest finished run (or
// the run named): its plan is read from Temporal, not from the request.
func (o *Operations) Revert(ctx context.Context, tenant, rollout, operator string, req approval.RevertRequest) (approval.RevertReply, error) {
	person, err := o.person(operator)
	if err != nil {
		return approval.RevertReply{}, err
	}
	id := workflows.WorkflowID(tenant, rollout)
	run, err := o.runToRevert(ctx, id, req.RunID)
	if err != nil {
		return approval.RevertReply{}, err
	}
	p := run.Input.Plan
	if _, err := workflows.StartRollout(ctx, o.Client, &p, workflows.StartOptions{StartedBy: person.ID, Via: "nats:" + operator,
		Keys: o.Keys, TaskQueue: o.Queue, RevertRunID: run.RunID}); err != nil {
		return approval.RevertReply{}, err
	}
	d, err := o.Client.DescribeWorkflowExecution(ctx, id, "")
	reply := approval.RevertReply{WorkflowID: id, Reverts: run.RunID}
	if err == nil {
		reply.RunID = d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	}
	return reply, nil
}

// runToRevert is the run named, or the latest run of id that is the
// plan's own rollout and left changes to undo: remediations, reverts that
// did not complete (refused, expired, failed), runs that changed nothing
// and runs rolled back already are passed over; a completed revert means
// there is nothing left to revert.
func (o *Operations) runToRevert(ctx context.Context, id, runID string) (workflows.Run, error) {
	if runID != "" {
		run, err := workflows.ReadRun(ctx, o.Client, o.Converter, id, runID)
		if err == nil && (run.Input.RevertRunID != "" || run.Input.Remediate) {
			err = fmt.Errorf("%s run %s is a revert or a remediation, not a rollout: name the rollout's run", id, runID)
		}
		return run, err
	}
	q := fmt.Sprintf("WorkflowId = '%s' AND ExecutionStatus != 'Running'", strings.ReplaceAll(id, "'", ""))
	var token []byte
	var skipped []string
	for {
		resp, err := o.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 100, NextPageToken: token})
		if err != nil {
			return workflows.Run{}, fmt.Errorf("list the runs of %s: %w", id, err)
		}
		for _, e := range resp.GetExecutions() {
			rid := e.GetExecution().GetRunId()
			run, err := workflows.ReadRun(ctx, o.Client, o.Converter, id, rid)
			switch {
			case err != nil:
				skipped = append(skipped, rid+" (unreadable: "+err.Error()+")")
				continue
			case run.Input.Remediate:
				continue
			case run.Input.RevertRunID != "" && run.State.Status == workflows.StatusReverted:
				return run, fmt.Errorf("%s was reverted already (run %s reverted run %s): run the plan again to have something to revert", id, run.RunID, run.Input.RevertRunID)
			case run.Input.RevertRunID != "":
				continue // a revert that did not complete
			case run.State.Status == workflows.StatusRolledBack || run.State.Status == workflows.StatusCancelled:
				return run, fmt.Errorf("%s run %s ended %s: its changes were undone already", id, rid, run.State.Status)
			case !hasChangesToUndo(run.State):
				skipped = append(skipped, rid+" (changed nothing)")
				continue
			}
			return run, nil
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	msg := "no finished rollout " + id + " with changes to revert"
	if len(skipped) > 0 {
		msg += "; passed over: " + strings.Join(skipped, ", ")
	}
	return workflows.Run{}, errors.New(msg)
}

func hasChangesToUndo(st workflows.State) bool {
	for _, c := range st.Changes {
		if c.Compensation == nil || c.Compensation.Status != workflows.CompensationDone {
			return true
		}
	}
	return false
}

// watches create and delete watch schedules for the rollout's activities.
type watches struct {
	c     client.Client
	every time.Duration
	queue string
}

func (w watches) Ensure(ctx context.Context, p plan.Rollout) (string, error) {
	return workflows.UpsertWatch(ctx, w.c, workflows.WatchTarget(p), w.every, w.queue)
}

func (w watches) Stop(ctx context.Context, p plan.Rollout) error {
	return workflows.StopWatch(ctx, w.c, p.TenantToken(), p.Metadata.Name)
}

// rolloutReader reads a finished run for a revert.
func rolloutReader(c client.Client, dc converter.DataConverter) activities.RolloutReader {
	return func(ctx context.Context, id, runID string) (activities.RolloutRecord, error) {
		run, err := workflows.ReadRun(ctx, c, dc, id, runID)
		if err != nil {
			return activities.RolloutRecord{}, err
		}
		st, err := encodeState(run.State)
		return activities.RolloutRecord{Plan: run.Input.Plan, State: st}, err
	}
}

func encodeState(st workflows.State) ([]byte, error) { return json.Marshal(st) }

// newOperations wires the watch and the revert: the rollout's activities
// start watches and read finished runs, and the operations service answers
// operators.
func newOperations(cfg *config.Config, tc client.Client, queue string, keys *attest.Keyring, blobs PlanStore, acts *activities.Activities) (*Operations, error) {
	dc, err := dial.DataConverter(cfg.Temporal)
	if err != nil {
		return nil, err
	}
	every := cfg.Watch.Interval()
	if cfg.Watch == nil || !cfg.Watch.Off {
		acts.Watch = watches{c: tc, every: every, queue: queue}
	}
	acts.Rollouts = rolloutReader(tc, dc)
	return &Operations{Client: tc, Converter: dc, Queue: queue, Keys: keys, People: cfg.PersonByNATS, Blobs: blobs, Acts: acts, Every: every}, nil
}
