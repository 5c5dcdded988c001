package config

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Person is someone who starts or decides rollouts. Plans name people by
// ID (approvers: [{id: alice}]); the worker knows which authenticated
// identities are that person, so the self-approval rule compares people,
// not user names: one person's operator user and approver user are one
// person.
type Person struct {
	// ID is the person's id, as plans' approvers name it.
	ID string `yaml:"id"`
	// Name is shown to people.
	Name string `yaml:"name,omitempty"`
	// NATS lists the NATS users that authenticate as this person.
	NATS []string `yaml:"nats,omitempty"`
	// Entra lists the Microsoft Entra object ids (the id token's oid) that
	// sign in to the approval web app as this person. Object ids, not
	// user names: a UPN can be renamed or reused, an object id cannot.
	Entra []string `yaml:"entra,omitempty"`
}

// PersonByEntra returns the person an Entra object id signs in as.
func (c *Config) PersonByEntra(oid string) (Person, bool) {
	for _, p := range c.People {
		for _, o := range p.Entra {
			if strings.EqualFold(o, oid) {
				return p, true
			}
		}
	}
	return Person{}, false
}

// Policy is the worker's rules for every rollout it runs: what a plan
// may not decide for itself.
type Policy struct {
	// AllowSelfApproval lets the person who started a rollout decide its
	// gates. Off by default; a plan cannot switch it on.
	AllowSelfApproval bool `yaml:"allowSelfApproval,omitempty"`
	// AllowUnverifiedStarts lets rollouts started directly on Temporal
	// (whose starter is typed in, not authenticated) take decisions. Off by
	// default: for them the self-approval rule cannot hold.
	AllowUnverifiedStarts bool `yaml:"allowUnverifiedStarts,omitempty"`
}

// Signing holds the keys with which the approval bridge and the start
// service sign what they hand to the rollout workflow, so that access to
// Temporal alone cannot approve a gate or pose as an authenticated starter.
// Every worker of a deployment needs the same keys.
// Keys are at least 32 random bytes each; keep a retired key listed until no
// open gate needs it.
type Signing struct {
	KeySet `yaml:",inline"`
}

// PersonByNATS returns the person a NATS user authenticates as.
func (c *Config) PersonByNATS(user string) (Person, bool) {
	for _, p := range c.People {
		for _, u := range p.NATS {
			if u == user {
				return p, true
			}
		}
	}
	return Person{}, false
}

// ResolveKeys reads the signing keys. Errors name the key id, never the
// file or variable's contents.
func (s Signing) ResolveKeys() (map[string][]byte, error) {
	return s.resolve("signing", func(v string) ([]byte, error) {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("not base64 (create one with: openssl rand -base64 32)")
		}
		return b, nil
	})
}

func (c *Config) validateIdentity() []error {
	var errs []error
	ids := map[string]bool{}
	users := map[string]string{}
	for i, p := range c.People {
		switch {
		case !validID(p.ID):
			errs = append(errs, fmt.Errorf("people[%d].id %q: use 1-128 letters, digits, '-' or '_'", i, p.ID))
		case ids[p.ID]:
			errs = append(errs, fmt.Errorf("people[%d].id %q is listed twice", i, p.ID))
		}
		ids[p.ID] = true
		for j, u := range p.NATS {
			if !validID(u) {
				errs = append(errs, fmt.Errorf("people[%d].nats[%d] %q: a NATS user is 1-128 letters, digits, '-' or '_'", i, j, u))
			}
			if other, ok := users[u]; ok && other != p.ID {
				errs = append(errs, fmt.Errorf("people[%d].nats[%d]: NATS user %q already belongs to %q: one identity is one person", i, j, u, other))
			}
			users[u] = p.ID
		}
	}
	if c.Signing != nil {
		errs = append(errs, c.Signing.validate("signing")...)
	}
	return errs
}

// validID matches approval.ValidToken (not imported: config stays free of
// the NATS packages).
func validID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
