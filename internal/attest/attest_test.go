package attest

import (
	"bytes"
	"errors"
	"testing"
)

func ring(t *testing.T, current string, ids ...string) *Keyring {
	t.Helper()
	keys := map[string][]byte{}
	for i, id := range ids {
		keys[id] = bytes.Repeat([]byte{byte('a' + i)}, MinKeySize)
	}
	k, err := NewKeyring(current, keys)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerify(t *testing.T) {
	k1 := ring(t, "k1", "k1")
	sig := k1.Sign("decision/v1", "wf", "alice", "approve")
	rotated := ring(t, "k2", "k1", "k2")
	other := ring(t, "k1", "x", "k1") // same id, different key bytes
	tests := []struct {
		name   string
		k      *Keyring
		sig    Signature
		fields []string
		want   error
	}{
		{"same key", k1, sig, []string{"wf", "alice", "approve"}, nil},
		{"after rotation the old key still verifies", rotated, sig, []string{"wf", "alice", "approve"}, nil},
		{"another field", k1, sig, []string{"wf", "bob", "approve"}, ErrBadSignature},
		{"fields shifted", k1, sig, []string{"wfa", "lice", "approve"}, ErrBadSignature},
		{"other purpose", k1, k1.Sign("start/v1", "wf", "alice", "approve"), []string{"wf", "alice", "approve"}, ErrBadSignature},
		{"unsigned", k1, Signature{}, []string{"wf"}, ErrUnsigned},
		{"unknown key", k1, Signature{KeyID: "zz", MAC: sig.MAC}, []string{"wf", "alice", "approve"}, ErrUnknownKey},
		{"same id, other key", other, sig, []string{"wf", "alice", "approve"}, ErrBadSignature},
		{"garbage mac", k1, Signature{KeyID: "k1", MAC: "!!"}, []string{"wf", "alice", "approve"}, ErrBadSignature},
		{"nil keyring", nil, sig, []string{"wf", "alice", "approve"}, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.k.Verify("decision/v1", tt.sig, tt.fields...)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	if s := rotated.Sign("p", "x"); s.KeyID != "k2" {
		t.Fatalf("rotated keyring signs with %q, want k2", s.KeyID)
	}
}

func TestNewKeyringRefuses(t *testing.T) {
	long := bytes.Repeat([]byte{1}, MinKeySize)
	for name, tc := range map[string]struct {
		current string
		keys    map[string][]byte
	}{
		"no keys":         {"k1", nil},
		"short key":       {"k1", map[string][]byte{"k1": []byte("short")}},
		"current missing": {"k9", map[string][]byte{"k1": long}},
		"empty id":        {"", map[string][]byte{"": long}},
	} {
		if _, err := NewKeyring(tc.current, tc.keys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
