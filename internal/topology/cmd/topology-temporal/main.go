// Command topology-temporal runs a Temporal server on PostgreSQL for the
// production-topology tests (internal/topology): `setup` creates the
// databases and schemas with Temporal's SQL tool, `serve` runs the server.
// It only wires: see internal/topology/temporalpg.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ssprflow/ssprflow/internal/topology/temporalpg"
)

func main() {
	fs := flag.NewFlagSet("topology-temporal", flag.ExitOnError)
	var o temporalpg.Options
	fs.StringVar(&o.PGAddr, "pg", "127.0.0.1:5432", "PostgreSQL host:port")
	fs.StringVar(&o.PGUser, "pg-user", "postgres", "PostgreSQL user (trust auth)")
	fs.StringVar(&o.Database, "db", "", "Temporal's database (visibility: DB_visibility)")
	fs.StringVar(&o.Namespace, "namespace", "default", "namespace to register")
	for i, name := range []string{"frontend", "history", "matching", "worker"} {
		fs.IntVar(&o.Ports[i], name+"-port", 0, name+" gRPC port on 127.0.0.1")
	}
	if len(os.Args) < 2 || (os.Args[1] != "setup" && os.Args[1] != "serve") {
		fmt.Fprintln(os.Stderr, "usage: topology-temporal setup|serve --db NAME [--pg HOST:PORT] [--*-port N]")
		os.Exit(2)
	}
	_ = fs.Parse(os.Args[2:])
	if o.Database == "" {
		fmt.Fprintln(os.Stderr, "topology-temporal: --db is required")
		os.Exit(2)
	}
	o.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	var err error
	if os.Args[1] == "setup" {
		err = temporalpg.Setup(o)
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		err = temporalpg.Run(ctx, o, func() { fmt.Println("ready") })
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "topology-temporal:", err)
		os.Exit(1)
	}
}
