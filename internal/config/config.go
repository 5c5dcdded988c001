// Package config is the worker's configuration: where Temporal and NATS
// are, and how to authenticate to each tenant. Secrets are never values in
// this file, only references (an environment variable or a file), so the
// file itself can live in version control.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/yamldoc"
)

// Config is a worker configuration file.
type Config struct {
	Temporal Temporal `yaml:"temporal"`
	NATS     NATS     `yaml:"nats"`
	Tenants  []Tenant `yaml:"tenants"`
	// Directories are the on-premises AD DS profiles plans may name (see
	// Directory).
	Directories []Directory `yaml:"directories,omitempty"`
	// People map authenticated identities to persons (see Person).
	People []Person `yaml:"people,omitempty"`
	// Policy is what no plan can decide for itself.
	Policy Policy `yaml:"policy,omitempty"`
	// Signing keys authenticate decisions and starts to the workflow.
	Signing *Signing `yaml:"signing,omitempty"`
	// Metrics is the Prometheus listen address (empty = off). It serves
	// /healthz and /readyz too, unless Health has its own address.
	Metrics string `yaml:"metrics,omitempty"`
	// Health serves /healthz and /readyz on their own address.
	Health *Health `yaml:"health,omitempty"`
	// ShutdownTimeout bounds how long a stopping worker (SIGTERM) lets
	// running activities finish before it cancels them (default 20s; keep
	// it below the orchestrator's grace period).
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout,omitempty"`
	// TaskQueue overrides the main task queue.
	TaskQueue string `yaml:"taskQueue,omitempty"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"logLevel,omitempty"`
	// Notifications say where people hear of gates, tasks, failures and
	// ends, per tenant (the first entry matching a plan's tenant, "*" any).
	Notifications []Notification `yaml:"notifications,omitempty"`
	// ApprovalWeb serves the approval web app (empty = off).
	ApprovalWeb *ApprovalWeb `yaml:"approvalWeb,omitempty"`
	// BlobCache is a directory for verified copies of plans, member lists
	// and rosters read from NATS (default: ssprflow-blobs in the OS cache
	// or temporary directory).
	BlobCache string `yaml:"blobCache,omitempty"`
}

// Notification is one tenant's notification channels. Webhook URLs carry
// their own credential: they are secret references, like passwords.
type Notification struct {
	Tenant string       `yaml:"tenant"`
	Teams  *Webhook     `yaml:"teams,omitempty"`
	Slack  *Webhook     `yaml:"slack,omitempty"`
	Email  *EmailNotify `yaml:"email,omitempty"`
}

// Webhook is a webhook URL, as a secret reference.
type Webhook struct {
	URL Secret `yaml:"url"`
}

// EmailNotify sends through an SMTP submission server with STARTTLS.
type EmailNotify struct {
	Addr     string   `yaml:"addr"` // host:port, e.g. smtp.office365.com:587
	From     string   `yaml:"from"`
	To       []string `yaml:"to"`
	Username string   `yaml:"username,omitempty"`
	Password Secret   `yaml:"password,omitempty"`
	// CAFile pins a private CA for the server.
	CAFile string `yaml:"caFile,omitempty"`
}

// ApprovalWeb is the approval web app: approvers sign in with OpenID
// Connect (Microsoft Entra ID) and decide gates in the browser.
type ApprovalWeb struct {
	// Listen is the address to serve on, e.g. ":8443" or "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// PublicURL is the app's address as approvers reach it; PublicURL +
	// "/callback" is the redirect URI registered on the Entra app.
	PublicURL string `yaml:"publicURL"`
	// Issuer is https://login.microsoftonline.com/<tenant id>/v2.0.
	Issuer   string `yaml:"issuer"`
	ClientID string `yaml:"clientID"`
	// ClientSecret is for a confidential (web) client; omit for PKCE only.
	ClientSecret Secret `yaml:"clientSecret,omitempty"`
	// IssuerCAFile pins a private CA for the issuer (the tenant simulator).
	IssuerCAFile string `yaml:"issuerCAFile,omitempty"`
	// SessionKey signs session cookies: 32+ random bytes, base64, the same
	// on every worker (openssl rand -base64 32).
	SessionKey Secret `yaml:"sessionKey"`
	// CertFile and KeyFile serve https; without them the app serves http
	// for a TLS-terminating proxy in front (cookies are Secure when
	// publicURL is https).
	CertFile string `yaml:"certFile,omitempty"`
	KeyFile  string `yaml:"keyFile,omitempty"`
}

// Temporal says how to reach the Temporal frontend.
type Temporal struct {
	Address   string `yaml:"address"`
	Namespace string `yaml:"namespace,omitempty"`
	// TLS to a Temporal cluster or Temporal Cloud (mTLS with cert+key).
	TLS *TLS `yaml:"tls,omitempty"`
	// APIKey for Temporal Cloud API-key auth (a reference, never the key).
	APIKey Secret `yaml:"apiKey,omitempty"`
	// Codec encrypts every payload (see Codec); a worker requires it.
	Codec *Codec `yaml:"codec,omitempty"`
	// CodecServer, when set, serves the Web UI's codec endpoint.
	CodecServer *CodecServer `yaml:"codecServer,omitempty"`
}

// TLS files.
type TLS struct {
	CAFile     string `yaml:"caFile,omitempty"`
	CertFile   string `yaml:"certFile,omitempty"`
	KeyFile    string `yaml:"keyFile,omitempty"`
	ServerName string `yaml:"serverName,omitempty"`
}

// NATS says how to reach NATS.
type NATS struct {
	URL string `yaml:"url"`
	// CredsFile is a NATS .creds file (JWT + NKey seed).
	CredsFile string `yaml:"credsFile,omitempty"`
	User      string `yaml:"user,omitempty"`
	Password  Secret `yaml:"password,omitempty"`
	TLS       *TLS   `yaml:"tls,omitempty"`
	// Streams sizes and places the JetStream streams (see Streams).
	Streams Streams `yaml:"streams,omitempty"`
}

// Health is the address of the worker's probes: /healthz (the process
// serves) and /readyz (connected to Temporal and NATS, streams as
// configured).
type Health struct {
	// Listen is host:port, e.g. ":8081".
	Listen string `yaml:"listen"`
}

// DefaultShutdownTimeout is ShutdownTimeout's default: below Kubernetes'
// default 30 s grace period, with room for the rest of the shutdown.
const DefaultShutdownTimeout = 20 * time.Second

// Tenant holds how the worker reaches one Entra tenant.
type Tenant struct {
	// Tenant matches a plan's metadata.tenant ("*" matches any).
	Tenant    string `yaml:"tenant"`
	GraphURL  string `yaml:"graphURL,omitempty"`
	PortalURL string `yaml:"portalURL,omitempty"`
	// Graph is the application credential for Microsoft Graph.
	Graph Credential `yaml:"graph"`
	// Portal is the delegated credential for the portal's PasswordReset API
	// (only for plans with ssprPolicy.mode: portal-api, and for read-back).
	Portal *Credential `yaml:"portal,omitempty"`
	// GraphBudget is the Graph throttling budget the worker paces its
	// requests to this tenant by (default: the small-tenant budget).
	GraphBudget *GraphBudget `yaml:"graphBudget,omitempty"`
}

// GraphBudget picks Graph's documented identity-and-access budget tier.
type GraphBudget struct {
	// Size is small (3,500 resource units per 10 s), medium (5,000), large
	// (8,000) or off (no pacing: only Retry-After). Writes are 3,000 per
	// 2.5 min and reports 5 per 10 s at every size.
	Size string `yaml:"size,omitempty"`
	// WindowScale divides the budget windows: only for the tenant
	// simulator, whose clock runs faster than real time.
	WindowScale float64 `yaml:"windowScale,omitempty"`
}

// Credential configures an azidentity credential, or a static bearer token
// (for the simulator).
type Credential struct {
	// Method: client-secret, client-certificate, workload-identity,
	// managed-identity, or token.
	Method          string `yaml:"method"`
	TenantID        string `yaml:"tenantID,omitempty"`
	ClientID        string `yaml:"clientID,omitempty"`
	ClientSecret    Secret `yaml:"clientSecret,omitempty"`
	CertificateFile string `yaml:"certificateFile,omitempty"`
	Token           Secret `yaml:"token,omitempty"`
	// device-code (the portal only): an admin signs in once with
	// `ssprflow-worker login portal --tenant T`; the refresh token is kept
	// in CacheFile, encrypted with CacheKey, and access tokens are acquired
	// silently. Authority defaults to https://login.microsoftonline.com;
	// AuthorityCAFile pins a private CA (the tenant simulator).
	Authority       string `yaml:"authority,omitempty"`
	AuthorityCAFile string `yaml:"authorityCAFile,omitempty"`
	CacheFile       string `yaml:"cacheFile,omitempty"`
	CacheKey        Secret `yaml:"cacheKey,omitempty"`
	// Account picks the signed-in UPN when the cache holds several.
	Account string `yaml:"account,omitempty"`
}

// Secret is a reference to a secret: an environment variable or a file.
type Secret struct {
	Env  string `yaml:"env,omitempty"`
	File string `yaml:"file,omitempty"`
}

// Resolve reads the secret: the environment variable's value or the file's
// content, either without a trailing line break (a Kubernetes secret made
// from a file puts one in the variable too). An empty reference
// resolves to "" (an optional secret); see Require. This is the one
// resolver: the Graph credential, the directory bind, NATS, Temporal and the
// codec keys all read their secrets through it, with the same rules.
func (s Secret) Resolve() (string, error) {
	switch {
	case s.Env != "" && s.File != "":
		return "", errors.New("set env or file, not both")
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		return strings.TrimRight(v, "\r\n"), nil
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

// Require resolves a secret that must be there: an empty reference, an
// empty variable or an empty file is an error.
func (s Secret) Require() (string, error) {
	if s.IsZero() {
		return "", errors.New("no env or file given")
	}
	v, err := s.Resolve()
	switch {
	case err != nil:
		return "", err
	case v != "":
		return v, nil
	case s.Env != "":
		return "", fmt.Errorf("environment variable %s is empty", s.Env)
	}
	return "", errors.New("the secret file is empty")
}

// IsZero reports an empty reference.
func (s Secret) IsZero() bool { return s.Env == "" && s.File == "" }

// Load reads a configuration file, strictly: an unknown key is an error.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, b)
}

// Parse decodes configuration bytes; name is used in errors. Malformed YAML
// and unknown keys come back as *yamldoc.Error values (every unknown key at
// once, with the nearest known one), naming name and the line.
func Parse(name string, b []byte) (*Config, error) {
	root, err := yamldoc.Parse(name, b)
	if err != nil {
		return nil, err
	}
	var c Config
	if root != nil {
		if err := yamldoc.CheckKeys(name, root, reflect.TypeFor[Config]()); err != nil {
			return nil, err
		}
		// Strict still: CheckKeys leaves aliases and merge keys to the
		// decoder.
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

// Validate checks the configuration and applies defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.Temporal.Address == "" {
		errs = append(errs, errors.New("temporal.address is required (host:port of the Temporal frontend)"))
	}
	errs = append(errs, c.validateIdentity()...)
	errs = append(errs, c.validateDirectories()...)
	errs = append(errs, c.Temporal.validateCodec()...)
	if c.Temporal.Namespace == "" {
		c.Temporal.Namespace = "default"
	}
	errs = append(errs, c.NATS.Streams.validate()...)
	if c.Health != nil && c.Health.Listen == "" {
		errs = append(errs, errors.New("health.listen is required when health is set (host:port for /healthz and /readyz, e.g. \":8081\"; or remove health to serve them on metrics)"))
	}
	switch {
	case c.ShutdownTimeout < 0:
		errs = append(errs, fmt.Errorf("shutdownTimeout %v: must be positive, e.g. 20s (or omit it for the default %v)", c.ShutdownTimeout, DefaultShutdownTimeout))
	case c.ShutdownTimeout == 0:
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	for i, t := range c.Tenants {
		if t.Tenant == "" {
			errs = append(errs, fmt.Errorf("tenants[%d].tenant is required", i))
		}
		switch t.Graph.Method {
		case "client-secret", "client-certificate", "workload-identity", "managed-identity", "token":
		default:
			errs = append(errs, fmt.Errorf("tenants[%d].graph.method %q: use client-secret, client-certificate, workload-identity, managed-identity or token", i, t.Graph.Method))
		}
		if p := t.Portal; p != nil {
			switch p.Method {
			case "device-code":
				if p.TenantID == "" || p.CacheFile == "" || p.CacheKey == (Secret{}) {
					errs = append(errs, fmt.Errorf("tenants[%d].portal: method device-code needs tenantID, cacheFile and cacheKey (a secret reference; make a key with: openssl rand -base64 32)", i))
				}
			case "token", "client-secret", "client-certificate", "workload-identity", "managed-identity":
			default:
				errs = append(errs, fmt.Errorf("tenants[%d].portal.method %q: use device-code (a delegated admin sign-in that lasts, see ssprflow-worker login portal) or token", i, p.Method))
			}
		}
		if b := t.GraphBudget; b != nil {
			switch b.Size {
			case "", "small", "medium", "large", "off":
			default:
				errs = append(errs, fmt.Errorf("tenants[%d].graphBudget.size %q: use small, medium, large or off (Graph's identity-and-access tiers)", i, b.Size))
			}
			if b.WindowScale < 0 {
				errs = append(errs, fmt.Errorf("tenants[%d].graphBudget.windowScale %v: must be positive (or omitted)", i, b.WindowScale))
			}
		}
	}
	return errors.Join(errs...)
}

// TenantFor returns the tenant entry for a plan's tenant.
func (c *Config) TenantFor(tenant string) (*Tenant, error) {
	for i := range c.Tenants {
		if strings.EqualFold(c.Tenants[i].Tenant, tenant) {
			return &c.Tenants[i], nil
		}
	}
	for i := range c.Tenants {
		if c.Tenants[i].Tenant == "*" {
			return &c.Tenants[i], nil
		}
	}
	return nil, fmt.Errorf("this worker has no credentials for tenant %q: add it under tenants: in the worker configuration", tenant)
}
