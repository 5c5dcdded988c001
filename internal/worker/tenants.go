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
		cred, err := graph.NewCredential(credentialConfig(tc.Graph))
		if err != nil {
			return nil, fmt.Errorf("graph credential for %s: %w", tenant, err)
		}
		gc := graph.Config{BaseURL: tc.GraphURL, PortalURL: tc.PortalURL, Credential: cred, Mode: mode, Logger: logger}
		if tc.Portal != nil {
			if gc.PortalCredential, err = graph.NewCredential(credentialConfig(*tc.Portal)); err != nil {
				return nil, fmt.Errorf("portal credential for %s: %w", tenant, err)
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
		Secret:          plan.SecretRef{Env: secret.Env, File: secret.File},
		CertificateFile: c.CertificateFile,
	}
}
