// Package attest signs and verifies the claims one ssprflow component makes
// to another through a channel that others can also write to: the approval
// bridge tells the rollout workflow "this person decided this, through this
// authenticated NATS user", and the start service tells it "this person
// started this plan". Anyone with access to Temporal alone can send an
// update or start a workflow, but cannot produce these signatures, so
// Temporal access does not let them approve or pose as an authenticated
// starter.
//
// Signatures are HMAC-SHA256 over a purpose string and length-prefixed
// fields, under a key chosen by id from a Keyring, so keys can rotate: sign
// with the current key, verify with any key still listed.
package attest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// MinKeySize is the smallest key accepted, in bytes.
const MinKeySize = 32

// Errors returned by Verify. Callers branch with errors.Is.
var (
	// ErrUnsigned means the claim carries no signature.
	ErrUnsigned = errors.New("not signed")
	// ErrUnknownKey means the signature names a key this keyring does not hold.
	ErrUnknownKey = errors.New("signed with an unknown key")
	// ErrBadSignature means the signature does not match the claim.
	ErrBadSignature = errors.New("signature does not match")
)

// Signature is a detached signature: the key id and the MAC (base64url).
// It is safe to store in workflow history: it reveals nothing of the key.
type Signature struct {
	KeyID string `json:"kid"`
	MAC   string `json:"mac"`
}

// IsZero reports an absent signature.
func (s Signature) IsZero() bool { return s.KeyID == "" && s.MAC == "" }

// Keyring holds signing keys by id; one of them signs.
type Keyring struct {
	current string
	keys    map[string][]byte
}

// NewKeyring returns a keyring that signs with current and verifies with
// any of keys. Every key must be at least MinKeySize bytes and every id a
// non-empty string without spaces.
func NewKeyring(current string, keys map[string][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("attest: no keys")
	}
	k := &Keyring{current: current, keys: make(map[string][]byte, len(keys))}
	for id, key := range keys {
		if id == "" || strings.ContainsAny(id, " \t\r\n") {
			return nil, fmt.Errorf("attest: key id %q: use a short name without spaces", id)
		}
		if len(key) < MinKeySize {
			return nil, fmt.Errorf("attest: key %q is %d bytes: use at least %d random bytes", id, len(key), MinKeySize)
		}
		k.keys[id] = append([]byte(nil), key...)
	}
	if _, ok := k.keys[current]; !ok {
		return nil, fmt.Errorf("attest: the current key %q is not among the keys (%s)", current, strings.Join(k.KeyIDs(), ", "))
	}
	return k, nil
}

// KeyIDs lists the key ids, sorted.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Sign signs fields for purpose with the current key.
func (k *Keyring) Sign(purpose string, fields ...string) Signature {
	return Signature{KeyID: k.current, MAC: base64.RawURLEncoding.EncodeToString(mac(k.keys[k.current], purpose, fields))}
}

// Verify checks that sig signs fields for purpose. Errors wrap ErrUnsigned,
// ErrUnknownKey or ErrBadSignature.
func (k *Keyring) Verify(purpose string, sig Signature, fields ...string) error {
	if k == nil {
		return fmt.Errorf("%w: this worker holds no verification key", ErrUnknownKey)
	}
	if sig.IsZero() {
		return ErrUnsigned
	}
	key, ok := k.keys[sig.KeyID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownKey, clip(sig.KeyID, 40))
	}
	got, err := base64.RawURLEncoding.DecodeString(sig.MAC)
	if err != nil || !hmac.Equal(got, mac(key, purpose, fields)) {
		return ErrBadSignature
	}
	return nil
}

// mac is HMAC-SHA256 over purpose and fields, each prefixed by its length,
// so ("ab","c") and ("a","bc") never sign alike.
func mac(key []byte, purpose string, fields []string) []byte {
	h := hmac.New(sha256.New, key)
	var n [8]byte
	for _, f := range append([]string{purpose}, fields...) {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
