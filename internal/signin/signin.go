// Package signin is delegated sign-in that outlasts a rollout: an admin
// signs in once on the worker host with the device code flow (MSAL for Go,
// a public client), the refresh token is kept in an encrypted cache file,
// and the worker acquires fresh access tokens silently for every request.
// The portal's PasswordReset API accepts only delegated tokens, which live
// about an hour; a rollout with a 24 h soak and a 72 h gate outlives many.
//
// Roles: the account that signs in needs Authentication Policy
// Administrator (or Global Administrator) for the PasswordReset policies;
// Hybrid Identity Administrator is not enough for the writeback toggles,
// which live in the same policy object.
package signin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/ssprflow/ssprflow/internal/config"
)

// DefaultAuthority is the Microsoft identity platform's host.
const DefaultAuthority = "https://login.microsoftonline.com"

// DefaultClientID is the public client the portal sign-in uses unless
// configured: Microsoft Azure PowerShell, a first-party public client that
// may request tokens for the portal's API with the device code flow.
const DefaultClientID = "1950a258-227b-4e31-a9cf-717495945fc2"

// Config says where and as whom to sign in, and where the cache is.
type Config struct {
	// Authority is the identity platform host (DefaultAuthority).
	Authority string
	// CAFile, when set, is the only CA trusted for Authority (the tenant
	// simulator's self-signed identity endpoints).
	CAFile   string
	TenantID string
	// ClientID is the public client (DefaultClientID).
	ClientID string
	// Scopes requested (the portal's: graph.PortalScope).
	Scopes []string
	// CacheFile holds the encrypted token cache; CacheKey encrypts it.
	CacheFile string
	CacheKey  []byte
	// Account is the UPN to use when the cache holds several.
	Account string
	// Command is what a person runs to sign in again, for error messages.
	Command string
}

func (c Config) withDefaults() Config {
	if c.Authority == "" {
		c.Authority = DefaultAuthority
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	c.Authority = strings.TrimSuffix(c.Authority, "/")
	if c.Command == "" {
		c.Command = "ssprflow-worker login portal --tenant " + c.TenantID
	}
	return c
}

func (c Config) client() (public.Client, error) {
	if c.TenantID == "" {
		return public.Client{}, errors.New("signin: tenantID is required")
	}
	fc, err := newFileCache(c.CacheFile, c.CacheKey, c.TenantID, c.ClientID)
	if err != nil {
		return public.Client{}, err
	}
	opts := []public.Option{public.WithAuthority(c.Authority + "/" + c.TenantID), public.WithCache(fc)}
	if c.CAFile != "" {
		pool, err := config.CAPool(c.CAFile)
		if err != nil {
			return public.Client{}, fmt.Errorf("signin: authority CA: %w", err)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		// A private authority is not in Microsoft's instance list.
		opts = append(opts, public.WithHTTPClient(&http.Client{Transport: tr, Timeout: time.Minute}), public.WithInstanceDiscovery(false))
	}
	return public.New(c.ClientID, opts...)
}

// Account is who signed in.
type Account struct {
	UPN      string
	TenantID string
	// ExpiresOn is when the access token just acquired expires.
	ExpiresOn time.Time
}

// Login runs the device code flow: show receives the message to give the
// person (open this page, enter this code); Login returns once they have
// signed in, and the cache then holds the refresh token.
func Login(ctx context.Context, cfg Config, show func(message string)) (Account, error) {
	cfg = cfg.withDefaults()
	pc, err := cfg.client()
	if err != nil {
		return Account{}, err
	}
	dc, err := pc.AcquireTokenByDeviceCode(ctx, cfg.Scopes)
	if err != nil {
		return Account{}, classify(cfg, err)
	}
	show(dc.Result.Message)
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		return Account{}, classify(cfg, err)
	}
	return Account{UPN: res.Account.PreferredUsername, TenantID: res.Account.Realm, ExpiresOn: res.ExpiresOn}, nil
}

// Credential acquires access tokens silently from the cache (refreshing
// with the refresh token, which rotates). It is what the worker gives the
// portal client.
type Credential struct {
	cfg Config
	pc  public.Client
}

// NewCredential checks cfg and returns the credential; it does not read the
// cache yet (a worker may start before anyone signed in).
func NewCredential(cfg Config) (*Credential, error) {
	cfg = cfg.withDefaults()
	pc, err := cfg.client()
	if err != nil {
		return nil, err
	}
	return &Credential{cfg: cfg, pc: pc}, nil
}

var _ azcore.TokenCredential = (*Credential)(nil)

// GetToken implements azcore.TokenCredential.
func (c *Credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = c.cfg.Scopes
	}
	accts, err := c.pc.Accounts(ctx)
	if err != nil {
		return azcore.AccessToken{}, classify(c.cfg, err)
	}
	var acct *public.Account
	for i := range accts {
		if c.cfg.Account == "" || strings.EqualFold(accts[i].PreferredUsername, c.cfg.Account) {
			acct = &accts[i]
			break
		}
	}
	if acct == nil {
		return azcore.AccessToken{}, &Error{Tenant: c.cfg.TenantID, Reason: "nobody has signed in for the portal on this worker (no account in " + c.cfg.CacheFile + ")", Fix: "run '" + c.cfg.Command + "' on the worker host"}
	}
	res, err := c.pc.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(*acct))
	if err != nil {
		return azcore.AccessToken{}, classify(c.cfg, err)
	}
	return azcore.AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn}, nil
}

// Error is a sign-in that retrying cannot fix: the refresh token expired
// or was revoked, consent is missing, or nobody signed in. A person must
// sign in again (Fix).
type Error struct {
	Tenant string
	// Code is the AADSTS error number, when the identity platform gave one.
	Code   string
	Reason string
	Fix    string
}

func (e *Error) Error() string {
	code := ""
	if e.Code != "" {
		code = " (AADSTS" + e.Code + ")"
	}
	return fmt.Sprintf("portal sign-in for tenant %s: %s%s: %s", e.Tenant, e.Reason, code, e.Fix)
}

var aadsts = regexp.MustCompile(`AADSTS(\d+)`)

// reasons are the AADSTS errors that need a person, and what they mean.
var reasons = map[string]string{
	"50173":  "the sign-in was revoked (sessions revoked or password changed)",
	"700082": "the refresh token expired after 90 days without use",
	"70043":  "the refresh token expired under a Conditional Access sign-in frequency",
	"50078":  "multifactor authentication is required again",
	"50076":  "multifactor authentication is required again",
	"65001":  "the application has no admin consent for the portal API in this tenant",
	"53003":  "Conditional Access blocked the sign-in",
	"50057":  "the account is disabled",
	"50126":  "the account's credentials are wrong",
	"70020":  "the device code expired before anyone signed in",
	"700016": "the application is not known in this tenant",
	"90002":  "the tenant does not exist",
}

// classify turns MSAL's errors into *Error when a person must act; others
// (network, 5xx) stay as they are, for retries.
func classify(cfg Config, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	if m := aadsts.FindStringSubmatch(msg); m != nil {
		if r, ok := reasons[m[1]]; ok {
			fix := "run '" + cfg.Command + "' on the worker host"
			if m[1] == "65001" {
				fix = "an admin grants consent for client " + cfg.ClientID + ", then run '" + cfg.Command + "'"
			}
			return &Error{Tenant: cfg.TenantID, Code: m[1], Reason: r, Fix: fix}
		}
	}
	if strings.Contains(msg, "invalid_grant") {
		return &Error{Tenant: cfg.TenantID, Reason: "the identity platform refused the refresh token", Fix: "run '" + cfg.Command + "' on the worker host"}
	}
	if errors.Is(err, ErrCacheKey) || strings.Contains(msg, "token cache") {
		return &Error{Tenant: cfg.TenantID, Reason: msg, Fix: "check portal.cacheKey, or run '" + cfg.Command + "' to sign in again"}
	}
	return fmt.Errorf("portal sign-in for tenant %s: %w", cfg.TenantID, err)
}
