package localstack

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/ssprflow/ssprflow/internal/config"
)

// envDevCodecKey holds the local stack's payload key (base64) in this
// process; devCodecKeyID is its id.
const (
	envDevCodecKey = "SSPRFLOW_DEV_CODEC_KEY"
	devCodecKeyID  = "dev"
)

// Codec gives a worker configuration for this stack a payload codec, so
// history holds no member UPN in clear text: a key made for this run (or
// set by persistDevCodecKey), in this process's environment only. The
// agent gets it through CodecEnv, a CLI through CodecKeys. With the
// Temporal UI, the worker also serves the UI's codec endpoint, on loopback
// and for the UI's origin only.
func (s *Stack) Codec(cfg *config.Config) {
	cfg.Temporal.Codec = &config.Codec{KeySet: devKeySet(envDevCodecKey, devCodecKeyID)}
	if s.UI != nil {
		cfg.Temporal.CodecServer = &config.CodecServer{Listen: s.codecListen, AllowedOrigins: []string{s.UI.URL()}}
	}
}

// devKeySet is a one-key KeySet for the local stack: a random 32-byte key
// in this process's environment variable env, made on first use.
func devKeySet(env, id string) config.KeySet {
	if os.Getenv(env) == "" {
		os.Setenv(env, randomKey())
	}
	return config.KeySet{Current: id, Keys: []config.Key{{ID: id, Secret: config.Secret{Env: env}}}}
}

// randomKey is 32 random bytes, base64: a signing or payload key.
func randomKey() string {
	var b [config.CodecKeySize]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// CodecKeys is the stack's payload key in the $SSPRFLOW_CODEC_KEYS format
// (call Codec first).
func (s *Stack) CodecKeys() string { return devCodecKeyID + ":" + os.Getenv(envDevCodecKey) }

// CodecEnv is the environment entry that gives a child process (the
// writeback agent) the stack's payload key.
func (s *Stack) CodecEnv() []string { return []string{config.EnvCodecKeys + "=" + s.CodecKeys()} }

// persistDevCodecKey keeps the dev stack's payload key in file (created
// 0600 on first use), so a stack whose Temporal database survives a
// restart can still read the histories it wrote.
func persistDevCodecKey(file string) error {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		b = []byte(randomKey())
		if err := os.WriteFile(file, append(b, '\n'), 0o600); err != nil {
			return fmt.Errorf("save the dev payload key: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("read the dev payload key: %w", err)
	}
	if _, err := config.DecodeCodecKey(string(b)); err != nil {
		return fmt.Errorf("dev payload key %s: %w", file, err)
	}
	os.Setenv(envDevCodecKey, strings.TrimSpace(string(b)))
	return nil
}
