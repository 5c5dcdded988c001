package ad

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestUnknownACETypeRoundTrips(t *testing.T) {
	raw := []byte{0x04, 0x00, 0x0c, 0x00, 1, 2, 3, 4, 5, 6, 7, 8}
	a, n, err := ParseACE(raw)
	if err != nil || n != 12 || !bytes.Equal(a.Bytes(), raw) {
		t.Fatalf("unknown type: %v %d %x", err, n, a.Bytes())
	}
	// Callback ACE with application data after the SID.
	cb := append([]byte{ACETypeAccessAllowedCallback, 0, 0, 0, 0x10, 0, 0, 0}, MustSID("S-1-1-0").Bytes()...)
	cb = append(cb, 'a', 'r', 't', 'x')
	binary.LittleEndian.PutUint16(cb[2:], uint16(len(cb)))
	a, n, err = ParseACE(cb)
	if err != nil || n != len(cb) || string(a.Extra) != "artx" || !bytes.Equal(a.Bytes(), cb) {
		t.Fatalf("callback ACE: %v %x", err, a.Bytes())
	}
}
