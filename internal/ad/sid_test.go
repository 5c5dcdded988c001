package ad

import (
	"cmp"
	"encoding/hex"
	"errors"
	"testing"
)

// TestSIDAndGUIDForms: SIDs and GUIDs parse from text into the bytes AD
// stores (a GUID's first three groups little endian) and print back.
func TestSIDAndGUIDForms(t *testing.T) {
	sid := func(s string) ([]byte, string, error) { v, err := ParseSIDString(s); return v.Bytes(), v.String(), err }
	guid := func(s string) ([]byte, string, error) { v, err := ParseGUID(s); return v[:], v.String(), err }
	tests := []struct {
		parse      func(string) ([]byte, string, error)
		text, wire string
		back       string // String(), when it differs from text
	}{
		{sid, "S-1-5-18", "010100000000000512000000", ""},
		{sid, "S-1-5-32-544", "01020000000000052000000020020000", ""},
		{sid, "S-1-5-21-1-2-3-1103", "010500000000000515000000010000000200000003000000" + "4f040000", ""},
		{sid, "S-1-1-0", "010100000000000100000000", ""},
		{guid, "00299570-246d-11d0-a768-00aa006e0529", "709529006d24d011a76800aa006e0529", ""},
		{guid, "bf967aba-0de6-11d0-a285-00aa003049e2", "ba7a96bfe60dd011a28500aa003049e2", ""},
		{guid, "{28630EBF-41D5-11D1-A9C1-0000F80367C1}", "bf0e6328d541d111a9c10000f80367c1", "28630ebf-41d5-11d1-a9c1-0000f80367c1"},
	}
	for _, tt := range tests {
		wire, back, err := tt.parse(tt.text)
		if err != nil {
			t.Fatalf("%s: %v", tt.text, err)
		}
		if got := hex.EncodeToString(wire); got != tt.wire {
			t.Errorf("%s: wire %s, want %s", tt.text, got, tt.wire)
		}
		if want := cmp.Or(tt.back, tt.text); back != want {
			t.Errorf("%s: String() = %s, want %s", tt.text, back, want)
		}
	}
	for _, tt := range tests[:4] {
		back, n, err := ParseSID(must(hex.DecodeString(tt.wire)))
		if err != nil || n != len(tt.wire)/2 || back.String() != tt.text {
			t.Errorf("%s: parsed %s (%d bytes, %v)", tt.text, back, n, err)
		}
	}
	for _, bad := range []struct {
		parse func(string) ([]byte, string, error)
		in    string
	}{
		{sid, "S-1"}, {sid, "X-1-5-18"}, {sid, "S-1-5-x"}, {sid, "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16"}, {sid, "S-1-5-4294967296"},
		{guid, ""}, {guid, "00299570246d11d0a76800aa006e0529"}, {guid, "zz299570-246d-11d0-a768-00aa006e0529"},
	} {
		if _, _, err := bad.parse(bad.in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: want ErrMalformed, got %v", bad.in, err)
		}
	}
	for _, bad := range []string{"", "0105000000000005", "01100000000000050000"} {
		if _, _, err := ParseSID(must(hex.DecodeString(bad))); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: want ErrMalformed, got %v", bad, err)
		}
	}
}
