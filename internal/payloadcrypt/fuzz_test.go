package payloadcrypt

import (
	"errors"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/proto"
)

// FuzzDecode feeds Decode untrusted payloads (anyone with Temporal access
// writes history): as a whole wire-format payload, and as data under the
// encrypted marking with a chosen key id. Decode must never panic, and
// must fail only with its documented errors.
func FuzzDecode(f *testing.F) {
	c, err := New("k1", map[string][]byte{"k1": key(1), "k2": key(2)})
	if err != nil {
		f.Fatal(err)
	}
	sealed, err := c.Encode([]*commonpb.Payload{plain(upn), plain("")})
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range sealed {
		raw, _ := proto.Marshal(p)
		f.Add(raw, "k1", p.Data)
	}
	f.Add([]byte{}, "k2", []byte{})
	f.Add([]byte("\x0a\x00"), "k9", make([]byte, 28))
	f.Fuzz(func(t *testing.T, raw []byte, keyID string, data []byte) {
		var p commonpb.Payload
		if proto.Unmarshal(raw, &p) == nil {
			check(t, c, &p)
		}
		check(t, c, &commonpb.Payload{
			Metadata: map[string][]byte{MetadataEncoding: []byte(EncodingEncrypted), MetadataKeyID: []byte(keyID)},
			Data:     data,
		})
	})
}

func check(t *testing.T, c *Codec, p *commonpb.Payload) {
	out, err := c.Decode([]*commonpb.Payload{p})
	switch {
	case err == nil:
		if len(out) != 1 || out[0] == nil {
			t.Fatalf("Decode returned %v without an error", out)
		}
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrTampered), errors.Is(err, ErrUnknownKey):
	default:
		t.Fatalf("undocumented error: %v", err)
	}
}
