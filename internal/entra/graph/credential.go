package graph

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/signin"
)

// CredentialKind selects how a credential authenticates.
type CredentialKind string

// Credential kinds.
const (
	// CredentialSecret is an app registration's client secret.
	CredentialSecret CredentialKind = "client-secret"
	// CredentialCertificate is an app registration's certificate (PEM or
	// PKCS#12, with its private key).
	CredentialCertificate CredentialKind = "client-certificate"
	// CredentialWorkload is workload identity federation (a projected
	// service-account token file, e.g. on Kubernetes).
	CredentialWorkload CredentialKind = "workload-identity"
	// CredentialManaged is an Azure managed identity.
	CredentialManaged CredentialKind = "managed-identity"
	// CredentialToken is a bearer token obtained elsewhere (the simulator,
	// or a delegated portal token handed over by an operator).
	CredentialToken CredentialKind = "token"
	// CredentialDeviceCode is a delegated admin sign-in made once with the
	// device code flow and refreshed silently from an encrypted cache
	// (internal/signin): the portal API's credential for long rollouts.
	CredentialDeviceCode CredentialKind = "device-code"
)

// CredentialConfig describes a credential. Secrets are references resolved
// when NewCredential runs, never values.
type CredentialConfig struct {
	Kind     CredentialKind
	TenantID string
	ClientID string
	// Secret is the client secret (CredentialSecret) or the token (CredentialToken).
	Secret config.Secret
	// CertificateFile is a PEM or PKCS#12 file with certificate and key.
	CertificateFile string
	// CertificatePassword unlocks CertificateFile, if it is encrypted.
	CertificatePassword config.Secret
	// TokenFile is the federated token file (CredentialWorkload; default
	// $AZURE_FEDERATED_TOKEN_FILE).
	TokenFile string
	// ManagedIdentityClientID selects a user-assigned managed identity;
	// empty means the system-assigned one.
	ManagedIdentityClientID string
	// CredentialDeviceCode: the identity platform host, a private CA for it,
	// the encrypted cache and its key, and which account to use.
	Authority, AuthorityCAFile, CacheFile, Account string
	// LoginTenant is how the worker configuration names the tenant, for
	// the sign-in command an error tells a person to run.
	LoginTenant string
	CacheKey    config.Secret
}

// NewCredential builds an azcore.TokenCredential from cfg.
func NewCredential(cfg CredentialConfig) (azcore.TokenCredential, error) {
	need := func(name, v string) error {
		if v == "" {
			return fmt.Errorf("graph: credential %s: %s is required", cfg.Kind, name)
		}
		return nil
	}
	switch cfg.Kind {
	case CredentialSecret:
		if err := errors.Join(need("TenantID", cfg.TenantID), need("ClientID", cfg.ClientID)); err != nil {
			return nil, err
		}
		secret, err := cfg.Secret.Require()
		if err != nil {
			return nil, fmt.Errorf("graph: credential %s: client secret: %w", cfg.Kind, err)
		}
		return azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, secret, nil)
	case CredentialCertificate:
		if err := errors.Join(need("TenantID", cfg.TenantID), need("ClientID", cfg.ClientID),
			need("CertificateFile", cfg.CertificateFile)); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(cfg.CertificateFile)
		if err != nil {
			return nil, fmt.Errorf("graph: credential %s: read certificate: %w", cfg.Kind, err)
		}
		var password []byte
		if cfg.CertificatePassword != (config.Secret{}) {
			p, err := cfg.CertificatePassword.Require()
			if err != nil {
				return nil, fmt.Errorf("graph: credential %s: certificate password: %w", cfg.Kind, err)
			}
			password = []byte(p)
		}
		certs, key, err := azidentity.ParseCertificates(data, password)
		if err != nil {
			return nil, fmt.Errorf("graph: credential %s: parse %s: %w", cfg.Kind, cfg.CertificateFile, err)
		}
		return azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, key, nil)
	case CredentialWorkload:
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			TenantID: cfg.TenantID, ClientID: cfg.ClientID, TokenFilePath: cfg.TokenFile})
	case CredentialManaged:
		opts := &azidentity.ManagedIdentityCredentialOptions{}
		if cfg.ManagedIdentityClientID != "" {
			opts.ID = azidentity.ClientID(cfg.ManagedIdentityClientID)
		}
		return azidentity.NewManagedIdentityCredential(opts)
	case CredentialDeviceCode:
		key, err := cfg.CacheKey.Require()
		if err != nil {
			return nil, fmt.Errorf("graph: credential %s: cache key: %w", cfg.Kind, err)
		}
		return signin.NewCredential(cfg.SignIn(key))
	case CredentialToken:
		tok, err := cfg.Secret.Require()
		if err != nil {
			return nil, fmt.Errorf("graph: credential %s: %w", cfg.Kind, err)
		}
		return StaticToken(tok), nil
	case "":
		return nil, errors.New("graph: credential: Kind is required")
	default:
		return nil, fmt.Errorf("graph: credential: unknown kind %q (want %s, %s, %s, %s, %s or %s)", cfg.Kind,
			CredentialSecret, CredentialCertificate, CredentialWorkload, CredentialManaged, CredentialToken, CredentialDeviceCode)
	}
}

// CredentialFromEnv builds a credential from environment variables named
// PREFIX_* (prefix "AZURE" gives azidentity's usual names), first match wins:
//
//	PREFIX_ACCESS_TOKEN or PREFIX_ACCESS_TOKEN_FILE           -> static token
//	PREFIX_CLIENT_SECRET or PREFIX_CLIENT_SECRET_FILE         -> client secret
//	PREFIX_CLIENT_CERTIFICATE_PATH (+ _PASSWORD[_FILE])       -> client certificate
//	PREFIX_FEDERATED_TOKEN_FILE                               -> workload identity
//	PREFIX_USE_MANAGED_IDENTITY=true (+ PREFIX_CLIENT_ID)     -> managed identity
//
// with PREFIX_TENANT_ID and PREFIX_CLIENT_ID where the kind needs them.
func CredentialFromEnv(prefix string) (azcore.TokenCredential, error) {
	cfg, err := credentialConfigFromEnv(prefix, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	return NewCredential(cfg)
}

func credentialConfigFromEnv(prefix string, lookup func(string) (string, bool)) (CredentialConfig, error) {
	if prefix == "" {
		prefix = "AZURE"
	}
	prefix = strings.TrimSuffix(prefix, "_") + "_"
	has := func(name string) bool { v, ok := lookup(prefix + name); return ok && v != "" }
	get := func(name string) string { v, _ := lookup(prefix + name); return v }
	ref := func(name string) config.Secret {
		if has(name) {
			return config.Secret{Env: prefix + name}
		}
		return config.Secret{File: get(name + "_FILE")}
	}
	cfg := CredentialConfig{TenantID: get("TENANT_ID"), ClientID: get("CLIENT_ID")}
	switch {
	case has("ACCESS_TOKEN") || has("ACCESS_TOKEN_FILE"):
		cfg.Kind, cfg.Secret = CredentialToken, ref("ACCESS_TOKEN")
	case has("CLIENT_SECRET") || has("CLIENT_SECRET_FILE"):
		cfg.Kind, cfg.Secret = CredentialSecret, ref("CLIENT_SECRET")
	case has("CLIENT_CERTIFICATE_PATH"):
		cfg.Kind, cfg.CertificateFile = CredentialCertificate, get("CLIENT_CERTIFICATE_PATH")
		if has("CLIENT_CERTIFICATE_PASSWORD") || has("CLIENT_CERTIFICATE_PASSWORD_FILE") {
			cfg.CertificatePassword = ref("CLIENT_CERTIFICATE_PASSWORD")
		}
	case has("FEDERATED_TOKEN_FILE"):
		cfg.Kind, cfg.TokenFile = CredentialWorkload, get("FEDERATED_TOKEN_FILE")
	case strings.EqualFold(get("USE_MANAGED_IDENTITY"), "true"):
		cfg.Kind, cfg.ManagedIdentityClientID = CredentialManaged, cfg.ClientID
	default:
		return cfg, fmt.Errorf("graph: credential from environment: none of %[1]sACCESS_TOKEN[_FILE], "+
			"%[1]sCLIENT_SECRET[_FILE], %[1]sCLIENT_CERTIFICATE_PATH, %[1]sFEDERATED_TOKEN_FILE, "+
			"%[1]sUSE_MANAGED_IDENTITY is set", prefix)
	}
	return cfg, nil
}

// StaticToken is a credential that always returns token (for the simulator,
// or a token obtained elsewhere). It never refreshes.
func StaticToken(token string) azcore.TokenCredential { return staticToken(token) }

type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if s == "" {
		return azcore.AccessToken{}, errors.New("graph: static token is empty")
	}
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// SignIn is the sign-in configuration of a device-code credential, for the
// portal's scope, with the resolved cache key.
func (cfg CredentialConfig) SignIn(key string) signin.Config {
	sc := signin.Config{Authority: cfg.Authority, CAFile: cfg.AuthorityCAFile, TenantID: cfg.TenantID, ClientID: cfg.ClientID,
		Scopes: []string{PortalScope}, CacheFile: cfg.CacheFile, CacheKey: []byte(key), Account: cfg.Account}
	if cfg.LoginTenant != "" && cfg.LoginTenant != "*" {
		sc.Command = "ssprflow-worker login portal --tenant " + cfg.LoginTenant
	}
	return sc
}
