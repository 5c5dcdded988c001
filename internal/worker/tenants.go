package worker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/entra/graph"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// TenantFactory builds Graph clients from the worker's configuration, one
// per tenant and policy mode, reused across activities.
func TenantFactory(cfg *config.Config, logger *slog.Logger) activities.TenantFactory {
	if logger == nil {
		logger = slog.Default()
	}
	var mu sync.Mutex
	cache := map[string]entra.Tenant{}
	return func(ctx context.Context, tenant string, mode plan.PolicyMode) (entra.Tenant, error) {
		key := strings.ToLower(tenant) + "|" + string(mode)
		mu.Lock()
		defer mu.Unlock()
		if t, ok := cache[key]; ok {
			return t, nil
		}
		tc, err := cfg.TenantFor(tenant)
		if err != nil {
			return nil, err
		}
		// The activity's error goes into workflow history, where operators
		// read it: it must not name the worker's files or variables, nor
		// tell which exist. The detail is the worker log's.
		cred, err := graph.NewCredential(credentialConfig(tc.Graph))
		if err != nil {
			logger.Error("tenant: graph credential could not be built", "tenant", tenant, "err", err)
			return nil, fmt.Errorf("the graph credential for %q could not be built (see the worker log)", tenant)
		}
		gc := graph.Config{BaseURL: tc.GraphURL, PortalURL: tc.PortalURL, Credential: cred, Mode: mode, Logger: logger,
			Budget: graphBudget(tc.GraphBudget)}
		if tc.Portal != nil {
			pc := credentialConfig(*tc.Portal)
			pc.LoginTenant = tenant
			if gc.PortalCredential, err = graph.NewCredential(pc); err != nil {
				logger.Error("tenant: portal credential could not be built", "tenant", tenant, "err", err)
				return nil, fmt.Errorf("the portal credential for %q could not be built (see the worker log)", tenant)
			}
		}
		c, err := graph.New(ctx, gc)
		if err != nil {
			return nil, err
		}
		cache[key] = c
		return c, nil
	}
}

func credentialConfig(c config.Credential) graph.CredentialConfig {
	secret := c.ClientSecret
	if c.Method == string(graph.CredentialToken) {
		secret = c.Token
	}
	return graph.CredentialConfig{
		Kind: graph.CredentialKind(c.Method), TenantID: c.TenantID, ClientID: c.ClientID,
		Secret:          secret,
		CertificateFile: c.CertificateFile,
		Authority:       c.Authority, AuthorityCAFile: c.AuthorityCAFile, CacheFile: c.CacheFile, CacheKey: c.CacheKey, Account: c.Account,
	}
}

// graphBudget maps the configured tier to Graph's documented budget.
func graphBudget(b *config.GraphBudget) *graph.Budget {
	out := graph.BudgetSmall
	if b == nil {
		return &out
	}
	switch b.Size {
	case "medium":
		out = graph.BudgetMedium
	case "large":
		out = graph.BudgetLarge
	case "off":
		return &graph.Budget{}
	}
	out = out.Scaled(b.WindowScale)
	return &out
}
