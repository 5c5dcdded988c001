package localstack

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"

	"github.com/ssprflow/ssprflow/internal/config"
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
