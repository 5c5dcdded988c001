package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// EnvCodecKeys is the environment variable from which processes without a
// configuration file (the writeback agent, the CLI) read the payload keys,
// in the ParseCodecKeyList format.
const EnvCodecKeys = "SSPRFLOW_CODEC_KEYS"

// CodecKeySize is the size of a payload key: AES-256.
const CodecKeySize = 32

// Codec configures the Temporal payload codec: every payload the worker
// and its clients write to Temporal (rollout inputs, member UPNs, activity
// results, failures) is encrypted with AES-256-GCM under the current key;
// any listed key decrypts, so keys rotate by id. Every worker and client of
// a deployment needs the same keys.
//
// A worker refuses to start without a codec, unless it says
// `disabled: true`, which is for development only (the worker then warns
// that history holds personal data in clear text).
type Codec struct {
	// Disabled turns the codec off on purpose. Never in production.
	Disabled bool `yaml:"disabled,omitempty"`
	// KeySet: the current key encrypts, every listed key decrypts; keep a
	// retired key listed while any history (up to the namespace's
	// retention) was written with it. Keys are exactly 32 bytes.
	KeySet `yaml:",inline"`

	// keyList, set by CodecKeyList, holds every key in one secret.
	keyList Secret
}

// CodecServer is the codec endpoint the Temporal Web UI calls to show
// decoded payloads (its "Codec Server" setting). It decodes for whoever
// presents Token from one of AllowedOrigins.
type CodecServer struct {
	// Listen is host:port. An address other than loopback requires Token.
	Listen string `yaml:"listen"`
	// AllowedOrigins are the Web UI origins browsers may call from, e.g.
	// https://temporal-ui.corp.example.
	AllowedOrigins []string `yaml:"allowedOrigins,omitempty"`
	// Token is the bearer token a caller must present (a reference).
	Token Secret `yaml:"token,omitempty"`
}

// CodecKeyList returns a codec whose keys all come from one secret in the
// ParseCodecKeyList format, for processes without a configuration file.
func CodecKeyList(s Secret) *Codec { return &Codec{keyList: s} }

// ResolveKeys reads the keys. Errors name the key id, never the key.
func (c *Codec) ResolveKeys() (current string, keys map[string][]byte, err error) {
	if !c.keyList.IsZero() {
		v, err := c.keyList.Resolve()
		if err != nil {
			return "", nil, fmt.Errorf("payload keys: %w", err)
		}
		return ParseCodecKeyList(v)
	}
	keys, err = c.resolve("temporal.codec", DecodeCodecKey)
	return c.Current, keys, err
}

// DecodeCodecKey decodes a payload key: standard base64 of exactly 32
// bytes. Errors never include the key material.
func DecodeCodecKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("not base64 (create a key with: openssl rand -base64 32)")
	}
	if len(b) != CodecKeySize {
		return nil, fmt.Errorf("decodes to %d bytes, AES-256 needs %d (create a key with: openssl rand -base64 32)", len(b), CodecKeySize)
	}
	return b, nil
}

// ParseCodecKeyList reads payload keys written as one string,
// "ID:BASE64[,ID:BASE64...]"; the first key is the current one. Errors
// name the entry and key id, never the key material.
func ParseCodecKeyList(s string) (current string, keys map[string][]byte, err error) {
	keys = map[string][]byte{}
	for i, entry := range strings.Split(strings.TrimSpace(s), ",") {
		id, val, ok := strings.Cut(strings.TrimSpace(entry), ":")
		id = strings.TrimSpace(id)
		if !ok || !validID(id) {
			return "", nil, fmt.Errorf("payload key list entry %d: write ID:BASE64 (e.g. k1:$(openssl rand -base64 32)), entries separated by ','", i+1)
		}
		if _, dup := keys[id]; dup {
			return "", nil, fmt.Errorf("payload key list entry %d: key %q is listed twice", i+1, id)
		}
		k, err := DecodeCodecKey(val)
		if err != nil {
			return "", nil, fmt.Errorf("payload key %q: %w", id, err)
		}
		keys[id] = k
		if i == 0 {
			current = id
		}
	}
	return current, keys, nil
}

// IsLoopback reports whether a listen address (host:port) accepts
// connections from this host only.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (t *Temporal) validateCodec() []error {
	var errs []error
	const fix = "add temporal.codec: {current: k1, keys: [{id: k1, secret: {file: /run/secrets/ssprflow-codec-k1}}]} with a key from 'openssl rand -base64 32'"
	if c := t.Codec; c != nil {
		switch {
		case c.Disabled && (len(c.Keys) > 0 || c.Current != ""):
			errs = append(errs, fmt.Errorf("temporal.codec: disabled: true with keys: remove one or the other"))
		case c.Disabled:
		case len(c.Keys) == 0:
			errs = append(errs, fmt.Errorf("temporal.codec.keys: list at least one key (%s)", fix))
		default:
			errs = append(errs, c.validate("temporal.codec")...)
		}
	}
	s := t.CodecServer
	if s == nil {
		return errs
	}
	if t.Codec == nil || t.Codec.Disabled {
		errs = append(errs, fmt.Errorf("temporal.codecServer: there is nothing to decode without temporal.codec keys (%s)", fix))
	}
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		errs = append(errs, fmt.Errorf("temporal.codecServer.listen %q: use host:port, e.g. 127.0.0.1:8088", s.Listen))
	} else if !IsLoopback(s.Listen) && s.Token.IsZero() {
		errs = append(errs, fmt.Errorf("temporal.codecServer.token: %s is reachable from other hosts: name an env: variable or file: with a bearer token, or listen on 127.0.0.1", s.Listen))
	}
	for i, o := range s.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Contains(u.Host, "*") ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("temporal.codecServer.allowedOrigins[%d] %q: write the Web UI's origin, scheme://host[:port], e.g. https://temporal-ui.corp.example", i, o))
		}
	}
	return errs
}
