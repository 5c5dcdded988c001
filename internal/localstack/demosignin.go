package localstack

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/entra/graph"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/signin"
)

// demoAdmin is who signs in for the portal in the demo.
const demoAdmin = "admin@" + entrasim.DefaultTenant

var userCode = regexp.MustCompile(`enter the code ([A-Z0-9]+)`)

// portalSignIn signs the demo's admin in for the portal API the way an
// admin does on a worker host (`ssprflow-worker login portal`): device
// code, here approved through the simulator as the browser step would.
// Access tokens then live one simulated hour (a second of the demo), so
// the rollout runs on tokens the worker refreshes silently.
func portalSignIn(ctx context.Context, st *Stack, cfg *config.Config, dir string, say func(string, ...any)) error {
	st.Sim.SetIdentity(entrasim.Identity{AccessTokenLifetime: time.Hour})
	if err := st.PortalSignIn(cfg, dir); err != nil {
		return fmt.Errorf("portal sign-in: %w", err)
	}
	p := cfg.Tenants[0].Portal
	sc := graph.CredentialConfig{Kind: graph.CredentialDeviceCode, TenantID: p.TenantID, Authority: p.Authority,
		AuthorityCAFile: p.AuthorityCAFile, CacheFile: p.CacheFile}.SignIn(os.Getenv(SignInKeyEnv))
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	acct, err := signin.Login(ctx, sc, func(msg string) {
		say("  portal    %s\n", msg)
		if m := userCode.FindStringSubmatch(msg); m != nil {
			if err := st.Sim.ApproveDeviceCode(m[1], demoAdmin); err == nil {
				say("            (demo: %s signs in with that code, as in a browser)\n", demoAdmin)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("portal sign-in: %w", err)
	}
	say("            signed in as %s; refresh token in %s (encrypted); access tokens live 1 simulated hour\n", acct.UPN, p.CacheFile)
	return nil
}
