package cli

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"sort"

	"github.com/ssprflow/ssprflow/internal/config"
)

// envDevSigningKey holds the local stack's decision-signing key.
const envDevSigningKey = "SSPRFLOW_DEV_SIGNING_KEY"

// Identity gives a worker configuration for this stack its people (every
// local NATS user but the worker's is a person of the same id) and a
// signing key made for this run, in the worker's environment only.
func (s *Stack) Identity(cfg *config.Config) {
	var users []string
	for u := range s.Passwords {
		if u != WorkerUser {
			users = append(users, u)
		}
	}
	sort.Strings(users)
	cfg.People = nil
	for _, u := range users {
		cfg.People = append(cfg.People, config.Person{ID: u, NATS: []string{u}})
	}
	if os.Getenv(envDevSigningKey) == "" {
		var b [32]byte
		_, _ = rand.Read(b[:])
		os.Setenv(envDevSigningKey, base64.StdEncoding.EncodeToString(b[:]))
	}
	cfg.Signing = &config.Signing{KeySet: config.KeySet{Current: "dev", Keys: []config.Key{{ID: "dev", Secret: config.Secret{Env: envDevSigningKey}}}}}
}
