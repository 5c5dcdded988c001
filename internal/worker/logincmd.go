package worker

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/entra/graph"
	"github.com/ssprflow/ssprflow/internal/signin"
)

// loginCmd is `ssprflow-worker login`: an admin signs in once, on the
// worker host, for the credentials that must be delegated (the portal's
// PasswordReset API). The refresh token goes into the encrypted cache the
// worker configuration names, and the worker refreshes from it for weeks;
// it never leaves this host (the operator CLI holds no tenant credential).
func loginCmd() *cmdline.Command {
	return &cmdline.Command{Name: "login", Summary: "sign in once for the delegated portal credential (device code flow)", Subs: []*cmdline.Command{
		{Name: "portal", Summary: "sign an Authentication Policy Administrator in for the portal's PasswordReset API", Run: runLoginPortal},
	}}
}

func runLoginPortal(ctx context.Context, io cmdline.IO, args []string) error {
	fs := flag.NewFlagSet("ssprflow-worker login portal", flag.ContinueOnError)
	fs.SetOutput(io.Err)
	cfgPath := fs.String("config", envConfig(), "worker configuration ($SSPRFLOW_CONFIG): tenants[].portal says where the cache is")
	tenant := fs.String("tenant", "", "the tenant, as tenants[].tenant names it")
	wait := fs.Duration("timeout", 15*time.Minute, "how long to wait for the sign-in")
	if err := fs.Parse(args); err != nil {
		return cmdline.Usage("%v", err)
	}
	switch {
	case *cfgPath == "":
		return cmdline.Usage("give the worker configuration: --config worker.yaml")
	case *tenant == "":
		return cmdline.Usage("say which tenant: --tenant contoso.onmicrosoft.com")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return cmdline.Failed(err)
	}
	tc, err := cfg.TenantFor(*tenant)
	if err != nil {
		return cmdline.Failed(err)
	}
	p := tc.Portal
	if p == nil || p.Method != string(graph.CredentialDeviceCode) {
		return cmdline.Failed(fmt.Errorf("%s: tenant %s has no portal credential with method device-code: add tenants[].portal: {method: device-code, tenantID, cacheFile, cacheKey}", *cfgPath, *tenant))
	}
	key, err := p.CacheKey.Require()
	if err != nil {
		return cmdline.Failed(fmt.Errorf("%s: tenants[].portal.cacheKey: %w", *cfgPath, err))
	}
	sc := credentialConfig(*p).SignIn(key)
	sc.Command = "ssprflow-worker login portal --tenant " + *tenant
	ctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	acct, err := signin.Login(ctx, sc, func(msg string) {
		fmt.Fprintln(io.Out, msg)
		fmt.Fprintln(io.Out, "Sign in as an Authentication Policy Administrator (or Global Administrator) of the tenant.")
	})
	if err != nil {
		return cmdline.Failed(err)
	}
	if st, err := os.Stat(p.CacheFile); err == nil {
		fmt.Fprintf(io.Out, "signed in as %s (tenant %s); token cache %s (%d bytes, encrypted, mode %v)\n", acct.UPN, acct.TenantID, p.CacheFile, st.Size(), st.Mode().Perm())
	}
	fmt.Fprintln(io.Out, "the worker now refreshes the portal token from this cache; sign in again only when a step says so")
	return nil
}
