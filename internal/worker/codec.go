package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/payloadcrypt"
)

// errNoCodec is RequireCodec's error: it says how to add keys.
var errNoCodec = errors.New("temporal.codec: this process has no payload keys, and without them member UPNs would reach Temporal history in clear text; " +
	"add temporal: {codec: {current: k1, keys: [{id: k1, secret: {file: /run/secrets/ssprflow-codec-k1}}]}} with a key from 'openssl rand -base64 32' " +
	"(every worker, agent and client of a deployment needs the same keys; without --config: $" + config.EnvCodecKeys + "=k1:BASE64), " +
	"or codec: {disabled: true} for development only")

// RequireCodec refuses a worker or agent configuration without a payload
// codec (one that says codec: {disabled: true} passes, and is warned
// about where it starts).
func RequireCodec(c config.Temporal) error {
	if c.Codec == nil {
		return errNoCodec
	}
	return nil
}

// warnIfDisabled says loudly that history will hold personal data.
func warnIfDisabled(c config.Temporal, logger *slog.Logger) {
	if c.Codec != nil && c.Codec.Disabled {
		logger.Warn("temporal.codec is DISABLED: member UPNs and every other payload go to Temporal history in clear text; development only")
	}
}

// codecServer returns a function that serves the Web UI's codec endpoint
// until ctx ends. It refuses an address other than loopback without a
// token, even if the configuration was not validated.
func codecServer(c *config.CodecServer, codec *payloadcrypt.Codec, logger *slog.Logger) (func(ctx context.Context) error, error) {
	if codec == nil || codec.Current() == "" {
		return nil, errors.New("temporal.codecServer: there is nothing to decode without temporal.codec keys")
	}
	token, err := c.Token.Resolve()
	if err != nil {
		return nil, fmt.Errorf("temporal.codecServer.token: %w", err)
	}
	if token == "" && !config.IsLoopback(c.Listen) {
		return nil, fmt.Errorf("temporal.codecServer: refusing to serve decoded payloads on %s without a token: set temporal.codecServer.token or listen on 127.0.0.1", c.Listen)
	}
	if token == "" {
		logger.Warn("codec endpoint without a token: every local user of this host can decode payloads", "listen", c.Listen)
	}
	h := codec.Handler(payloadcrypt.HandlerOptions{Token: token, AllowedOrigins: c.AllowedOrigins})
	return func(ctx context.Context) error {
		ln, err := net.Listen("tcp", c.Listen)
		if err != nil {
			return fmt.Errorf("codec endpoint on %s: %w", c.Listen, err)
		}
		logger.Info("codec endpoint for the Temporal Web UI", "listen", ln.Addr().String(), "origins", c.AllowedOrigins)
		if err := serveUntil(ctx, ln, h, "", ""); err != nil {
			return fmt.Errorf("codec endpoint on %s: %w", c.Listen, err)
		}
		return nil
	}, nil
}

// AgentCodec is the agent's codec without --config: a key file, or
// $SSPRFLOW_CODEC_KEYS.
func AgentCodec(keysFile string) *config.Codec {
	if keysFile != "" {
		return config.CodecKeyList(config.Secret{File: keysFile})
	}
	if _, ok := os.LookupEnv(config.EnvCodecKeys); ok {
		return config.CodecKeyList(config.Secret{Env: config.EnvCodecKeys})
	}
	return nil
}
