package approval

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// `ssprflow plan diff` reads the tenant, and only the worker holds the
// tenant's credentials: the CLI sends the plan to a worker, which reads the
// tenant (nothing is changed) and answers with the changes. Operators may
// ask, as themselves: ssprflow.<tenant>.<rollout>.diff.<operator>.

// DiffRequest carries the plan to preview, as StartRequest does.
type DiffRequest = StartRequest

// SettingDiff is one setting the plan would change.
type SettingDiff struct {
	Step  string `json:"step,omitempty"`
	Field string `json:"field"`
	// Label is where an admin finds the setting in the Entra admin center.
	Label  string `json:"label,omitempty"`
	From   string `json:"from"`
	To     string `json:"to"`
	Portal bool   `json:"portal,omitempty"`
	// Stage is the stage that makes the change.
	Stage string `json:"stage,omitempty"`
	// TenantWide says the setting governs more than SSPR for the plan's
	// users (the authentication methods policy also rules MFA sign-in).
	TenantWide string `json:"tenantWide,omitempty"`
}

// UnreadSetting is a setting the plan sets whose current value the worker
// could not read: never shown as a change.
type UnreadSetting struct {
	Field string `json:"field"`
	Label string `json:"label,omitempty"`
	To    string `json:"to"`
	Why   string `json:"why"`
}

// Check is one preflight check: licence, permissions, directory, agent.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// DiffReply answers a DiffRequest.
type DiffReply struct {
	Plan       string        `json:"plan,omitempty"`
	Tenant     string        `json:"tenant,omitempty"`
	FinalStage string        `json:"finalStage,omitempty"`
	Mode       string        `json:"mode,omitempty"`
	Changes    []SettingDiff `json:"changes"`
	Notes      []string      `json:"notes,omitempty"`
	// Stages previews each stage's members as the tenant stands now.
	Stages []StageDiff `json:"stages,omitempty"`
	// Unreadable are planned settings that could not be read.
	Unreadable []UnreadSetting `json:"unreadable,omitempty"`
	// Checks are the preflight's checks; a failed one is also a Blocker.
	Checks []Check `json:"checks,omitempty"`
	// BlastRadius says who a change reaches beyond the plan's stages.
	BlastRadius []string `json:"blastRadius,omitempty"`
	// Blockers are why the rollout would stop (exit 1 of plan diff).
	Blockers []string `json:"blockers,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// StageDiff is what a stage's member selection resolves to today: counts
// and a few names, never the list.
type StageDiff struct {
	Stage         string   `json:"stage"`
	Source        string   `json:"source"`
	ToAdd         int      `json:"toAdd"`
	Already       int      `json:"already"`
	Missing       int      `json:"missing,omitempty"`
	Excluded      int      `json:"excluded,omitempty"`
	Sample        []string `json:"sample,omitempty"`
	MissingSample []string `json:"missingSample,omitempty"`
	// Problem says why the stage would stop (missing members under
	// missingMembers: stop, a group that does not exist, a refused filter).
	Problem string `json:"problem,omitempty"`
}

// Differ previews a plan for an authenticated operator.
type Differ interface {
	Diff(ctx context.Context, tenant, rollout, operator string, req DiffRequest) (DiffReply, error)
}

// DiffTimeout bounds the worker's read of the tenant for one diff. Askers
// wait longer (DiffWait), so a slow tenant reaches them as the worker's
// deadline error, not as "no worker answered".
const (
	DiffTimeout = 60 * time.Second
	DiffWait    = DiffTimeout + 15*time.Second
)

// ServeDiffs answers diff requests until ctx ends (queue group; answers go
// only to the asker's own inbox, see serve).
func ServeDiffs(ctx context.Context, nc *nats.Conn, d Differ, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return serve(ctx, nc, "diff", DiffTimeout, logger, func(ctx context.Context, r request) any {
		var req DiffRequest
		err := decodeRequest(r.Data, MaxStartRequest, "diff", &req)
		var reply DiffReply
		if err == nil {
			reply, err = d.Diff(ctx, r.Tenant, r.Rollout, r.User, req)
		}
		if err != nil {
			reply = DiffReply{Error: err.Error()}
		}
		logger.Info("diff request", "tenant", r.Tenant, "rollout", r.Rollout, "operator", r.User, "changes", len(reply.Changes), "error", reply.Error)
		return reply
	})
}

// RequestDiff asks a worker to preview a plan as operator. nc must be the
// operator's own connection.
func RequestDiff(ctx context.Context, nc *nats.Conn, tenant, rollout, operator string, req DiffRequest, wait time.Duration) (DiffReply, error) {
	var reply DiffReply
	if err := ask(ctx, nc, "diff", tenant, rollout, operator, req, wait, "preview plans", &reply); err != nil {
		return DiffReply{}, err
	}
	if reply.Error != "" {
		return reply, errors.New(reply.Error)
	}
	return reply, nil
}
