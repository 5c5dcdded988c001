// Package cli is the ssprflow operator and approver command line: plans,
// rollouts, approvals, events and reports. It reaches the worker only over
// NATS and Temporal's frontend: it links neither the Temporal server nor the
// Graph SDK and holds no tenant or directory credential.
package cli

import (
	"context"
	"flag"
	"io"
	"strings"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cmdline"
)

// IO are the streams a command writes to.
type IO = cmdline.IO

// root is the command tree: every command, each run by a function in its
// own file.
func root() *cmdline.Command {
	return &cmdline.Command{
		Name:    "ssprflow",
		Summary: "roll out Entra ID self-service password reset with password writeback, safely",
		Subs: []*cmdline.Command{
			{Name: "plan", Summary: "check a rollout plan, and preview what it would change", Subs: []*cmdline.Command{
				{Name: "validate", Summary: "report every problem in a plan file (exit 0 valid, 1 invalid)", Run: runPlanValidate},
				{Name: "diff", Summary: "read-only preflight: the SSPR settings the plan would change in the tenant", Run: runPlanDiff},
				{Name: "schema", Summary: "print the plan's JSON Schema (for editors)", Run: runPlanSchema},
			}},
			{Name: "rollout", Summary: "start, watch, list and stop rollouts", Subs: []*cmdline.Command{
				{Name: "start", Summary: "start a rollout from a plan file", Run: runRolloutStart},
				{Name: "status", Summary: "show a rollout's stages, steps and gates (--watch to follow)", Run: runRolloutStatus},
				{Name: "list", Summary: "list rollouts (filter by --tenant, --state)", Run: runRolloutList},
				{Name: "cancel", Summary: "cancel a rollout; it undoes its changes per the plan's failure policy", Run: runRolloutCancel},
				{Name: "resume", Summary: "answer a paused rollout: --action retry|rollback|abort", Run: runRolloutResume},
				{Name: "revert", Summary: "undo a finished rollout's changes, behind an approval", Run: runRolloutRevert},
			}},
			{Name: "export", Summary: "write a tenant's current SSPR configuration as a plan (read by a worker)", Run: runExport},
			{Name: "watch", Summary: "watch a plan for drift: scheduled read-only checks, status, remediation", Subs: []*cmdline.Command{
				{Name: "start", Summary: "check the tenant against the plan on a schedule (default daily)", Run: runWatch(approval.WatchStart)},
				{Name: "stop", Summary: "delete the plan's watch schedule", Run: runWatch(approval.WatchStop)},
				{Name: "status", Summary: "the last drift checks and what drifted", Run: runWatchStatus},
				{Name: "remediate", Summary: "put the plan's settings and rights back, behind an approval", Run: runWatch(approval.WatchRemediate)},
			}},
			{Name: "approve", Summary: "approve a gate (or confirm a manual task is done) over NATS", Run: runDecision("approve")},
			{Name: "reject", Summary: "reject a gate; the rollout applies its failure policy", Run: runDecision("reject")},
			{Name: "pending", Summary: "list what a rollout waits for (gates and manual tasks) and whether you may decide", Run: runPending},
			{Name: "events", Summary: "print a rollout's audit trail from NATS (--follow to stream)", Run: runEvents},
			{Name: "report", Summary: "the report of a rollout: changes, verification, approvals, coverage", Run: runReport},
			{Name: "version", Summary: "print the version", Run: runVersion},
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

func runVersion(ctx context.Context, io IO, args []string) error {
	_, err := io.Out.Write([]byte(cmdline.VersionLine("ssprflow", cmdline.Version) + "\n"))
	return err
}

// Main runs the CLI and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cmdline.Program{Root: root(), Version: cmdline.Version, Sanitize: safeLines}.Main(ctx, args, stdout, stderr)
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
