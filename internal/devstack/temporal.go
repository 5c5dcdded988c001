package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// Custom search attributes (all Keyword) registered in the namespace, so
// operators can list rollouts by tenant, plan, stage and state. Workflow code
// declares its own typed keys with these names: it must not import this
// package, which pulls in the whole server.
const (
	SearchAttributeTenant = "SsprflowTenant"
	SearchAttributePlan   = "SsprflowPlan"
	SearchAttributeStage  = "SsprflowStage"
	SearchAttributeState  = "SsprflowState"
)

// DefaultNamespace is the namespace used when TemporalOptions.Namespace is empty.
const DefaultNamespace = "default"

const clusterName = "active"

func searchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		SearchAttributeTenant: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttributePlan:   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttributeStage:  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttributeState:  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}

// SearchAttributeNames returns the names of the custom search attributes that
// StartTemporal registers.
func SearchAttributeNames() []string {
	return []string{SearchAttributeTenant, SearchAttributePlan, SearchAttributeStage, SearchAttributeState}
}

// TemporalOptions configures StartTemporal.
type TemporalOptions struct {
	// DBFile is the SQLite file that keeps state across restarts; its schema is
	// set up when the file does not exist yet. Empty means an in-memory database
	// that is lost when the process exits.
	DBFile string
	// Port is the frontend gRPC port on 127.0.0.1; 0 picks a free one. The
	// internal services always get free ports.
	Port int
	// Namespace is created at start; DefaultNamespace when empty.
	Namespace string
	// Logger receives the server's warnings and errors; nil discards them.
	Logger *slog.Logger
}

// Temporal is a Temporal server (frontend, history, matching and worker
// services) running in this process on SQLite.
type Temporal struct {
	srv       temporal.Server
	hostPort  string
	namespace string
	ports     []int // every port the server listens on, for tests
	logger    *slog.Logger
	logGate   *logGate

	stopOnce sync.Once
	stopErr  error
}

// StartTemporal starts a Temporal server and returns once the frontend serves
// the namespace with the custom search attributes registered.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("start temporal: port %d out of range: use 1-65535, or 0 for a free port", opts.Port)
	}
	logger := quietLogger(opts.Logger)

	// The frontend, history, matching and worker services each listen on gRPC.
	ports, err := freePorts(4)
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	if opts.Port != 0 {
		addr := loopback + ":" + strconv.Itoa(opts.Port)
		if err := CheckPortFree(addr); err != nil {
			return nil, fmt.Errorf("start temporal: %w", err)
		}
		ports[0] = opts.Port
	}

	sqlCfg, err := sqliteConfig(opts.DBFile)
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, searchAttributes())
	if err != nil {
		return nil, fmt.Errorf("start temporal: namespace %q: %w", opts.Namespace, err)
	}
	// A no-op when the namespace exists, e.g. on a restart with the same file.
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("start temporal: create namespace %q: %w", opts.Namespace, err)
	}

	cfg := serverConfig(sqlCfg, ports)
	gate := &logGate{}
	srvLogger := temporalLogger{l: logger.With("server", "temporal"), gate: gate}
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("start temporal: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, srvLogger)
	if err != nil {
		return nil, fmt.Errorf("start temporal: claim mapper: %w", err)
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		// Static hosts instead of ringpop: one process needs no gossip, and it
		// saves four membership ports and the join delay.
		temporal.WithStaticHosts(staticHosts(ports)),
		temporal.WithLogger(srvLogger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			// Search attributes added at runtime are visible at once, not after
			// the cache's refresh interval.
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
			// The default (128k mutable states) is sized for a production host.
			dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): 8192,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}

	t := &Temporal{
		srv:       srv,
		hostPort:  loopback + ":" + strconv.Itoa(ports[0]),
		namespace: opts.Namespace,
		ports:     ports,
		logger:    logger,
		logGate:   gate,
	}

	// Start blocks until every service runs (or its own timeout); run it aside
	// so a cancelled ctx returns at once, and stop the server when it is done.
	started := make(chan error, 1)
	go func() { started <- srv.Start() }()
	select {
	case err := <-started:
		if err != nil {
			_ = t.Stop()
			return nil, fmt.Errorf("start temporal: %w", err)
		}
	case <-ctx.Done():
		go func() {
			if <-started == nil {
				_ = t.Stop()
			}
		}()
		return nil, fmt.Errorf("start temporal: %w", ctx.Err())
	}

	if err := t.awaitReady(ctx); err != nil {
		_ = t.Stop()
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	gate.state.Store(gateRunning)
	return t, nil
}

// HostPort returns the frontend's host:port, e.g. "127.0.0.1:7233".
func (t *Temporal) HostPort() string { return t.hostPort }

// Namespace returns the namespace created at start.
func (t *Temporal) Namespace() string { return t.namespace }

// NewClient dials the server. HostPort is always this server's; Namespace and
// Logger default to the server's namespace and its (quiet) logger, because the
// SDK otherwise logs to stdout. The caller closes the client.
func (t *Temporal) NewClient(ctx context.Context, opts client.Options) (client.Client, error) {
	opts.HostPort = t.hostPort
	if opts.Namespace == "" {
		opts.Namespace = t.namespace
	}
	if opts.Logger == nil {
		opts.Logger = sdklog.NewStructuredLogger(t.logger.With("component", "temporal-client"))
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("dial temporal %s: %w", t.hostPort, err)
	}
	return c, nil
}

// Stop shuts the server down and releases its ports. Calling it again does
// nothing and returns the first call's result.
//
// The SQLite connection stays open until the process exits: the server's
// SQLite plugin keeps one connection per database for the process lifetime
// (an in-memory database would otherwise vanish between its own reconnects).
func (t *Temporal) Stop() error {
	t.stopOnce.Do(func() {
		t.logGate.state.Store(gateStopped)
		if err := t.srv.Stop(); err != nil {
			t.stopErr = fmt.Errorf("stop temporal: %w", err)
		}
	})
	return t.stopErr
}

// awaitReady waits until the frontend answers for the namespace, then makes sure
// every custom search attribute exists (a database created by an older version
// or another tool may lack some).
func (t *Temporal) awaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	c, err := t.NewClient(ctx, client.Options{})
	if err != nil {
		return err
	}
	defer c.Close()

	for {
		_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: t.namespace})
		if err == nil {
			break
		}
		var notFound *serviceerror.NamespaceNotFound
		var unavailable *serviceerror.Unavailable
		if !errors.As(err, &notFound) && !errors.As(err, &unavailable) {
			return fmt.Errorf("describe namespace %q: %w", t.namespace, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for namespace %q: %w (last error: %v)", t.namespace, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}

	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: t.namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range searchAttributes() {
		got, ok := list.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			return fmt.Errorf("search attribute %s has type %s, want %s: use a new DBFile", name, got, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        t.namespace,
		SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

// sqliteConfig returns the persistence config for file (or in memory when
// file is empty), setting up the schema in a new file.
func sqliteConfig(file string) (*config.SQL, error) {
	cfg := &config.SQL{PluginName: sqliteplugin.PluginName}
	if file == "" {
		// A random name: several servers in one process (tests) must not share
		// the in-memory database the plugin caches by name.
		cfg.DatabaseName = "ssprflow-" + strconv.FormatUint(rand.Uint64(), 36)
		cfg.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		return cfg, nil
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("database file %q: %w", file, err)
	}
	cfg.DatabaseName = abs
	cfg.ConnectAttributes = map[string]string{"mode": "rwc"}

	fi, err := os.Stat(abs)
	switch {
	case err == nil && fi.IsDir():
		return nil, fmt.Errorf("database file %q is a directory: name a file inside it", file)
	case err == nil && fi.Size() > 0:
		return cfg, nil // an existing database keeps its schema and state
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("database file %q: %w", file, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("database file %q: create its directory: %w", file, err)
	}
	if err := sqliteschema.SetupSchema(cfg); err != nil {
		return nil, fmt.Errorf("database file %q: set up schema: %w", file, err)
	}
	return cfg, nil
}

// serverConfig is a single-process cluster: one history shard, every service
// on loopback, archival off. ports are frontend, history, matching, worker.
func serverConfig(sqlCfg *config.SQL, ports []int) *config.Config {
	frontend := loopback + ":" + strconv.Itoa(ports[0])
	var cfg config.Config
	cfg.Global.Membership.MaxJoinDuration = 30 * time.Second
	cfg.Global.Membership.BroadcastAddress = loopback
	// Global.Metrics stays nil (no metrics listener) and PProf.Port 0 (no pprof).

	const store = "sqlite-default"
	cfg.Persistence.DefaultStore = store
	cfg.Persistence.VisibilityStore = store
	cfg.Persistence.NumHistoryShards = 1
	cfg.Persistence.DataStores = map[string]config.DataStore{store: {SQL: sqlCfg}}

	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend},
		},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"
	service := func(port int) config.Service {
		// HTTPPort stays 0: no frontend HTTP API, one port fewer.
		return config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: loopback}}
	}
	cfg.Services = map[string]config.Service{
		string(primitives.FrontendService): service(ports[0]),
		string(primitives.HistoryService):  service(ports[1]),
		string(primitives.MatchingService): service(ports[2]),
		string(primitives.WorkerService):   service(ports[3]),
	}
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The server's internal SDK clients (e.g. the system workers) dial this;
	// it panics at start without it.
	cfg.PublicClient.HostPort = frontend
	return &cfg
}

func staticHosts(ports []int) map[primitives.ServiceName]static.Hosts {
	host := func(i int) static.Hosts { return static.SingleLocalHost(loopback + ":" + strconv.Itoa(ports[i])) }
	return map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: host(0),
		primitives.HistoryService:  host(1),
		primitives.MatchingService: host(2),
		primitives.WorkerService:   host(3),
	}
}
