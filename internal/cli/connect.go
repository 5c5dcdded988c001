package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/cmdline"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/dial"
)

// Defaults of the servers' addresses: the local dev stack's.
const (
	defaultNATS      = "nats://127.0.0.1:4223"
	defaultTemporal  = "127.0.0.1:7233"
	defaultNamespace = "default"
)

// connFlags say where NATS and Temporal are and who you are on NATS. Every
// setting has one precedence: the flag, else its SSPRFLOW_* variable, else
// the file in --config ($SSPRFLOW_CONFIG: the nats: and temporal: sections
// of a worker or client configuration), else the dev stack's default.
type connFlags struct {
	fs     *flag.FlagSet
	config *string
	// NATS (nil when the command does not use NATS)
	natsURL, user, passwordEnv, creds, certs *string
	// Temporal (nil when the command does not use Temporal)
	temporal, namespace *string

	file *clientFile // read by load, after the flags are parsed
}

// clientFile is what the CLI reads from a configuration file; other
// sections (tenants, directories, people) are the worker's and ignored.
type clientFile struct {
	Temporal config.Temporal `yaml:"temporal"`
	NATS     config.NATS     `yaml:"nats"`
}

func addConnFlags(fs *flag.FlagSet, withNATS, withTemporal bool) *connFlags {
	c := &connFlags{fs: fs,
		config: fs.String("config", "", "configuration file whose nats: and temporal: sections are used (a worker's or your own) ($SSPRFLOW_CONFIG)"),
	}
	if withNATS {
		c.natsURL = fs.String("nats", "", "NATS server URL ($SSPRFLOW_NATS_URL, else the file's nats.url, else "+defaultNATS+")")
		c.user = fs.String("user", "", "your NATS user: your approver or operator id ($SSPRFLOW_NATS_USER, else the file's nats.user)")
		c.passwordEnv = fs.String("password-env", "SSPRFLOW_NATS_PASSWORD", "environment variable holding your NATS password (else the file's nats.password)")
		c.creds = fs.String("creds", "", "NATS .creds file instead of user/password ($SSPRFLOW_NATS_CREDS, else the file's nats.credsFile)")
		c.certs = fs.String("nats-certs", "", "directory with your NATS client certificate from deploy/certs.sh: ca.pem, nats.pem, nats-key.pem ($SSPRFLOW_NATS_CERTS, else the file's nats.tls)")
	}
	if withTemporal {
		c.temporal = fs.String("temporal", "", "Temporal frontend host:port ($SSPRFLOW_TEMPORAL, else the file's temporal.address, else "+defaultTemporal+")")
		c.namespace = fs.String("namespace", "", "Temporal namespace ($SSPRFLOW_NAMESPACE, else the file's temporal.namespace, else "+defaultNamespace+")")
	}
	return c
}

// pick applies the precedence to one setting.
func (c *connFlags) pick(flagName, envName, fromFile, def string) string {
	if c.isSet(flagName) {
		return c.fs.Lookup(flagName).Value.String()
	}
	if v := os.Getenv(envName); v != "" {
		return v
	}
	if fromFile != "" {
		return fromFile
	}
	return def
}

// load reads --config ($SSPRFLOW_CONFIG) once the flags are parsed; no
// file gives empty sections. The settings below read what it loaded.
func (c *connFlags) load() error {
	path := c.pick("config", "SSPRFLOW_CONFIG", "", "")
	f := &clientFile{}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cmdline.Usage("--config: %v", err)
		}
		if err := yaml.Unmarshal(b, f); err != nil {
			return cmdline.Failed(fmt.Errorf("%s: %w", path, err))
		}
		dir := filepath.Dir(path)
		rel := func(p *string) { // relative paths are relative to the file
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(dir, *p)
			}
		}
		for _, t := range []*config.TLS{f.NATS.TLS, f.Temporal.TLS} {
			if t != nil {
				rel(&t.CAFile)
				rel(&t.CertFile)
				rel(&t.KeyFile)
			}
		}
		rel(&f.NATS.CredsFile)
	}
	c.file = f
	return nil
}

// userID is who you are on NATS ("" when not said).
func (c *connFlags) userID() string {
	return c.pick("user", "SSPRFLOW_NATS_USER", c.file.NATS.User, "")
}

// natsConfig is the NATS connection the settings describe.
func (c *connFlags) natsConfig() config.NATS {
	n := c.file.NATS
	n.URL = c.pick("nats", "SSPRFLOW_NATS_URL", n.URL, defaultNATS)
	n.User = c.userID()
	n.CredsFile = c.pick("creds", "SSPRFLOW_NATS_CREDS", n.CredsFile, "")
	pwEnv := c.pick("password-env", "", "", "SSPRFLOW_NATS_PASSWORD")
	if n.Password.IsZero() || c.isSet("password-env") {
		n.Password = config.Secret{Env: pwEnv}
	}
	if n.User == "" {
		n.Password = config.Secret{}
	}
	if certs := c.pick("nats-certs", "SSPRFLOW_NATS_CERTS", "", ""); certs != "" {
		n.TLS = &config.TLS{CAFile: filepath.Join(certs, "ca.pem"),
			CertFile: filepath.Join(certs, "nats.pem"), KeyFile: filepath.Join(certs, "nats-key.pem")}
	}
	return n
}

func (c *connFlags) isSet(name string) bool {
	set := false
	c.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// temporalConfig is the Temporal connection the settings describe, with
// the payload keys of the file or $SSPRFLOW_CODEC_KEYS.
func (c *connFlags) temporalConfig() config.Temporal {
	t := c.file.Temporal
	t.Address = c.pick("temporal", "SSPRFLOW_TEMPORAL", t.Address, defaultTemporal)
	t.Namespace = c.pick("namespace", "SSPRFLOW_NAMESPACE", t.Namespace, defaultNamespace)
	if _, ok := os.LookupEnv(config.EnvCodecKeys); ok && t.Codec == nil {
		// Histories are encrypted; without keys the client reads only
		// what is not, and says which key it lacks.
		t.Codec = config.CodecKeyList(config.Secret{Env: config.EnvCodecKeys})
	}
	return t
}

func (c *connFlags) dialTemporal(ctx context.Context) (client.Client, error) {
	return dial.Temporal(ctx, c.temporalConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
}

// natsSession is a connection to NATS as one user.
type natsSession struct {
	*nats.Conn
	js   jetstream.JetStream
	user string // "" when a .creds file, or nothing, says who
}

// dialNATS connects as your NATS user. Unless requireUser, a user need
// not be named: reading the audit trail does not need to know who reads.
func (c *connFlags) dialNATS(ctx context.Context, requireUser bool) (*natsSession, error) {
	user := c.userID()
	if user == "" && requireUser {
		return nil, cmdline.Usage("say who you are on NATS: --user ID (password in $SSPRFLOW_NATS_PASSWORD), $SSPRFLOW_NATS_USER, or nats.user in --config")
	}
	conn, js, err := dialAs(ctx, c.natsConfig(), user)
	if err != nil {
		return nil, err
	}
	return &natsSession{Conn: conn, js: js, user: user}, nil
}

// dialAs connects to nc as user, with the user's own inbox prefix (the
// only inbox the server lets them read); user "" connects without one.
func dialAs(ctx context.Context, nc config.NATS, user string) (*nats.Conn, jetstream.JetStream, error) {
	var opts []nats.Option
	name := "ssprflow-cli"
	if user != "" {
		opts = append(opts, nats.CustomInboxPrefix(approval.InboxPrefix(user)))
		name += "-" + user
	}
	return dial.NATS(ctx, nc, name, opts...)
}
