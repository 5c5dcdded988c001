package localstack

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/devstack"
	"github.com/ssprflow/ssprflow/internal/entrasim"
)

// SignInKeyEnv holds the dev stack's portal token-cache key.
const SignInKeyEnv = "SSPRFLOW_DEV_PORTAL_CACHE_KEY"

// PortalSignIn switches cfg's portal credential from the simulator's
// static token to a device-code sign-in against the simulator's identity
// endpoints (HTTPS, CA written to the stack's directory), with the token
// cache in the stack's directory, encrypted with a key put in
// SignInKeyEnv. Nobody has signed in yet: run signin.Login (or
// `ssprflow-worker login portal`) and approve its code.
func (s *Stack) PortalSignIn(cfg *config.Config, dir string) error {
	host, err := s.Sim.StartIdentity("127.0.0.1:0")
	if err != nil {
		return err
	}
	ca := filepath.Join(dir, "identity-ca.pem")
	if err := os.WriteFile(ca, s.Sim.IdentityCA(), 0o644); err != nil {
		return err
	}
	if os.Getenv(SignInKeyEnv) == "" {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		os.Setenv(SignInKeyEnv, base64.StdEncoding.EncodeToString(key))
	}
	for i := range cfg.Tenants {
		cfg.Tenants[i].Portal = &config.Credential{Method: "device-code", Authority: host, AuthorityCAFile: ca,
			TenantID: s.Sim.TenantID(entrasim.DefaultTenant), CacheFile: filepath.Join(dir, "portal-token-cache"),
			CacheKey: config.Secret{Env: SignInKeyEnv}}
	}
	return nil
}

// WebClientID is the approval web app's client id in the simulator.
const WebClientID = "5eb5e1f0-0000-4000-8000-0000000a9900"

// webKeyEnv holds the dev stack's approval web session key.
const webKeyEnv = "SSPRFLOW_DEV_WEB_SESSION_KEY"

// ApprovalWeb turns on the approval web app for cfg on a free local port,
// with the simulator as its OpenID Connect provider: the app is registered
// with its redirect URI, and each person of cfg signs in as the tenant's
// user <id>@<tenant> (alice@contoso.onmicrosoft.com is alice). It returns
// the app's URL.
func (s *Stack) ApprovalWeb(cfg *config.Config, dir string) (string, error) {
	if _, err := s.Sim.StartIdentity("127.0.0.1:0"); err != nil {
		return "", err
	}
	ca := filepath.Join(dir, "identity-ca.pem")
	if err := os.WriteFile(ca, s.Sim.IdentityCA(), 0o644); err != nil {
		return "", err
	}
	addr, err := devstack.FreeAddr()
	if err != nil {
		return "", err
	}
	public := "http://" + addr
	s.Sim.RegisterWebApp(WebClientID, public+"/callback")
	if os.Getenv(webKeyEnv) == "" {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		os.Setenv(webKeyEnv, base64.StdEncoding.EncodeToString(key))
	}
	cfg.ApprovalWeb = &config.ApprovalWeb{Listen: addr, PublicURL: public, Issuer: s.Sim.Issuer(entrasim.DefaultTenant),
		ClientID: WebClientID, IssuerCAFile: ca, SessionKey: config.Secret{Env: webKeyEnv}}
	for i, p := range cfg.People {
		if oid, ok := s.Sim.UserID(entrasim.DefaultTenant, p.ID+"@"+entrasim.DefaultTenant); ok {
			cfg.People[i].Entra = append(cfg.People[i].Entra, oid)
		}
	}
	return public, nil
}
