// Package cli is the ssprflow command line. Each command is a small options
// struct with a run function in its own file; commands print to the streams
// they are given (results to stdout, problems to stderr) and never log.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// IO are the streams a command writes to.
type IO struct {
	Out io.Writer
	Err io.Writer
}

// command is one node of the command tree.
type command struct {
	name    string
	summary string
	usage   string // arguments after the command path
	hidden  bool
	subs    []*command
	// run parses its own flags from args.
	run func(ctx context.Context, io IO, args []string) error
}

// exitError carries an exit code (1 = the thing checked is bad, 2 = usage).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// ErrUsage marks a usage mistake (exit 2).
var ErrUsage = errors.New("usage")

func usageErr(format string, a ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, a...)}
}

func root() *command {
	return &command{
		name:    "ssprflow",
		summary: "roll out Entra ID self-service password reset with password writeback, safely",
		subs: []*command{
			planCmd(),
			rolloutCmd(),
			decisionCmd("approve"),
			decisionCmd("reject"),
			pendingCmd(),
			eventsCmd(),
			reportCmd(),
			adCmd(),
			simCmd(),
			devCmd(),
			demoCmd(),
			versionCmd(),
			workerCmd(),
		},
	}
}

// Main runs the CLI and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	io := IO{Out: stdout, Err: stderr}
	err := dispatch(ctx, io, root(), []string{"ssprflow"}, args)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "ssprflow:", safeLines(ee.msg))
		}
		return ee.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "ssprflow:", safeLines(err.Error()))
	return 1
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

func dispatch(ctx context.Context, io IO, c *command, path, args []string) error {
	if c.run != nil {
		return c.run(ctx, io, args)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printHelp(io.Out, c, path)
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	for _, s := range c.subs {
		if s.name == args[0] {
			return dispatch(ctx, io, s, append(path, s.name), args[1:])
		}
	}
	printHelp(io.Err, c, path)
	return usageErr("unknown command %q for %q", args[0], strings.Join(path, " "))
}

func printHelp(w io.Writer, c *command, path []string) {
	fmt.Fprintf(w, "%s — %s\n\nUsage:\n  %s <command> [flags]\n\nCommands:\n", strings.Join(path, " "), c.summary, strings.Join(path, " "))
	subs := make([]*command, 0, len(c.subs))
	for _, s := range c.subs {
		if !s.hidden {
			subs = append(subs, s)
		}
	}
	sort.SliceStable(subs, func(i, j int) bool { return false })
	for _, s := range subs {
		fmt.Fprintf(w, "  %-10s %s\n", s.name, s.summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", strings.Join(path, " "))
	if len(path) == 1 {
		fmt.Fprint(w, `
Start here:
  ssprflow demo                          the whole rollout on a local stack, in about a minute
  ssprflow plan validate examples/pilot.yaml
  ssprflow rollout start examples/pilot.yaml --config worker.yaml
  ssprflow rollout status sspr/<tenant>/<plan> --watch
  ssprflow approve sspr/<tenant>/<plan> --gate pilot --comment "pilot looks good"
`)
	}
}

// newFlags makes a flag set whose usage names the command and its arguments.
func newFlags(io IO, name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Err)
	fs.Usage = func() {
		fmt.Fprintf(io.Err, "%s\n\nUsage:\n  ssprflow %s %s\n\nFlags:\n", summary, name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: 2, msg: err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// outputFlag adds --output text|json.
func outputFlag(fs *flag.FlagSet) *string {
	return fs.String("output", "text", "output format: text or json")
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// env returns the environment variable or a default.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
