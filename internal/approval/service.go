package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// The worker's request/reply services (start, pending, diff) share one
// subject shape, ssprflow.<tenant>.<rollout>.<verb>.<user>, and one rule:
// the last token is the asking NATS user, which the server's permissions
// bind to the connection, and the answer goes only to that user's inbox.

// serviceSubject returns ssprflow.<tenant>.<rollout>.<verb>.<user>.
func serviceSubject(verb, tenant, rollout, user string) (string, error) {
	if err := checkTokens("tenant", tenant, "rollout", rollout, "user", user); err != nil {
		return "", err
	}
	return Prefix + "." + tenant + "." + rollout + "." + verb + "." + user, nil
}

// parseServiceSubject splits a service subject of verb. It returns an error
// wrapping ErrInvalidSubject otherwise.
func parseServiceSubject(verb, subject string) (tenant, rollout, user string, err error) {
	t := strings.Split(subject, ".")
	if len(t) != 5 || t[0] != Prefix || t[3] != verb {
		return "", "", "", fmt.Errorf("%w: %q", ErrInvalidSubject, truncate(subject, 200))
	}
	if err := checkTokens("tenant", t[1], "rollout", t[2], "user", t[4]); err != nil {
		return "", "", "", fmt.Errorf("%w: %w", ErrInvalidSubject, err)
	}
	return t[1], t[2], t[4], nil
}

// request is one checked service request.
type request struct {
	Tenant, Rollout, User string
	Data                  []byte
}

// serve answers requests of verb until ctx ends, one worker of the queue
// group each. A request whose reply subject is not the asker's own inbox is
// refused and logged, never answered, so nobody can make the worker publish
// a worker-signed answer onto another subject. handle returns the reply
// (marshalled as JSON); it runs with a deadline of timeout.
func serve(ctx context.Context, nc *nats.Conn, verb string, timeout time.Duration, logger *slog.Logger, handle func(context.Context, request) any) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	subjects := Prefix + ".*.*." + verb + ".*"
	sub, err := nc.QueueSubscribe(subjects, "ssprflow-"+verb, func(m *nats.Msg) {
		tenant, rollout, user, err := parseServiceSubject(verb, m.Subject)
		if err != nil {
			// The subscription's filter makes this unreachable; never answer
			// on a reply subject that could not be checked.
			logger.Warn(verb+" request refused", "error", err)
			return
		}
		if !ReplyAllowed(m.Reply, user) {
			logger.Warn(verb+" request refused: reply subject is not the requester's inbox",
				"tenant", tenant, "rollout", rollout, "user", user, "reply", truncate(m.Reply, 200), "want_prefix", InboxPrefix(user)+".")
			return
		}
		hctx, cancel := context.WithTimeout(ctx, timeout)
		reply := handle(hctx, request{Tenant: tenant, Rollout: rollout, User: user, Data: m.Data})
		cancel()
		b, err := json.Marshal(reply)
		if err != nil {
			logger.Error("encode "+verb+" reply", "error", err)
			return
		}
		if err := m.Respond(b); err != nil {
			logger.Warn("answer "+verb+" request", "error", err)
		}
	})
	if err != nil {
		return fmt.Errorf("subscribe to %s requests: %w", verb, err)
	}
	<-ctx.Done()
	return sub.Unsubscribe()
}

// decodeRequest unmarshals a request body of at most limit bytes.
func decodeRequest(data []byte, limit int, what string, v any) error {
	if len(data) > limit {
		return fmt.Errorf("%w: %s request of %d bytes (limit %d)", ErrTooLarge, what, len(data), limit)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// ErrNoWorker means no worker answered a service request within its wait.
var ErrNoWorker = errors.New("no ssprflow worker answered")

// ask sends a request of verb to the worker's service as user and decodes
// the answer into reply; doing says what the request does, for errors
// ("start rollouts"). Errors wrap ErrNotPermitted (the server refused the
// publish: user is not nc's NATS user, or may not do this), ErrNoWorker or
// ErrMalformed.
func ask(ctx context.Context, nc *nats.Conn, verb, tenant, rollout, user string, body any, wait time.Duration, doing string, reply any) error {
	subj, err := serviceSubject(verb, tenant, rollout, user)
	if err != nil {
		return err
	}
	var data []byte
	if body != nil {
		if data, err = json.Marshal(body); err != nil {
			return err
		}
	}
	m, err := askWorker(ctx, nc, subj, data, wait)
	switch {
	case errors.Is(err, ErrNotPermitted):
		return fmt.Errorf("%w: NATS user %q may not %s as %q", ErrNotPermitted, nc.Opts.User, doing, user)
	case errors.Is(err, errNoWorker):
		return fmt.Errorf("%w to %s within %s: is a worker running? (%v)", ErrNoWorker, doing, wait, err)
	case err != nil:
		return fmt.Errorf("%s in %s/%s: %w", doing, tenant, rollout, err)
	}
	if err := json.Unmarshal(m.Data, reply); err != nil {
		return fmt.Errorf("%w: %s reply: %v", ErrMalformed, verb, err)
	}
	return nil
}
