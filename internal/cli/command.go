package cli

import (
	"context"
	"flag"
	"os"

	"go.temporal.io/sdk/client"

	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

// shared names the flags a command takes besides its own.
type shared uint8

const (
	natsFlags     shared = 1 << iota // where NATS is and who you are on it
	temporalFlags                    // where Temporal's frontend is
	outputFlag                       // --output text|json
)

// command is one command's flag set: its own flags and the shared ones. Its
// parse methods check the whole usage (flags, --config, --output, the
// command's own checks, the arguments) before anything is contacted.
type command struct {
	name string
	fs   *flag.FlagSet
	conn *connFlags
	out  *string // nil without outputFlag
}

func newCommand(io IO, name, args, summary string, s shared) *command {
	c := &command{name: name, fs: newFlags(io, name, args, summary)}
	c.conn = addConnFlags(c.fs, s&natsFlags != 0, s&temporalFlags != 0)
	if s&outputFlag != 0 {
		c.out = cmdline.OutputFlag(c.fs)
	}
	return c
}

// json reports whether the command is to print JSON.
func (c *command) json() bool { return c.out != nil && *c.out == "json" }

// parse parses args, reads --config and runs the usage checks; it returns
// the positional arguments.
func (c *command) parse(args []string, checks ...func() error) ([]string, error) {
	pos, err := cmdline.Parse(c.fs, args)
	if err != nil {
		return nil, err
	}
	if c.out != nil {
		checks = append([]func() error{func() error { return cmdline.CheckOutput(*c.out) }}, checks...)
	}
	checks = append(checks, c.conn.load)
	for _, check := range checks {
		if err := check(); err != nil {
			return nil, err
		}
	}
	return pos, nil
}

// parseFile is parse for a command that reads one plan file.
func (c *command) parseFile(args []string) (string, error) {
	pos, err := c.parse(args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", cmdline.Usage("%s needs exactly one plan file", c.name)
	}
	return pos[0], nil
}

// readPlan reads and validates a plan file; raw is what was read, for
// the worker to validate again.
// planOnNATS parses a command that names one plan file, reads the plan,
// then connects to NATS as the asking operator. The caller closes the
// session.
func (c *command) planOnNATS(ctx context.Context, args []string) (file string, p *plan.Rollout, raw []byte, nc *natsSession, err error) {
	if file, err = c.parseFile(args); err != nil {
		return "", nil, nil, nil, err
	}
	if p, raw, err = readPlan(file); err != nil {
		return "", nil, nil, nil, err
	}
	if nc, err = c.conn.dialNATS(ctx, true); err != nil {
		return "", nil, nil, nil, err
	}
	return file, p, raw, nc, nil
}

func readPlan(file string) (p *plan.Rollout, raw []byte, err error) {
	raw, err = os.ReadFile(file)
	if err != nil {
		return nil, nil, cmdline.Failed(err)
	}
	if p, err = plan.Load(file, raw); err != nil {
		return nil, nil, cmdline.Failed(err)
	}
	return p, raw, nil
}

// rolloutRef names a rollout by its tenant token and plan name.
type rolloutRef struct{ tenant, rollout string }

func (r rolloutRef) id() string { return workflows.WorkflowID(r.tenant, r.rollout) }

// parseRollout is parse for a command that names one rollout.
func (c *command) parseRollout(args []string, checks ...func() error) (rolloutRef, error) {
	pos, err := c.parse(args, checks...)
	if err != nil {
		return rolloutRef{}, err
	}
	if len(pos) != 1 {
		return rolloutRef{}, cmdline.Usage("%s needs a rollout id, e.g. ssprflow %s sspr/contoso_onmicrosoft_com/sspr-pilot", c.name, c.name)
	}
	t, r, ok := workflows.ParseWorkflowID(pos[0])
	if !ok {
		return rolloutRef{}, cmdline.Usage("%q is not a rollout id: use sspr/<tenant>/<plan> (as printed by 'rollout start' and 'rollout list')", pos[0])
	}
	return rolloutRef{tenant: t, rollout: r}, nil
}

// rolloutOnTemporal parses a command that names one rollout, then connects
// to Temporal. The caller closes the client.
func (c *command) rolloutOnTemporal(ctx context.Context, args []string, checks ...func() error) (string, client.Client, error) {
	r, err := c.parseRollout(args, checks...)
	if err != nil {
		return "", nil, err
	}
	tc, err := c.conn.dialTemporal(ctx)
	if err != nil {
		return "", nil, err
	}
	return r.id(), tc, nil
}

// rolloutOnNATS parses a command that names one rollout, then connects to
// NATS (see connFlags.dialNATS). The caller closes the session.
func (c *command) rolloutOnNATS(ctx context.Context, args []string, requireUser bool) (rolloutRef, *natsSession, error) {
	r, err := c.parseRollout(args)
	if err != nil {
		return rolloutRef{}, nil, err
	}
	s, err := c.conn.dialNATS(ctx, requireUser)
	if err != nil {
		return rolloutRef{}, nil, err
	}
	return r, s, nil
}
