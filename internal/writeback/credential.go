package writeback

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
)

// CredentialFromEnv returns a CloudSyncCredential that reads the tenant admin
// user and password from the agent's environment when called.
func CredentialFromEnv(userVar, passwordVar string) func(context.Context) (string, string, error) {
	return func(context.Context) (string, string, error) {
		u, p := os.Getenv(userVar), os.Getenv(passwordVar)
		if u == "" || p == "" {
			return "", "", fmt.Errorf("read credential: %s and %s must both be set", userVar, passwordVar)
		}
		return u, p, nil
	}
}

// CredentialFromFile returns a CloudSyncCredential that reads
// {"username": "...", "password": "..."} from a file given to the agent at
// start (protect it with the service account's ACL). The file is re-read on
// every call so a rotated password is picked up without a restart.
func CredentialFromFile(path string) func(context.Context) (string, string, error) {
	return func(context.Context) (string, string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", "", fmt.Errorf("read credential file: %w", err)
		}
		var c struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			// Do not echo the file: it holds a secret.
			return "", "", fmt.Errorf("read credential file %s: invalid JSON (want {\"username\":...,\"password\":...})", path)
		}
		if c.Username == "" || c.Password == "" {
			return "", "", fmt.Errorf("read credential file %s: username and password must both be set", path)
		}
		return c.Username, c.Password, nil
	}
}
