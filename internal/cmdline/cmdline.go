// Package cmdline is the small command-tree framework the ssprflow binaries
// share: nested commands, flags that may follow positional arguments, usage
// errors with "did you mean", --version, and errors as JSON under
// --output json. It holds no ssprflow logic.
package cmdline

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/ssprflow/ssprflow/internal/didyoumean"
)

// Version is the build's version, the same for every ssprflow binary; set
// at build time with -ldflags "-X github.com/ssprflow/ssprflow/internal/cmdline.Version=v1.2.3".
var Version = "dev"

// IO are the streams a command writes to.
type IO struct {
	Out io.Writer
	Err io.Writer
}

// Command is one node of a command tree: either Run is set (a leaf that
// parses its own flags) or Subs lists its children.
type Command struct {
	Name    string
	Summary string
	Hidden  bool
	Subs    []*Command
	Run     func(ctx context.Context, io IO, args []string) error
	// Footer is printed after the list of sub-commands (the root's examples).
	Footer string
}

// ExitError carries an exit code: 1 = the thing checked is bad, 2 = usage.
// Msg may be empty when the command already printed what went wrong.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }

// Exit returns an error that ends the program with code and message.
func Exit(code int, format string, a ...any) error {
	return &ExitError{Code: code, Msg: fmt.Sprintf(format, a...)}
}

// Failed ends the program with exit 1 and err's text.
func Failed(err error) error { return &ExitError{Code: 1, Msg: err.Error()} }

// Usage is a usage mistake (exit 2), found before anything is contacted.
func Usage(format string, a ...any) error {
	return &ExitError{Code: 2, Msg: fmt.Sprintf(format, a...)}
}

// Program is a binary's root command and how it presents itself.
type Program struct {
	Root    *Command
	Version string
	// Sanitize cleans text that may come from a remote peer before it is
	// printed (escape sequences); nil prints as is.
	Sanitize func(string) string
}

// Main runs the program and returns the process exit code.
func (p Program) Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	io := IO{Out: stdout, Err: stderr}
	name := p.Root.Name
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		fmt.Fprintln(stdout, VersionLine(name, p.Version))
		return 0
	}
	err := dispatch(ctx, io, p.Root, []string{name}, args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	code, msg := 1, err.Error()
	var ee *ExitError
	if errors.As(err, &ee) {
		code, msg = ee.Code, ee.Msg
	}
	if msg == "" {
		return code
	}
	if p.Sanitize != nil {
		msg = p.Sanitize(msg)
	}
	if wantsJSON(args) {
		// A script that asked for JSON gets JSON on stdout, errors included.
		_ = PrintJSON(stdout, map[string]any{"error": msg, "exitCode": code})
		return code
	}
	fmt.Fprintln(stderr, name+":", msg)
	return code
}

// VersionLine is "<name> <version> (<go version>)".
func VersionLine(name, version string) string {
	goVersion := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	return fmt.Sprintf("%s %s (%s)", name, version, goVersion)
}

// wantsJSON reports whether the arguments ask for --output json.
func wantsJSON(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--output=json" || a == "-output=json" || a == "-o=json":
			return true
		case (a == "--output" || a == "-output" || a == "-o") && i+1 < len(args) && args[i+1] == "json":
			return true
		}
	}
	return false
}

func dispatch(ctx context.Context, io IO, c *Command, path, args []string) error {
	if c.Run != nil {
		return c.Run(ctx, io, args)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printHelp(io.Out, c, path)
		if len(args) == 0 {
			return &ExitError{Code: 2}
		}
		return nil
	}
	var names []string
	for _, s := range c.Subs {
		if s.Name == args[0] {
			return dispatch(ctx, io, s, append(path, s.Name), args[1:])
		}
		if !s.Hidden {
			names = append(names, s.Name)
		}
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], strings.Join(path, " "))
	if m := didyoumean.Suggest(args[0], names); m != "" {
		msg += fmt.Sprintf("; did you mean %q?", m)
	}
	return Usage("%s (run '%s --help' for the list)", msg, strings.Join(path, " "))
}

func printHelp(w io.Writer, c *Command, path []string) {
	p := strings.Join(path, " ")
	fmt.Fprintf(w, "%s — %s\n\nUsage:\n  %s <command> [flags]\n\nCommands:\n", p, c.Summary, p)
	for _, s := range c.Subs {
		if !s.Hidden {
			fmt.Fprintf(w, "  %-10s %s\n", s.Name, s.Summary)
		}
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", p)
	if c.Footer != "" {
		fmt.Fprint(w, "\n"+c.Footer)
	}
}

// NewFlags makes a flag set whose usage names the command and its arguments.
// Help goes to Err only when asked for: a flag mistake prints one line and
// the hint, not the whole list.
func NewFlags(io IO, prog, name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Err)
	fs.Usage = func() {
		fmt.Fprintf(io.Err, "%s\n\nUsage:\n  %s %s %s\n\nFlags:\n", summary, prog, name, args)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses flags that may come before or after positional arguments.
// An unknown flag is a usage error naming the closest real one.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	out := fs.Output()
	usage := fs.Usage
	fs.Usage = func() {} // errors are reported once, below, not with the full list
	defer func() { fs.Usage = usage }()
	for {
		fs.SetOutput(io.Discard)
		err := fs.Parse(args)
		fs.SetOutput(out)
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return nil, err
		}
		if err != nil {
			return nil, Usage("%s: %s (run with --help for its flags)", fs.Name(), flagHint(fs, err))
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagHint adds "did you mean" to the flag package's unknown-flag error.
func flagHint(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	const prefix = "flag provided but not defined: -"
	if !strings.HasPrefix(msg, prefix) {
		return msg
	}
	bad := strings.TrimLeft(strings.TrimPrefix(msg, prefix), "-")
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if m := didyoumean.Suggest(bad, names); m != "" {
		return fmt.Sprintf("unknown flag --%s; did you mean --%s?", bad, m)
	}
	return fmt.Sprintf("unknown flag --%s", bad)
}

// OneOf checks a flag's value against the allowed ones before anything is
// contacted, naming the closest allowed value.
func OneOf(flagName, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	msg := fmt.Sprintf("--%s %q is not one of %s", flagName, value, strings.Join(allowed, ", "))
	if m := didyoumean.Suggest(value, allowed); m != "" {
		msg += fmt.Sprintf("; did you mean %q?", m)
	}
	return Usage("%s", msg)
}

// OutputFlag adds --output text|json.
func OutputFlag(fs *flag.FlagSet) *string {
	return fs.String("output", "text", "output format: text or json")
}

// CheckOutput validates an OutputFlag's value, before anything is
// contacted.
func CheckOutput(v string) error { return OneOf("output", v, "text", "json") }

// PrintJSON writes v as indented JSON.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Exec runs main as a process: Ctrl-C or SIGTERM cancels its context (a
// second one ends a cleanup that hangs), and its result is the exit code.
func Exec(main func(ctx context.Context, args []string, stdout, stderr io.Writer) int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }()
	code := main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
