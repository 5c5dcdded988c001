package worker

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/approvalweb"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/workflows"
)

// webRollouts reads rollouts for the approval web app from Temporal:
// visibility finds the waiting ones, the state query says what they wait on.
type webRollouts struct{ c client.Client }

func (w webRollouts) Waiting(ctx context.Context) ([]workflows.State, error) {
	q := fmt.Sprintf("%s = '%s' AND ExecutionStatus = 'Running'", workflows.SAState, workflows.StatusWaiting)
	var out []workflows.State
	var token []byte
	for {
		resp, err := w.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token, PageSize: 100})
		if err != nil {
			return nil, err
		}
		for _, e := range resp.GetExecutions() {
			st, err := w.State(ctx, e.GetExecution().GetWorkflowId())
			if err == nil {
				out = append(out, st)
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 || len(out) >= 500 {
			return out, nil
		}
	}
}

func (w webRollouts) State(ctx context.Context, id string) (workflows.State, error) {
	var st workflows.State
	v, err := w.c.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// serveApprovalWeb runs the approval web app until ctx ends.
func serveApprovalWeb(ctx context.Context, cfg *config.Config, tc client.Client, d approvalweb.Decider, logger *slog.Logger, ready func(addr string)) error {
	aw := cfg.ApprovalWeb
	keyText, err := aw.SessionKey.Require()
	if err != nil {
		return fmt.Errorf("approvalWeb.sessionKey: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keyText))
	if err != nil {
		return errors.New("approvalWeb.sessionKey: not base64 (make one with: openssl rand -base64 32)")
	}
	secret, err := aw.ClientSecret.Resolve()
	if err != nil {
		return fmt.Errorf("approvalWeb.clientSecret: %w", err)
	}
	var hc *http.Client
	if aw.IssuerCAFile != "" {
		pool, err := config.CAPool(aw.IssuerCAFile)
		if err != nil {
			return fmt.Errorf("approvalWeb.issuerCAFile: %w", err)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		hc = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	app, err := approvalweb.New(ctx, approvalweb.Config{PublicURL: aw.PublicURL, Issuer: aw.Issuer, ClientID: aw.ClientID,
		ClientSecret: secret, HTTPClient: hc, SessionKey: key, SelfApproval: cfg.Policy.AllowSelfApproval, Logger: logger},
		webRollouts{c: tc}, d, cfg.PersonByEntra)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", aw.Listen)
	if err != nil {
		return fmt.Errorf("approvalWeb.listen %s: %w", aw.Listen, err)
	}
	logger.Info("approval web app serving", "listen", ln.Addr().String(), "publicURL", aw.PublicURL)
	if ready != nil {
		ready(ln.Addr().String())
	}
	return serveUntil(ctx, ln, app.Handler(), aw.CertFile, aw.KeyFile)
}

// recordedDecider records each decision of the web app in the rollout's
// audit trail, as the bridge does for those that arrive over NATS: the
// events stream shows every decision, whichever way it came.
type recordedDecider struct {
	d      *Decider
	js     jetstream.JetStream
	logger *slog.Logger
}

func (r recordedDecider) DecideAs(ctx context.Context, id string, person config.Person, via string, dec approval.Decision) (approval.Verdict, error) {
	v, err := r.d.DecideAs(ctx, id, person, via, dec)
	if err != nil {
		return v, err
	}
	tenant, rollout, ok := workflows.ParseWorkflowID(id)
	if !ok {
		return v, nil // not a rollout: the workflow refused it, there is nothing to record
	}
	dec.Approver = person.ID
	// Applied is applied: the history holds the decision even if the event
	// cannot be stored now, so the person gets the verdict either way.
	for attempt := 0; attempt < 3; attempt++ {
		if err = approval.RecordDecision(ctx, r.js, tenant, rollout, via, dec, v); err == nil {
			return v, nil
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	r.logger.Warn("approval web app: decision applied but not recorded in the events stream", "rollout", id, "decision", dec.ID, "error", err)
	return v, nil
}
