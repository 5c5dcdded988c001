package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/internal/roster"
)

// RosterInput names a stored roster and the group it is for.
type RosterInput struct {
	Plan    plan.Rollout `json:"plan"`
	Stage   string       `json:"stage"`
	GroupID string       `json:"groupId"`
	Roster  plan.ListRef `json:"roster"`
}

// Progress is a long membership step's heartbeat: how far through the
// roster it is. A retried attempt resumes from Done; `rollout status`
// shows it while the step runs.
type Progress struct {
	Done     int       `json:"done"`
	Total    int       `json:"total"`
	Added    int       `json:"added,omitempty"`
	Already  int       `json:"already,omitempty"`
	NotFound int       `json:"notFound,omitempty"`
	Removed  int       `json:"removed,omitempty"`
	Started  time.Time `json:"started"`
	// Rate is entries per second in this attempt.
	Rate float64 `json:"rate,omitempty"`
}

// RosterResult is what adding or removing a roster did, in counts.
type RosterResult struct {
	Added    int `json:"added,omitempty"`
	Already  int `json:"already,omitempty"`
	NotFound int `json:"notFound,omitempty"`
	Removed  int `json:"removed,omitempty"`
	// Resumed is how many attempts before this one had progressed.
	Resumed bool `json:"resumed,omitempty"`
}

// progressEvery is how often a membership step publishes a progress
// event (heartbeats go as often as the SDK lets them).
const progressEvery = 5 * time.Second

// AddRoster adds a roster's "+" entries to the group, 20 to a
// members@odata.bind PATCH, paced by the tenant's Graph budget. It
// heartbeats its offset: a retried attempt (a killed worker) reads the
// group's members once and skips whoever is already in, so nobody is added
// twice and nobody is lost.
func (a *Activities) AddRoster(ctx context.Context, in RosterInput) (RosterResult, error) {
	return a.walkRoster(ctx, in, "add", func(ctx context.Context, t entra.Tenant, ids []string, p *Progress) error {
		r, err := t.BindMembers(ctx, in.GroupID, ids)
		p.Added += len(r.Added)
		p.Already += len(r.Already)
		p.NotFound += len(r.NotFound)
		return err
	})
}

// RemoveRoster removes a roster's "+" entries from the group (compensation
// of AddRoster), 20 to a JSON batch; people who are not members any more
// are fine. It resumes from its heartbeat like AddRoster.
func (a *Activities) RemoveRoster(ctx context.Context, in RosterInput) (RosterResult, error) {
	return a.walkRoster(ctx, in, "remove", func(ctx context.Context, t entra.Tenant, ids []string, p *Progress) error {
		n, err := t.UnbindMembers(ctx, in.GroupID, ids)
		p.Removed += n
		return err
	})
}

func (a *Activities) walkRoster(ctx context.Context, in RosterInput, verb string,
	apply func(context.Context, entra.Tenant, []string, *Progress) error) (RosterResult, error) {
	var res RosterResult
	if a.Blobs == nil {
		return res, permanent(errtype.Permanent, errors.New("this worker has no blob store: rosters cannot be read"))
	}
	t, err := a.tenant(ctx, &in.Plan)
	if err != nil {
		return res, err
	}
	path, err := a.Blobs.Path(ctx, in.Roster.Digest)
	if err != nil {
		return res, classify(fmt.Errorf("%s members: read roster %s: %w", verb, in.Roster.Digest, err))
	}
	p := Progress{Total: in.Roster.Count, Started: time.Now().UTC()}
	resumed := false
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		var last Progress
		if activity.GetHeartbeatDetails(ctx, &last) == nil && last.Total == in.Roster.Count {
			p, resumed = last, true
			p.Rate = 0
		}
	}
	res.Resumed = resumed
	// After a crash the entries past the last heartbeat may already have
	// been written: read what the group holds now, once, and skip those.
	var present map[string]bool
	if resumed || (activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1) {
		present = map[string]bool{}
		if err := t.EachGroupMember(ctx, in.GroupID, false, func(u entra.User) error {
			present[u.ID] = true
			return nil
		}); err != nil {
			return res, classify(fmt.Errorf("%s members: read the group's members to resume: %w", verb, err))
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return res, err
	}
	defer f.Close()

	attemptStart, attemptDone := time.Now(), p.Done
	lastEvent := time.Time{}
	// The last progress recorded, for the heartbeats sent while a chunk
	// waits for Graph's budget: never ahead of what was written.
	var mu sync.Mutex
	last := p
	stop := keepAliveWith(ctx, func() any {
		mu.Lock()
		defer mu.Unlock()
		return last
	})
	defer stop()
	heartbeat := func() {
		if secs := time.Since(attemptStart).Seconds(); secs > 0 {
			p.Rate = float64(p.Done-attemptDone) / secs
		}
		mu.Lock()
		last = p
		mu.Unlock()
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, p)
			if time.Since(lastEvent) >= progressEvery {
				lastEvent = time.Now()
				a.progressEvent(ctx, &in, verb, p)
			}
		}
	}
	heartbeat()
	var chunk []string
	index := 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := apply(ctx, t, chunk, &p); err != nil {
			return err
		}
		p.Done = index
		chunk = chunk[:0]
		heartbeat()
		return nil
	}
	err = roster.Read(f, func(e roster.Entry) error {
		if e.Mark != roster.Add {
			return nil
		}
		index++
		if index <= p.Done {
			return nil
		}
		if present != nil {
			switch {
			case verb == "add" && present[e.ID]:
				p.Added++ // written by the attempt that died
				return nil
			case verb == "remove" && !present[e.ID]:
				p.Removed++
				return nil
			}
		}
		chunk = append(chunk, e.ID)
		if len(chunk) == entra.MaxBind {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	res.Added, res.Already, res.NotFound, res.Removed = p.Added, p.Already, p.NotFound, p.Removed
	if err != nil {
		return res, classify(fmt.Errorf("%s members of group %s (%d of %d done): %w", verb, in.GroupID, p.Done, p.Total, err))
	}
	p.Done = p.Total
	heartbeat()
	a.log().Info("roster applied", "verb", verb, "group", in.GroupID, "stage", in.Stage,
		"added", p.Added, "already", p.Already, "notFound", p.NotFound, "removed", p.Removed, "resumed", resumed)
	return res, nil
}

// progressEvent publishes "step.progress" for people following the
// rollout; losing one is harmless, so errors are only logged.
func (a *Activities) progressEvent(ctx context.Context, in *RosterInput, verb string, p Progress) {
	if a.Events == nil {
		return
	}
	info := activity.GetInfo(ctx)
	eta := ""
	if p.Rate > 0 && p.Total > p.Done {
		eta = (time.Duration(float64(p.Total-p.Done)/p.Rate) * time.Second).Round(time.Second).String()
	}
	ev := EventInput{
		ID:         fmt.Sprintf("%s/%s/progress/%d", info.WorkflowExecution.ID, info.ActivityID, p.Done),
		Tenant:     in.Plan.TenantToken(),
		Rollout:    in.Plan.Metadata.Name,
		WorkflowID: info.WorkflowExecution.ID,
		Kind:       approval.KindStepProgress,
		Stage:      in.Stage,
		Step:       "members",
		Detail:     fmt.Sprintf("%s members %d / %d", verb, p.Done, p.Total),
		Data: map[string]string{"done": fmt.Sprint(p.Done), "total": fmt.Sprint(p.Total),
			"rate": fmt.Sprintf("%.0f", p.Rate), "eta": eta},
		At: time.Now().UTC(),
	}
	if err := a.Events.PublishEvent(ctx, ev); err != nil {
		a.log().Debug("progress event not published", "err", err)
	}
}
