// Package localstack is ssprflow's local stack: embedded Temporal and NATS,
// the tenant simulator, a Samba AD DC when Samba is installed, and the
// worker and writeback agent on top. `ssprflow-dev demo` runs a whole
// rollout on it; `ssprflow-dev dev` keeps it up for the ssprflow CLI. It is
// its own binary so that operators and approvers never download it.
package localstack

import (
	"context"
	"flag"
	"io"

	"github.com/ssprflow/ssprflow/internal/cmdline"
)

// IO are the streams a command writes to.
type IO = cmdline.IO

// root is the command tree: every command, each run by a function in its
// own file.
func root() *cmdline.Command {
	return &cmdline.Command{
		Name:    "ssprflow-dev",
		Summary: "the local stack: a whole rollout in a minute, or the stack kept up for the ssprflow CLI",
		Subs: []*cmdline.Command{
			{Name: "demo", Summary: "run a whole rollout on a local stack (Temporal, NATS, tenant simulator, Samba DC)", Run: runDemo},
			{Name: "dev", Summary: "run the local stack and a worker on fixed ports until Ctrl-C", Run: runDev},
			{Name: "sim", Summary: "the Graph-compatible tenant simulator", Subs: []*cmdline.Command{
				{Name: "serve", Summary: "serve a simulated tenant over HTTP (Graph v1.0 and the portal's PasswordReset API)", Run: runSimServe},
			}},
			{Name: "agent", Summary: "run the writeback agent on a simulated sync server", Hidden: true, Run: runAgent},
		},
		Footer: `Start here:
  ssprflow-dev demo            a whole rollout (pilot, gate, all) with its report, in about a minute
  ssprflow-dev dev             the stack kept up; it prints the settings for the ssprflow CLI
  ssprflow-dev sim serve       only the tenant simulator (Graph v1.0 and the portal's PasswordReset API)
`,
	}
}

// Main runs ssprflow-dev and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cmdline.Program{Root: root(), Version: cmdline.Version}.Main(ctx, args, stdout, stderr)
}

func newFlags(io IO, name, args, summary string) *flag.FlagSet {
	return cmdline.NewFlags(io, "ssprflow-dev", name, args, summary)
}
