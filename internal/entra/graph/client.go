// Package graph implements entra.Tenant over Microsoft Graph v1.0 (through
// msgraph-sdk-go) and the Entra portal's PasswordReset API (plain net/http
// with a delegated token) for the SSPR settings Graph does not cover.
//
// This is the only package in ssprflow that imports msgraph-sdk-go, kiota or
// azidentity: they take minutes to build cold, so everything else talks to
// the entra.Tenant interface.
package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	msauth "github.com/microsoftgraph/msgraph-sdk-go-core/authentication"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// Defaults for Config.
const (
	DefaultBaseURL      = "https://graph.microsoft.com/v1.0"
	DefaultPortalURL    = "https://main.iam.ad.ext.azure.com"
	DefaultMaxRetryWait = 2 * time.Minute

	// GraphScope is the app-only scope for Microsoft Graph.
	GraphScope = "https://graph.microsoft.com/.default"
	// PortalScope is the scope of the portal's PasswordReset API (the "Azure
	// Portal" / main.iam resource), for a delegated admin token.
	PortalScope = "74658136-14ec-4630-ad9b-26e160ff0fc6/.default"
)

// graphHosts are the hosts the auth provider attaches tokens for: Microsoft's
// national clouds plus loopback for the simulator (plain http is allowed for
// loopback only).
var graphHosts = []string{"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us",
	"graph.microsoft.de", "microsoftgraph.chinacloudapi.cn", "canary.graph.microsoft.com", "127.0.0.1", "localhost"}

// Config configures a Client.
type Config struct {
	// BaseURL is Graph's v1.0 root (default DefaultBaseURL).
	BaseURL string
	// PortalURL is the portal API's root (default DefaultPortalURL).
	PortalURL string
	// Credential gets app-only Graph tokens. Required.
	Credential azcore.TokenCredential
	// PortalCredential gets delegated admin tokens for the portal API. Nil
	// means portal fields can be neither read nor written (in manual mode the
	// snapshot then lacks them).
	PortalCredential azcore.TokenCredential
	// Mode says how portal fields are written (default plan.PolicyModeManual).
	Mode plan.PolicyMode
	// HTTPClient carries every request (default: a client with a 100 s
	// timeout). Its Transport is wrapped with the SDK's middleware.
	HTTPClient *http.Client
	// MaxRetryWait bounds the total time one request waits between retries
	// on 429/503/504 (default DefaultMaxRetryWait, at most 180 s: the SDK's cap).
	MaxRetryWait time.Duration
	// Logger receives retries and decisions (default: discard).
	Logger *slog.Logger
	// Budget is the tenant's Graph throttling budget the client paces its
	// requests by; nil means BudgetSmall, a zero Budget no pacing.
	Budget *Budget
}

// Client is an entra.Tenant backed by Graph and the portal API. It is safe
// for concurrent use.
type Client struct {
	cfg     Config
	log     *slog.Logger
	adapter *msgraphsdk.GraphRequestAdapter
	sdk     *msgraphsdk.GraphServiceClient
	http    *http.Client  // portal and raw calls
	timeout time.Duration // per Graph request attempt, after pacing
	pace    *pacer
	// noIDIn and noReportTop remember that the tenant refused an
	// undocumented query shape on userRegistrationDetails.
	noIDIn, noReportTop atomic.Bool
}

var _ entra.Tenant = (*Client)(nil)

// New builds a Client. It makes no request.
func New(ctx context.Context, cfg Config) (*Client, error) {
	_ = ctx // reserved: building the client does no I/O today
	if cfg.Credential == nil {
		return nil, errors.New("graph: new client: Config.Credential is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.PortalURL == "" {
		cfg.PortalURL = DefaultPortalURL
	}
	cfg.PortalURL = strings.TrimRight(cfg.PortalURL, "/")
	for _, u := range []string{cfg.BaseURL, cfg.PortalURL} {
		if err := checkURL(u); err != nil {
			return nil, fmt.Errorf("graph: new client: %w", err)
		}
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = plan.PolicyModeManual
	case plan.PolicyModeManual, plan.PolicyModePortalAPI:
	default:
		return nil, fmt.Errorf("graph: new client: unknown policy mode %q (want %q or %q)",
			cfg.Mode, plan.PolicyModeManual, plan.PolicyModePortalAPI)
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = DefaultMaxRetryWait
	}
	if cfg.MaxRetryWait > 180*time.Second {
		cfg.MaxRetryWait = 180 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Client{cfg: cfg, log: log}
	budget := BudgetSmall
	if cfg.Budget != nil {
		budget = *cfg.Budget
	}
	c.pace = newPacer(budget)

	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 100 * time.Second}
	}
	parent := base.Transport
	if parent == nil {
		parent = http.DefaultTransport
	}
	c.http = &http.Client{Transport: parent, Timeout: base.Timeout, Jar: base.Jar}

	auth, err := msauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(
		cfg.Credential, []string{GraphScope}, graphHosts)
	if err != nil {
		return nil, fmt.Errorf("graph: new client: auth provider: %w", err)
	}
	// The timeout applies per attempt, after pacing (pacingHandler): the
	// client's own would count the wait for Graph's budget.
	c.timeout = base.Timeout
	sdkHTTP := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(parent, c.middlewares()...),
		// The SDK's redirect handler follows redirects itself.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, nil, nil, sdkHTTP)
	if err != nil {
		return nil, fmt.Errorf("graph: new client: request adapter: %w", err)
	}
	adapter.SetBaseUrl(cfg.BaseURL)
	c.adapter = adapter
	c.sdk = newServiceClient(adapter)
	return c, nil
}

// newServiceClient is msgraphsdk.NewGraphServiceClient without its write
// to the package-level store.BackingStoreFactoryInstance: that function
// passes the global to the adapter's EnableBackingStore, which assigns it
// back, racing with a second client being built and with every model
// constructor reading it while another tenant's request is in flight (seen
// under -race: msgraph-sdk-go v1.89.0, kiota-http-go v1.5.4). With nil the
// adapter still gets its backing-store parse nodes; the global keeps its
// default, the same in-memory store.
func newServiceClient(adapter *msgraphsdk.GraphRequestAdapter) *msgraphsdk.GraphServiceClient {
	return &msgraphsdk.GraphServiceClient{GraphBaseServiceClient: *msgraphsdk.NewGraphBaseServiceClient(adapter, nil)}
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad URL %q: %w", raw, err)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("URL %q: want https (plain http only for 127.0.0.1 or localhost)", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	return host == "127.0.0.1" || host == "localhost" || host == "::1"
}

// middlewares is the SDK's default pipeline in a fixed order, with our retry
// options and without request compression: kiota builds its default list
// from a map (random order), and when the compression handler runs inside
// the retry handler a retried PATCH goes out with a spent or double-encoded
// body. Request bodies here are a few hundred bytes; compressing them gains
// nothing.
func (c *Client) middlewares() []khttp.Middleware {
	opts := msgraphsdk.GetDefaultClientOptions()
	return []khttp.Middleware{
		msgraphgocore.NewGraphTelemetryHandler(&opts),
		khttp.NewUrlReplaceHandler(true, msgraphgocore.ReplacementPairs),
		khttp.NewRetryHandlerWithOptions(khttp.RetryHandlerOptions{
			MaxRetries:   10,
			DelaySeconds: 1,
			ShouldRetry:  c.shouldRetry,
		}),
		pacingHandler{p: c.pace, timeout: c.timeout},
		khttp.NewRedirectHandler(),
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewHeadersInspectionHandler(),
	}
}

// shouldRetry bounds the total wait of one request: the SDK retries 429, 503
// and 504, honouring Retry-After (seconds or HTTP date) and backing off
// exponentially without it; we stop before the next wait would exceed
// MaxRetryWait. waited is the time already spent waiting.
func (c *Client) shouldRetry(waited time.Duration, attempt int, req *http.Request, resp *http.Response) bool {
	next := retryDelay(resp.Header, attempt+1, time.Second)
	if waited+next > c.cfg.MaxRetryWait {
		c.log.Warn("graph: giving up after retries", "method", req.Method, "path", req.URL.Path,
			"status", resp.StatusCode, "attempts", attempt+1, "waited", waited)
		return false
	}
	c.log.Debug("graph: retrying", "method", req.Method, "path", req.URL.Path,
		"status", resp.StatusCode, "attempt", attempt+1, "wait", next)
	return true
}

// retryDelay is the wait before retry number attempt (1-based): Retry-After
// when present (seconds or an HTTP date), else exponential backoff from base
// (plus up to a second of jitter in the SDK; we count the upper bound).
func retryDelay(h http.Header, attempt int, base time.Duration) time.Duration {
	if d, ok := parseRetryAfter(h.Get("Retry-After"), time.Now()); ok {
		return d
	}
	return base*time.Duration(1<<(attempt-1)) + time.Second
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		// A day is far beyond any retry budget; cap it so the conversion
		// cannot overflow.
		return time.Duration(min(secs, 86400) * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
