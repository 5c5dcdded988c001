package config

import "fmt"

// KeySet is a rotating set of named keys, as both the signing keys and the
// payload codec keys are: one current key signs or encrypts, every listed
// key verifies or decrypts, so a key rotates by adding the new one, making
// it current, and removing the old one once nothing needs it.
type KeySet struct {
	// Current names the key that signs or encrypts.
	Current string `yaml:"current,omitempty"`
	// Keys are all the keys still accepted.
	Keys []Key `yaml:"keys,omitempty"`
}

// Key is one named key: random bytes, standard base64 encoded
// (`openssl rand -base64 32`), in a file or an environment variable.
type Key struct {
	ID     string `yaml:"id"`
	Secret Secret `yaml:"secret"`
}

// validate checks ids, references and the current key; field names the
// set in errors ("signing", "temporal.codec").
func (s KeySet) validate(field string) []error {
	var errs []error
	seen := map[string]bool{}
	for i, k := range s.Keys {
		if !validID(k.ID) || seen[k.ID] {
			errs = append(errs, fmt.Errorf("%s.keys[%d].id %q: give each key a unique short name (letters, digits, '-' or '_')", field, i, k.ID))
		}
		seen[k.ID] = true
		if k.Secret.IsZero() {
			errs = append(errs, fmt.Errorf("%s.keys[%d].secret: name an env: variable or a file: holding the key (openssl rand -base64 32)", field, i))
		}
	}
	if !seen[s.Current] {
		errs = append(errs, fmt.Errorf("%s.current %q: name one of %s.keys", field, s.Current, field))
	}
	return errs
}

// resolve reads and decodes every key. Errors name the set and the key id,
// never the key material.
func (s KeySet) resolve(field string, decode func(string) ([]byte, error)) (map[string][]byte, error) {
	keys := make(map[string][]byte, len(s.Keys))
	for _, k := range s.Keys {
		v, err := k.Secret.Resolve()
		if err != nil {
			return nil, fmt.Errorf("%s key %q: %w", field, k.ID, err)
		}
		if keys[k.ID], err = decode(v); err != nil {
			return nil, fmt.Errorf("%s key %q: %w", field, k.ID, err)
		}
	}
	return keys, nil
}
