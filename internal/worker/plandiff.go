package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// Differ answers `ssprflow plan diff`: the worker holds the tenant's
// credentials, so it reads the tenant (nothing is changed) and returns
// what the plan would change.
type Differ struct {
	Tenants activities.TenantFactory
	People  People
	Blobs   PlanStore
	// Acts resolves each stage's members and reads the directory
	// (read-only) for the preview.
	Acts *activities.Activities
	// Temporal answers whether a writeback agent polls its queue.
	Temporal client.Client
}

// Diff implements approval.Differ: the settings per stage, what could not
// be read (never shown as a change), who a change reaches, each stage's
// members, and the checks a rollout would stop on (licence, permissions,
// directory, writeback agent).
func (d *Differ) Diff(ctx context.Context, tenant, rollout, operator string, req approval.DiffRequest) (approval.DiffReply, error) {
	_, p, err := requestedPlan(ctx, d.People, d.Blobs, tenant, rollout, operator, req)
	if err != nil {
		return approval.DiffReply{}, err
	}
	t, err := d.Tenants(ctx, p.Metadata.Tenant, p.Spec.SSPRPolicy.Mode)
	if err != nil {
		return approval.DiffReply{}, err
	}
	stages := p.Spec.Stages
	reply := approval.DiffReply{Plan: p.Metadata.Name, Tenant: p.Metadata.Tenant, Mode: string(p.Spec.SSPRPolicy.Mode),
		FinalStage: stages[len(stages)-1].Name, Changes: []approval.SettingDiff{}}
	pd, err := entra.PreviewPlan(ctx, t, p)
	if err != nil {
		return approval.DiffReply{}, fmt.Errorf("tenant %s: %w", p.Metadata.Tenant, err)
	}
	if g := stages[0].Group; g != nil && !pd.GroupExists {
		reply.Notes = append(reply.Notes, "group "+g.Name+" does not exist yet and would be created")
	}
	reply.Changes = stageChanges(p, pd)
	for _, u := range pd.Unread {
		us := approval.UnreadSetting{Field: string(u.Field), To: u.To, Why: u.Why}
		if spec, ok := entra.Spec(u.Field); ok {
			us.Label = spec.Label()
		}
		reply.Unreadable = append(reply.Unreadable, us)
	}
	if len(pd.Unread) > 0 && p.Spec.SSPRPolicy.Mode == plan.PolicyModePortalAPI {
		reply.Blockers = append(reply.Blockers, fmt.Sprintf("%d portal setting(s) could not be read, and ssprPolicy.mode portal-api must read them before it writes: %s", len(pd.Unread), pd.Unread[0].Why))
	}
	reply.BlastRadius = d.blastRadius(ctx, t, p, reply.Changes)
	reply.Checks = d.checks(ctx, t, p, pd)
	for _, c := range reply.Checks {
		if !c.OK {
			reply.Blockers = append(reply.Blockers, c.Name+": "+c.Detail)
		}
	}
	if d.Acts != nil {
		reply.Stages = d.stages(ctx, p, pd.Group.ID)
		for _, st := range reply.Stages {
			if st.Problem != "" {
				reply.Blockers = append(reply.Blockers, "stage "+st.Stage+": "+st.Problem)
			}
		}
	}
	return reply, nil
}

// stageChanges assigns each change to the stage that makes it: the first
// stage sets everything (SSPR for its group), an "all" stage widens the
// scope; the first stage's scope change is shown too when the plan ends
// with "all".
func stageChanges(p *plan.Rollout, pd entra.PlanDiff) []approval.SettingDiff {
	first, last := p.Spec.Stages[0].Name, p.Spec.Stages[len(p.Spec.Stages)-1].Name
	var out []approval.SettingDiff
	add := func(c entra.Change, stage string) {
		sd := approval.SettingDiff{Field: string(c.Field), From: c.From, To: c.To, Portal: c.Portal, Stage: stage}
		if spec, ok := entra.Spec(c.Field); ok {
			sd.Step, sd.Label = string(spec.Step), spec.Label()
			if spec.Surface == entra.SurfaceGraph {
				sd.TenantWide = "the authentication methods policy is tenant-wide: it also governs MFA and passwordless sign-in for its targets, not only SSPR"
			}
		}
		out = append(out, sd)
	}
	for _, c := range pd.Changes {
		if c.Field == entra.FieldScope && p.EndsWithAll() {
			cur := pd.Snapshot.Settings[entra.FieldScope]
			if p.Spec.Stages[0].Group != nil && cur != string(entra.ScopeSelected) && len(p.Spec.Stages) > 1 {
				add(entra.Change{Field: c.Field, From: cur, To: string(entra.ScopeSelected), Portal: c.Portal}, first)
				c.From = string(entra.ScopeSelected)
			}
			add(c, last)
			continue
		}
		add(c, first)
	}
	return out
}

// blastRadius says who the changes reach beyond the plan's own members.
func (d *Differ) blastRadius(ctx context.Context, t entra.Tenant, p *plan.Rollout, changes []approval.SettingDiff) []string {
	var out []string
	for _, c := range changes {
		if strings.HasPrefix(c.Field, string(entra.FieldPolicyPrefix)) && c.To == entra.StateEnabled {
			out = append(out, fmt.Sprintf("%s %s -> %s changes the tenant-wide authentication methods policy (%s): every user it targets may then use the method for MFA sign-in too, not only the plan's stages",
				c.Field, quoteEmpty(c.From), c.To, c.Label))
		}
		if c.Field == string(entra.FieldScope) && c.To == string(entra.ScopeAll) {
			n, err := t.CountUsers(ctx)
			who := "every user in the tenant"
			if err == nil {
				who = fmt.Sprintf("all %d users of the tenant", n)
			}
			out = append(out, fmt.Sprintf("stage %s enables SSPR for %s (scope All), not only the plan's groups", c.Stage, who))
		}
		if c.Field == string(entra.FieldWritebackEnabled) && c.To == "true" {
			out = append(out, "password writeback on: a reset in the cloud changes the on-premises AD password of every synced user in SSPR's scope")
		}
	}
	return out
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// Permissions a plan needs, each satisfied by any of its alternatives.
var needed = []struct {
	why  string
	any  []string
	when func(p *plan.Rollout, groupExists bool) bool
}{
	{"the authentication methods policy", []string{"Policy.ReadWrite.AuthenticationMethod"}, nil},
	{"registration reports (gates, coverage)", []string{"AuditLog.Read.All"}, nil},
	{"the tenant's id and licences", []string{"Organization.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"}, nil},
	{"member selection", []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}, nil},
	{"group membership", []string{"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"}, nil},
	{"creating the SSPR group", []string{"Group.Create", "Group.ReadWrite.All", "Directory.ReadWrite.All"},
		func(p *plan.Rollout, exists bool) bool {
			g := p.Spec.Stages[0].Group
			return g != nil && !exists && (g.Create == nil || *g.Create)
		}},
	{"excluding administrators", []string{"RoleManagement.Read.Directory", "Directory.Read.All", "Directory.ReadWrite.All"},
		func(p *plan.Rollout, _ bool) bool { a := p.Spec.Exclude.Admins; return a != nil && *a }},
}

// checks are the preflight's checks beyond the settings.
func (d *Differ) checks(ctx context.Context, t entra.Tenant, p *plan.Rollout, pd entra.PlanDiff) []approval.Check {
	var out []approval.Check
	if o, ok := t.(entra.Organizer); ok {
		org, err := o.Organization(ctx)
		switch {
		case err != nil:
			out = append(out, approval.Check{Name: "licence", OK: false, Detail: "the organization could not be read: " + err.Error()})
		case org.LicenceError != "":
			out = append(out, approval.Check{Name: "licence", OK: false, Detail: "subscribedSkus could not be read: " + org.LicenceError})
		case len(org.Licences) == 0:
			out = append(out, approval.Check{Name: "licence", OK: false, Detail: "no enabled Entra ID P1 or P2 service plan in subscribedSkus: SSPR with writeback and the registration reports need one"})
		default:
			out = append(out, approval.Check{Name: "licence", OK: true, Detail: fmt.Sprintf("%s (tenant %s, id %s)", strings.Join(org.Licences, ", "), org.DisplayName, org.ID)})
		}
	}
	if pr, ok := t.(entra.PermissionReader); ok {
		granted, err := pr.GrantedPermissions(ctx)
		if err != nil {
			out = append(out, approval.Check{Name: "app permissions", OK: false, Detail: err.Error()})
		} else {
			var missing []string
			for _, n := range needed {
				if n.when != nil && !n.when(p, pd.GroupExists) {
					continue
				}
				if !slices.ContainsFunc(n.any, func(x string) bool {
					return slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, x) })
				}) {
					missing = append(missing, strings.Join(n.any, " or ")+" (for "+n.why+")")
				}
			}
			if len(missing) > 0 {
				out = append(out, approval.Check{Name: "app permissions", OK: false, Detail: "the Graph token lacks " + strings.Join(missing, "; ") +
					": add them under App registrations > API permissions and grant admin consent"})
			} else {
				out = append(out, approval.Check{Name: "app permissions", OK: true, Detail: fmt.Sprintf("the Graph token holds what this plan needs (%d permissions granted)", len(granted))})
			}
		}
	}
	if p.Spec.Directory != nil && d.Acts != nil && d.Acts.Directory != nil {
		res, err := d.Acts.DirectoryPreflight(ctx, activities.DirectoryPreflightInput{Plan: *p})
		switch {
		case err != nil:
			out = append(out, approval.Check{Name: "directory", OK: false, Detail: errMessage(err)})
		default:
			out = append(out, approval.Check{Name: "AD rights", OK: true, Detail: fmt.Sprintf("connector %s: %d writeback ACE(s) missing on %d scope(s) (the ad-permissions step grants them)",
				res.Connector.Name, res.MissingACEs, len(res.Scopes))})
			detail := "minimum password age " + res.PasswordAge.Effective
			if len(res.PasswordAge.Findings) > 0 {
				detail += ": " + strings.Join(res.PasswordAge.Findings, "; ")
			}
			out = append(out, approval.Check{Name: "password age", OK: res.PasswordAge.OK, Detail: detail})
		}
	}
	if w := p.Spec.Writeback; w.Enabled() && w.AgentQueue != "" && d.Temporal != nil {
		resp, err := d.Temporal.DescribeTaskQueue(ctx, w.AgentQueue, enums.TASK_QUEUE_TYPE_ACTIVITY)
		switch {
		case err != nil:
			out = append(out, approval.Check{Name: "writeback agent", OK: false, Detail: "task queue " + w.AgentQueue + ": " + err.Error()})
		case len(resp.GetPollers()) == 0:
			out = append(out, approval.Check{Name: "writeback agent", OK: false, Detail: "no agent polls task queue " + w.AgentQueue +
				": start ssprflow-worker --agent writeback --task-queue " + w.AgentQueue + " on the sync server"})
		default:
			out = append(out, approval.Check{Name: "writeback agent", OK: true, Detail: fmt.Sprintf("%d agent(s) poll %s (last: %s)", len(resp.GetPollers()), w.AgentQueue, resp.GetPollers()[0].GetIdentity())})
		}
	}
	return out
}

func errMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}

// stages resolves every stage's selection against today's tenant
// (read-only, as the rollout would at each stage's start). Later stages
// are previewed as if earlier ones had not run yet: a percent stage's
// count is of today's users not yet in the group.
func (d *Differ) stages(ctx context.Context, p *plan.Rollout, groupID string) []approval.StageDiff {
	var out []approval.StageDiff
	for i, st := range p.Spec.Stages {
		if !st.Selects() {
			continue
		}
		res, err := d.Acts.ResolveMembers(ctx, activities.ResolveInput{Plan: *p, StageIdx: i, GroupID: groupID})
		sd := approval.StageDiff{Stage: st.Name, Source: res.Source, ToAdd: res.ToAdd, Already: res.Already,
			Missing: res.Missing, Excluded: res.Excluded, Sample: res.Sample, MissingSample: res.MissingSample}
		if err != nil {
			sd.Problem = errMessage(err)
		}
		out = append(out, sd)
	}
	return out
}
