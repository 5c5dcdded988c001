package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/approvalweb"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/notify"
	"github.com/ssprflow/ssprflow/workflows"
)

// notifyKinds are the events people are told of, with a title.
var notifyKinds = map[approval.EventKind]func(in activities.EventInput) string{
	approval.KindGateOpened:        func(in activities.EventInput) string { return "Gate " + in.Stage + " opened" },
	approval.KindApprovalRequested: func(in activities.EventInput) string { return "Decision needed: " + in.Stage + " " + in.Step },
	approval.KindGatePassed:        func(in activities.EventInput) string { return "Gate " + in.Stage + " passed" },
	approval.KindGateFailed:        func(in activities.EventInput) string { return "Gate " + in.Stage + " failed" },
	approval.KindGateRejected:      func(in activities.EventInput) string { return "Gate " + in.Stage + " rejected" },
	approval.KindGateExpired:       func(in activities.EventInput) string { return "Gate " + in.Stage + " expired" },
	approval.KindGateExpiring:      func(in activities.EventInput) string { return "Gate " + in.Stage + " expires soon: decide now" },
	approval.KindStepFailed:        func(in activities.EventInput) string { return "Step " + in.Stage + "/" + in.Step + " failed" },
	approval.KindStepNeedsHuman:    func(in activities.EventInput) string { return "Manual task waiting: " + in.Stage + "/" + in.Step },
	approval.KindRolloutSucceeded:  func(activities.EventInput) string { return "Rollout succeeded" },
	approval.KindRolloutFailed:     func(activities.EventInput) string { return "Rollout failed" },
	approval.KindRolloutRolledBack: func(activities.EventInput) string { return "Rollout rolled back" },
	approval.KindRolloutCancelled:  func(activities.EventInput) string { return "Rollout cancelled" },
	"rollout.reverted":             func(activities.EventInput) string { return "Rollout reverted" },
	approval.KindDriftDetected:     func(activities.EventInput) string { return "Drift found: the tenant no longer matches the plan" },
	approval.KindDriftFailed:       func(activities.EventInput) string { return "Drift check failed: the tenant is not being watched" },
}

// Notification outcomes recorded on the events stream.
const (
	KindNotificationSent   approval.EventKind = "notification.sent"
	KindNotificationFailed approval.EventKind = "notification.failed"
)

// notifyingEvents publishes events and tells people of the ones they act
// on. Notifications run in the background: a slow or broken webhook never
// delays or fails the rollout's event activity.
type notifyingEvents struct {
	*Events
	cfg    *config.Config
	logger *slog.Logger
	mu     sync.Mutex
	seen   map[string]bool // event ids already notified (the activity may retry)
}

func (n *notifyingEvents) PublishEvent(ctx context.Context, in activities.EventInput) error {
	err := n.Events.PublishEvent(ctx, in)
	title, ok := notifyKinds[in.Kind]
	if !ok {
		return err
	}
	n.mu.Lock()
	if n.seen == nil || len(n.seen) > 10000 {
		n.seen = map[string]bool{}
	}
	dup := n.seen[in.ID]
	n.seen[in.ID] = true
	n.mu.Unlock()
	if dup {
		return err
	}
	nt := n.notifier(in)
	if nt == nil {
		return err
	}
	m := notify.Message{Kind: string(in.Kind), Title: title(in), Text: messageText(in), Rollout: in.WorkflowID,
		Tenant: in.Tenant, Plan: in.Rollout, Stage: in.Stage, Gate: in.Stage, Link: n.link(in), At: in.At}
	nt.Send(m)
	return err
}

func messageText(in activities.EventInput) string {
	parts := []string{}
	if in.Outcome != "" {
		parts = append(parts, in.Outcome)
	}
	if in.Detail != "" {
		parts = append(parts, in.Detail)
	}
	if len(parts) == 0 {
		return string(in.Kind)
	}
	return strings.Join(parts, ": ")
}

func (n *notifyingEvents) link(in activities.EventInput) string {
	aw := n.cfg.ApprovalWeb
	if aw == nil || aw.PublicURL == "" || in.Stage == workflows.WatchStage {
		return "" // a drift check has no gate to link to
	}
	return approvalweb.GateLink(aw.PublicURL, in.WorkflowID, in.Stage)
}

// notifier builds the channels configured for the event's tenant; a
// channel whose secret cannot be read is left out (and logged).
func (n *notifyingEvents) notifier(in activities.EventInput) *notify.Notifier {
	var nc *config.Notification
	for i := range n.cfg.Notifications {
		t := n.cfg.Notifications[i].Tenant
		if t == "*" || strings.EqualFold(strings.ReplaceAll(t, ".", "_"), in.Tenant) || strings.EqualFold(t, in.Tenant) {
			nc = &n.cfg.Notifications[i]
			break
		}
	}
	if nc == nil {
		return nil
	}
	var chans []notify.Channel
	if nc.Teams != nil {
		if u, err := nc.Teams.URL.Require(); err == nil {
			chans = append(chans, notify.Teams{URL: u})
		} else {
			n.logger.Error("notifications: teams webhook URL", "err", err)
		}
	}
	if nc.Slack != nil {
		if u, err := nc.Slack.URL.Require(); err == nil {
			chans = append(chans, notify.Slack{URL: u})
		} else {
			n.logger.Error("notifications: slack webhook URL", "err", err)
		}
	}
	if e := nc.Email; e != nil {
		pw, err := e.Password.Resolve()
		var tc *tls.Config
		if err == nil && e.CAFile != "" {
			var pool *x509.CertPool
			if pool, err = config.CAPool(e.CAFile); err == nil {
				tc = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
			}
		}
		if err == nil {
			chans = append(chans, notify.SMTP{Addr: e.Addr, From: e.From, To: e.To, Username: e.Username, Password: pw, TLS: tc})
		} else {
			n.logger.Error("notifications: email", "err", err)
		}
	}
	return &notify.Notifier{Channels: chans, Logger: n.logger, Done: func(m notify.Message, r notify.Result) {
		kind, detail := KindNotificationSent, fmt.Sprintf("%s after %d attempt(s)", r.Channel, r.Attempts)
		if r.Err != nil {
			kind, detail = KindNotificationFailed, fmt.Sprintf("%s after %d attempt(s): %v", r.Channel, r.Attempts, r.Err)
		}
		ev := activities.EventInput{ID: approval.NewDecisionID(), Tenant: in.Tenant, Rollout: in.Rollout, WorkflowID: in.WorkflowID,
			Kind: kind, Stage: in.Stage, Step: in.Step, Outcome: r.Channel, Detail: detail + " (for " + m.Kind + ")", At: m.At}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Events.PublishEvent(ctx, ev); err != nil {
			n.logger.Warn("notifications: record the outcome", "err", err)
		}
	}}
}
