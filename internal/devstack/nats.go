package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/crypto/bcrypt"
)

// NATSUser is a user of the embedded NATS server.
type NATSUser struct {
	Name     string
	Password string
	// Publish lists the subjects (wildcards allowed) the user may publish to.
	// nil allows every subject; an empty, non-nil slice allows none.
	Publish []string
	// Subscribe lists the subjects the user may subscribe to, with the same
	// rules. A user that makes requests (including JetStream publishes that wait
	// for an ack) needs its reply subjects here too, e.g. "_INBOX.>", and one
	// that calls the JetStream API needs the API subjects in Publish.
	// ssprflow's users take both lists from approval.RolePermissions.
	Subscribe []string
	// AllowResponses lets the user answer each request it receives once,
	// within two minutes, on the request's reply subject (allow_responses).
	AllowResponses bool
}

// NATSOptions configures StartNATS.
type NATSOptions struct {
	// Port is the client port on 127.0.0.1; 0 picks a free one. Restart keeps
	// the port.
	Port int
	// StoreDir holds JetStream's streams. Empty means a temporary directory
	// removed by Stop (it survives Restart).
	StoreDir string
	// Users, when set, are the only clients the server accepts, each limited to
	// its subjects. Without users the server accepts anyone.
	Users []NATSUser
	// Logger receives the server's warnings and errors; nil discards them.
	Logger *slog.Logger
}

// NATS is a NATS server with JetStream running in this process.
type NATS struct {
	mu        sync.Mutex
	srv       *server.Server
	opts      NATSOptions // Port and StoreDir resolved
	tempStore bool
	hashes    map[string]string // user name -> bcrypt hash of the password
	logger    *slog.Logger
	stopped   bool
}

// JetStream limits for a developer machine; the server's defaults size
// themselves to the host's memory and disk.
const (
	natsMaxMemory = 256 << 20
	natsMaxStore  = 2 << 30
)

// StartNATS starts a NATS server with JetStream and returns once it accepts
// clients.
func StartNATS(ctx context.Context, opts NATSOptions) (*NATS, error) {
	if err := validateNATSOptions(opts); err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	if opts.Port != 0 {
		if err := CheckPortFree(net.JoinHostPort(loopback, strconv.Itoa(opts.Port))); err != nil {
			return nil, fmt.Errorf("start nats: %w", err)
		}
	}
	n := &NATS{opts: opts, logger: quietLogger(opts.Logger)}
	n.opts.Users = append([]NATSUser(nil), opts.Users...)
	// The server gets bcrypt hashes, so it holds no plaintext password (and
	// does not warn about them). The minimum cost keeps logins fast locally.
	n.hashes = make(map[string]string, len(opts.Users))
	for _, u := range opts.Users {
		h, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.MinCost)
		if err != nil {
			return nil, fmt.Errorf("start nats: user %q: hash password: %w", u.Name, err)
		}
		n.hashes[u.Name] = string(h)
	}
	if n.opts.StoreDir == "" {
		dir, err := os.MkdirTemp("", "ssprflow-nats-")
		if err != nil {
			return nil, fmt.Errorf("start nats: store directory: %w", err)
		}
		n.opts.StoreDir, n.tempStore = dir, true
	} else if err := os.MkdirAll(n.opts.StoreDir, 0o700); err != nil {
		return nil, fmt.Errorf("start nats: store directory %q: %w", n.opts.StoreDir, err)
	}

	srv, err := n.start(ctx)
	if err != nil {
		n.removeTempStore()
		return nil, fmt.Errorf("start nats: %w", err)
	}
	n.srv = srv
	// Restart must come back on the same port, so clients reconnect by themselves.
	n.opts.Port = srv.Addr().(*net.TCPAddr).Port
	return n, nil
}

func validateNATSOptions(opts NATSOptions) error {
	if opts.Port < 0 || opts.Port > 65535 {
		return fmt.Errorf("port %d out of range: use 1-65535, or 0 for a free port", opts.Port)
	}
	seen := map[string]bool{}
	for i, u := range opts.Users {
		switch {
		case u.Name == "":
			return fmt.Errorf("users[%d]: name is empty", i)
		case u.Password == "":
			return fmt.Errorf("user %q: password is empty", u.Name)
		case seen[u.Name]:
			return fmt.Errorf("user %q is listed twice", u.Name)
		}
		seen[u.Name] = true
	}
	return nil
}

func (n *NATS) start(ctx context.Context) (*server.Server, error) {
	port := n.opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	sopts := &server.Options{
		ServerName:         "ssprflow-dev",
		Host:               loopback,
		Port:               port,
		JetStream:          true,
		JetStreamMaxMemory: natsMaxMemory,
		JetStreamMaxStore:  natsMaxStore,
		StoreDir:           n.opts.StoreDir,
		NoSigs:             true, // signals belong to the embedding process
	}
	for _, u := range n.opts.Users {
		sopts.Users = append(sopts.Users, &server.User{
			Username:    u.Name,
			Password:    n.hashes[u.Name],
			Permissions: permissions(u),
		})
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, err
	}
	srv.SetLoggerV2(natsLogger{l: n.logger}, false, false, false)
	srv.Start()

	wait := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		srv.WaitForShutdown()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("not ready for connections on %s:%d after %s", loopback, n.opts.Port, wait)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, errors.New("jetstream did not start (see the server's log)")
	}
	return srv, nil
}

func permissions(u NATSUser) *server.Permissions {
	if u.Publish == nil && u.Subscribe == nil && !u.AllowResponses {
		return nil
	}
	p := &server.Permissions{Publish: subjectPermission(u.Publish), Subscribe: subjectPermission(u.Subscribe)}
	if u.AllowResponses {
		p.Response = &server.ResponsePermission{MaxMsgs: server.DEFAULT_ALLOW_RESPONSE_MAX_MSGS, Expires: server.DEFAULT_ALLOW_RESPONSE_EXPIRATION}
	}
	return p
}

func subjectPermission(subjects []string) *server.SubjectPermission {
	switch {
	case subjects == nil:
		return nil
	case len(subjects) == 0:
		return &server.SubjectPermission{Deny: []string{">"}}
	default:
		return &server.SubjectPermission{Allow: append([]string(nil), subjects...)}
	}
}

// URL returns the server's client URL without credentials, e.g.
// "nats://127.0.0.1:4333".
func (n *NATS) URL() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return "nats://" + net.JoinHostPort(loopback, strconv.Itoa(n.opts.Port))
}

// ClientURL returns the client URL with the named user's credentials in it.
// It is meant for local runs and tests: the URL carries the password, so keep
// it out of logs.
func (n *NATS) ClientURL(user string) (string, error) {
	for _, u := range n.opts.Users {
		if u.Name == user {
			return (&url.URL{
				Scheme: "nats",
				User:   url.UserPassword(u.Name, u.Password),
				Host:   net.JoinHostPort(loopback, strconv.Itoa(n.opts.Port)),
			}).String(), nil
		}
	}
	return "", fmt.Errorf("nats client url: no user %q", user)
}

// StoreDir returns the directory holding JetStream's streams.
func (n *NATS) StoreDir() string { return n.opts.StoreDir }

// Restart stops the server and starts it again on the same port and store, as
// a crash and restart would. Connected clients see a disconnect and reconnect;
// streams, consumers and stored messages survive.
func (n *NATS) Restart(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return fmt.Errorf("restart nats: %w", ErrStopped)
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	srv, err := n.start(ctx)
	if err != nil {
		n.stopped = true
		n.removeTempStore()
		return fmt.Errorf("restart nats: %w", err)
	}
	n.srv = srv
	return nil
}

// Stop shuts the server down, releases its port and removes a temporary store.
// Calling it again does nothing.
func (n *NATS) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return
	}
	n.stopped = true
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.removeTempStore()
}

func (n *NATS) removeTempStore() {
	if n.tempStore {
		if err := os.RemoveAll(n.opts.StoreDir); err != nil {
			n.logger.Warn("remove nats store", "dir", n.opts.StoreDir, "err", err)
		}
	}
}
