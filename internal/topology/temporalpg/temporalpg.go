// Package temporalpg runs a Temporal server (go.temporal.io/server, the
// pinned version) on PostgreSQL, as an organisation runs one: its schema
// set up by Temporal's own SQL tool from the schema embedded in the server
// module, the namespace and ssprflow's search attributes registered through
// the frontend. The production-topology tests (internal/topology) run it
// as its own process (cmd/topology-temporal), so they can kill and restart
// it; it imports the server, so nothing the CLI links may import it.
package temporalpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
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
	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"
	sqltool "go.temporal.io/server/tools/sql"
	"google.golang.org/protobuf/types/known/durationpb"
	"log/slog"
)

// Search attributes ssprflow's workflows upsert (all Keyword); the same
// names as internal/devstack registers on SQLite.
var searchAttributes = map[string]enumspb.IndexedValueType{
	"SsprflowTenant": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"SsprflowPlan":   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"SsprflowStage":  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"SsprflowState":  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

const clusterName = "active"

// Options configure a server. Ports are frontend, history, matching and
// worker gRPC ports on 127.0.0.1, fixed so a restarted server is found
// where the workers dial.
type Options struct {
	PGAddr    string // host:port of PostgreSQL (or of a proxy in front of it)
	PGUser    string
	Database  string // Temporal's database; visibility uses Database+"_visibility"
	Ports     [4]int
	Namespace string
	Logger    *slog.Logger
}

// Setup creates Temporal's two databases and sets up their schemas with
// temporal-sql-tool (go.temporal.io/server/tools/sql) from the embedded
// postgresql/v12 schema: create-database, setup-schema -v 0.0, then
// update-schema to the newest version, as Temporal's docs prescribe.
func Setup(o Options) error {
	host, port, err := net.SplitHostPort(o.PGAddr)
	if err != nil {
		return fmt.Errorf("set up schema: postgres address %q: %w", o.PGAddr, err)
	}
	for _, db := range []struct{ name, schema string }{
		{o.Database, "postgresql/v12/temporal"},
		{o.Database + "_visibility", "postgresql/v12/visibility"},
	} {
		base := []string{"temporal-sql-tool", "--plugin", postgresql.PluginName, "--ep", host, "--port", port,
			"--user", o.PGUser, "--db", db.name}
		for _, args := range [][]string{
			{"create-database"},
			{"setup-schema", "-v", "0.0"},
			{"update-schema", "--schema-name", db.schema},
		} {
			// The tool exits the process on a failed command, so an error
			// here is one of its own flags.
			if err := sqltool.RunTool(append(append([]string(nil), base...), args...)); err != nil {
				return fmt.Errorf("set up schema: %s %v: %w", db.name, args, err)
			}
		}
	}
	return nil
}

// Run starts the server, registers the namespace and the search attributes
// when missing, calls ready, and serves until ctx ends.
func Run(ctx context.Context, o Options, ready func()) error {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	zl := serverlog.NewZapLogger(serverlog.BuildZapLogger(serverlog.Config{Level: "warn", Format: "json"}))
	cfg := serverConfig(o)
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return fmt.Errorf("temporal: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, zl)
	if err != nil {
		return fmt.Errorf("temporal: claim mapper: %w", err)
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		// One process runs every service: static hosts instead of ringpop.
		temporal.WithStaticHosts(staticHosts(o.Ports)),
		temporal.WithLogger(zl),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
			// A namespace registered at start is served within a second.
			dynamicconfig.NamespaceCacheRefreshInterval.Key(): time.Second,
			dynamicconfig.HistoryCacheHostLevelMaxSize.Key():  8192,
		}),
	)
	if err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("temporal: start: %w", err)
	}
	defer func() { _ = srv.Stop() }()
	if err := register(ctx, o, logger); err != nil {
		return err
	}
	logger.Info("temporal serving", "frontend", frontend(o), "namespace", o.Namespace)
	ready()
	<-ctx.Done()
	return nil
}

func frontend(o Options) string { return "127.0.0.1:" + strconv.Itoa(o.Ports[0]) }

// register creates the namespace and its search attributes unless present
// (a restart finds both in the database).
func register(ctx context.Context, o Options, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: frontend(o), Namespace: o.Namespace,
		Logger: sdklog.NewStructuredLogger(logger)})
	if err != nil {
		return fmt.Errorf("temporal: dial frontend: %w", err)
	}
	defer c.Close()
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: o.Namespace, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("temporal: register namespace %q: %w", o.Namespace, err)
	}
	for {
		_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: o.Namespace})
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal: wait for namespace %q: %w (last error: %v)", o.Namespace, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: o.Namespace})
	if err != nil {
		return fmt.Errorf("temporal: list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range searchAttributes {
		if _, ok := list.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: o.Namespace, SearchAttributes: missing}); err != nil {
		return fmt.Errorf("temporal: add search attributes: %w", err)
	}
	return nil
}

func serverConfig(o Options) *config.Config {
	var cfg config.Config
	cfg.Global.Membership.MaxJoinDuration = 30 * time.Second
	cfg.Global.Membership.BroadcastAddress = "127.0.0.1"
	sql := func(db string) config.DataStore {
		return config.DataStore{SQL: &config.SQL{
			PluginName: postgresql.PluginName, DatabaseName: db, ConnectAddr: o.PGAddr, ConnectProtocol: "tcp",
			User: o.PGUser, MaxConns: 20, MaxIdleConns: 20, MaxConnLifetime: time.Hour,
		}}
	}
	cfg.Persistence.DefaultStore = "postgres"
	cfg.Persistence.VisibilityStore = "postgres-visibility"
	// Four shards: more than one, as any production cluster has.
	cfg.Persistence.NumHistoryShards = 4
	cfg.Persistence.DataStores = map[string]config.DataStore{
		"postgres":            sql(o.Database),
		"postgres-visibility": sql(o.Database + "_visibility"),
	}
	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace: false, FailoverVersionIncrement: 10,
		MasterClusterName: clusterName, CurrentClusterName: clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend(o)},
		},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"
	service := func(port int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: "127.0.0.1"}}
	}
	cfg.Services = map[string]config.Service{
		string(primitives.FrontendService): service(o.Ports[0]),
		string(primitives.HistoryService):  service(o.Ports[1]),
		string(primitives.MatchingService): service(o.Ports[2]),
		string(primitives.WorkerService):   service(o.Ports[3]),
	}
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	cfg.PublicClient.HostPort = frontend(o)
	return &cfg
}

func staticHosts(ports [4]int) map[primitives.ServiceName]static.Hosts {
	host := func(i int) static.Hosts { return static.SingleLocalHost("127.0.0.1:" + strconv.Itoa(ports[i])) }
	return map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: host(0),
		primitives.HistoryService:  host(1),
		primitives.MatchingService: host(2),
		primitives.WorkerService:   host(3),
	}
}
