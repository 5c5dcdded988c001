// Package cli is the ssprflow operator and approver command line: plans,
// rollouts, approvals, events and reports. It reaches the worker only over
// NATS and Temporal's frontend: it links neither the Temporal server nor the
// Graph SDK and holds no tenant or directory credential.
package cli

import (
	"context"
	"flag"
	"io"
	"os"
	"strings"

	"github.com/ssprflow/ssprflow/internal/cmdline"
)

// IO are the streams a command writes to.
type IO = cmdline.IO

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = "dev"

func root() *cmdline.Command {
	return &cmdline.Command{
		Name:    "ssprflow",
		Summary: "roll out Entra ID self-service password reset with password writeback, safely",
		Subs: []*cmdline.Command{
			planCmd(),
			rolloutCmd(),
			decisionCmd("approve"),
			decisionCmd("reject"),
			pendingCmd(),
			eventsCmd(),
			reportCmd(),
			versionCmd(),
		},
		Footer: `Start here:
  make demo                              the whole rollout on a local stack (bin/ssprflow-dev demo)
  ssprflow plan validate examples/pilot.yaml
  ssprflow plan diff examples/pilot.yaml          (read by the worker, which holds the credentials)
  ssprflow rollout start examples/pilot.yaml
  ssprflow rollout status sspr/<tenant>/<plan> --watch
  ssprflow approve sspr/<tenant>/<plan> --gate pilot --comment "pilot looks good"

Settings: a flag beats its SSPRFLOW_* environment variable, which beats the
file in --config / $SSPRFLOW_CONFIG (the nats: and temporal: sections of a
worker or client configuration), which beats the built-in default.
`,
	}
}

func versionCmd() *cmdline.Command {
	return &cmdline.Command{Name: "version", Summary: "print the version", Run: func(ctx context.Context, io IO, args []string) error {
		_, err := io.Out.Write([]byte(cmdline.VersionLine("ssprflow", Version) + "\n"))
		return err
	}}
}

// Main runs the CLI and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cmdline.Program{Root: root(), Version: Version, Sanitize: safeLines}.Main(ctx, args, stdout, stderr)
}

// safeLines is safeText line by line: errors (a plan's problems) may span
// lines, but no line may carry escape sequences or other control text from
// a worker's reply.
func safeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = safeText(l)
	}
	return strings.Join(lines, "\n")
}

// newFlags makes a flag set whose usage names the command and its arguments.
func newFlags(io IO, name, args, summary string) *flag.FlagSet {
	return cmdline.NewFlags(io, "ssprflow", name, args, summary)
}

// env returns the environment variable or a default.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
