// Package dial connects ssprflow's processes (worker, agent, CLI) to
// Temporal and NATS from their configuration: TLS, credentials and the
// payload codec, the same way everywhere.
package dial

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/payloadcrypt"
)

// PayloadCodec builds the payload codec a Temporal client uses: the
// configured keys; with no codec configured, one with no keys (it reads
// unencrypted payloads, names the key an encrypted one needs, and writes
// nothing), so a client without keys fails clearly instead of writing
// personal data in clear text; nil when the codec is disabled.
func PayloadCodec(c config.Temporal) (*payloadcrypt.Codec, error) {
	switch {
	case c.Codec == nil:
		return payloadcrypt.NoKeys(), nil
	case c.Codec.Disabled:
		return nil, nil
	}
	current, keys, err := c.Codec.ResolveKeys()
	if err != nil {
		return nil, err
	}
	codec, err := payloadcrypt.New(current, keys)
	if err != nil {
		return nil, fmt.Errorf("temporal.codec: %w", err)
	}
	return codec, nil
}

// Temporal connects to the Temporal frontend with TLS or an API key
// when configured, and the payload codec of c (see PayloadCodec). The SDK
// logs through slog, never to stdout.
func Temporal(ctx context.Context, c config.Temporal, logger *slog.Logger, mh client.MetricsHandler) (client.Client, error) {
	o := client.Options{HostPort: c.Address, Namespace: c.Namespace, Logger: log.NewStructuredLogger(logger)}
	codec, err := PayloadCodec(c)
	if err != nil {
		return nil, err
	}
	if codec != nil {
		codec.Apply(&o) // payloads and failure messages encrypted (member UPNs)
	}
	if mh != nil {
		o.MetricsHandler = mh
	}
	if c.TLS != nil {
		tc, err := tlsConfig(c.TLS)
		if err != nil {
			return nil, fmt.Errorf("temporal TLS: %w", err)
		}
		o.ConnectionOptions.TLS = tc
	}
	if !c.APIKey.IsZero() {
		key, err := c.APIKey.Resolve()
		if err != nil {
			return nil, fmt.Errorf("temporal API key: %w", err)
		}
		o.Credentials = client.NewAPIKeyStaticCredentials(key)
		if o.ConnectionOptions.TLS == nil {
			o.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	tc, err := client.DialContext(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", c.Address, err)
	}
	return tc, nil
}

// NATS connects to NATS with creds, user/password or nothing (local).
func NATS(ctx context.Context, c config.NATS, name string, extra ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	if c.URL == "" {
		return nil, nil, errors.New("nats.url is required")
	}
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(500 * time.Millisecond)}
	opts = append(opts, extra...)
	if c.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.User != "" {
		pw, err := c.Password.Resolve()
		if err != nil {
			return nil, nil, fmt.Errorf("nats password: %w", err)
		}
		opts = append(opts, nats.UserInfo(c.User, pw))
	}
	if c.TLS != nil {
		tc, err := tlsConfig(c.TLS)
		if err != nil {
			return nil, nil, fmt.Errorf("nats TLS: %w", err)
		}
		opts = append(opts, nats.Secure(tc))
	}
	nc, err := nats.Connect(c.URL, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w", c.URL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

func tlsConfig(t *config.TLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// DataConverter is the data converter a Temporal client of c uses (the
// payload codec's, see PayloadCodec), for reading payloads outside the
// client's own calls, such as an activity's heartbeat details.
func DataConverter(c config.Temporal) (converter.DataConverter, error) {
	codec, err := PayloadCodec(c)
	if err != nil {
		return nil, err
	}
	if codec == nil {
		return converter.GetDefaultDataConverter(), nil
	}
	return codec.DataConverter(), nil
}
