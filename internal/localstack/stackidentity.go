package localstack

import (
	"sort"

	"github.com/ssprflow/ssprflow/internal/config"
)

// envDevSigningKey holds the local stack's decision-signing key.
const envDevSigningKey = "SSPRFLOW_DEV_SIGNING_KEY"

// Identity gives a worker configuration for this stack its people (every
// local NATS user but the worker's is a person of the same id) and a
// signing key made for this run, held in this process's environment.
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
	cfg.Signing = &config.Signing{KeySet: devKeySet(envDevSigningKey, "dev")}
}
