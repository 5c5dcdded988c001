package payloadcrypt

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const upn = "adele.vance@contoso.onmicrosoft.com"

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func mustNew(t testing.TB, current string, keys map[string][]byte) *Codec {
	t.Helper()
	c, err := New(current, keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// oneKey is a codec that holds one key, k1, and encrypts with it.
func oneKey(t testing.TB) *Codec { return mustNew(t, "k1", map[string][]byte{"k1": key(1)}) }

func plain(s string) *commonpb.Payload {
	return &commonpb.Payload{Metadata: map[string][]byte{MetadataEncoding: []byte("json/plain")}, Data: []byte(`"` + s + `"`)}
}

func TestRoundTripHidesThePlaintext(t *testing.T) {
	c := oneKey(t)
	in := []*commonpb.Payload{plain(upn), plain(""), {Data: []byte{}}}
	enc, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range enc {
		if !IsEncrypted(p) || string(p.Metadata[MetadataKeyID]) != "k1" {
			t.Errorf("payload %d: metadata %v", i, p.Metadata)
		}
		b, _ := proto.Marshal(p)
		if bytes.Contains(b, []byte("adele")) || bytes.Contains(b, []byte("json/plain")) {
			t.Errorf("payload %d: the encoded payload shows its content or encoding", i)
		}
	}
	again, _ := c.Encode(in)
	if bytes.Equal(enc[0].Data, again[0].Data) {
		t.Error("two encodings of one payload are equal: the nonce is not random")
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if !proto.Equal(in[i], dec[i]) {
			t.Errorf("payload %d: decoded %v, want %v", i, dec[i], in[i])
		}
	}
}

func TestRotation(t *testing.T) {
	old := oneKey(t)
	sealedK1, err := old.Encode([]*commonpb.Payload{plain("before rotation")})
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustNew(t, "k2", map[string][]byte{"k1": key(1), "k2": key(2)})
	sealedK2, err := rotated.Encode([]*commonpb.Payload{plain("after rotation")})
	if err != nil {
		t.Fatal(err)
	}
	if id := string(sealedK2[0].Metadata[MetadataKeyID]); id != "k2" {
		t.Fatalf("after rotation the codec encodes with %q, want k2", id)
	}
	dec, err := rotated.Decode(append(sealedK1, sealedK2...))
	if err != nil {
		t.Fatalf("decode both generations: %v", err)
	}
	if string(dec[0].Data) != `"before rotation"` || string(dec[1].Data) != `"after rotation"` {
		t.Errorf("decoded %q and %q", dec[0].Data, dec[1].Data)
	}
	// A worker that dropped k1 too early says which key it lacks.
	retired := mustNew(t, "k2", map[string][]byte{"k2": key(2)})
	_, err = retired.Decode(sealedK1)
	var uk *UnknownKeyError
	if !errors.As(err, &uk) || uk.KeyID != "k1" || !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"k1"`) {
		t.Errorf("decode with k1 retired: %v", err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	c := mustNew(t, "k1", map[string][]byte{"k1": key(1), "k2": key(2)})
	seal := func() *commonpb.Payload {
		enc, err := c.Encode([]*commonpb.Payload{plain(upn)})
		if err != nil {
			t.Fatal(err)
		}
		return enc[0]
	}
	for _, tc := range []struct {
		name   string
		mutate func(p *commonpb.Payload)
		want   error
	}{
		{"a flipped ciphertext bit", func(p *commonpb.Payload) { p.Data[len(p.Data)-20] ^= 1 }, ErrTampered},
		{"a flipped nonce bit", func(p *commonpb.Payload) { p.Data[0] ^= 1 }, ErrTampered},
		{"a truncated tag", func(p *commonpb.Payload) { p.Data = p.Data[:len(p.Data)-1] }, ErrTampered},
		{"relabelled with another held key", func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k2") }, ErrTampered},
		{"an unknown key id", func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k9") }, ErrUnknownKey},
		{"no key id", func(p *commonpb.Payload) { delete(p.Metadata, MetadataKeyID) }, ErrMalformed},
		{"too short", func(p *commonpb.Payload) { p.Data = p.Data[:10] }, ErrMalformed},
		{"no data", func(p *commonpb.Payload) { p.Data = nil }, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := seal()
			tc.mutate(p)
			out, err := c.Decode([]*commonpb.Payload{plain("fine"), p})
			if !errors.Is(err, tc.want) || out != nil {
				t.Errorf("Decode = %v, %v; want %v", out, err, tc.want)
			}
		})
	}
	_, err := c.Decode([]*commonpb.Payload{func() *commonpb.Payload { p := seal(); p.Metadata[MetadataKeyID] = []byte("k9"); return p }()})
	if err == nil || !strings.Contains(err.Error(), `"k9"`) {
		t.Errorf("an unknown key's error does not name it: %v", err)
	}
}

func TestDecodePassesPlainPayloadsThrough(t *testing.T) {
	c := oneKey(t)
	in := []*commonpb.Payload{plain(upn), {Metadata: map[string][]byte{MetadataEncoding: []byte("binary/null")}}, nil}
	out, err := c.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("payload %d changed", i)
		}
	}
}

func TestNoKeys(t *testing.T) {
	sealed, _ := oneKey(t).Encode([]*commonpb.Payload{plain(upn)})
	c := NoKeys()
	if _, err := c.Encode([]*commonpb.Payload{plain(upn)}); !errors.Is(err, ErrNoKeys) {
		t.Errorf("Encode without keys: %v", err)
	}
	if out, err := c.Encode(nil); err != nil || out != nil {
		t.Errorf("Encode of nothing without keys: %v, %v", out, err)
	}
	if _, err := c.Decode([]*commonpb.Payload{plain("x")}); err != nil {
		t.Errorf("plain payload without keys: %v", err)
	}
	if _, err := c.Decode(sealed); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "k1") {
		t.Errorf("encrypted payload without keys: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		current string
		keys    map[string][]byte
	}{
		{"no keys", "k1", nil},
		{"short key", "k1", map[string][]byte{"k1": key(1)[:16]}},
		{"long key", "k1", map[string][]byte{"k1": append(key(1), 0)}},
		{"current not held", "k2", map[string][]byte{"k1": key(1)}},
		{"id with a comma", "a,b", map[string][]byte{"a,b": key(1)}},
		{"empty id", "", map[string][]byte{"": key(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.current, tc.keys); err == nil {
				t.Error("accepted")
			}
		})
	}
}

type member struct{ UPN string }

// TestClientConvertersEncryptValuesAndFailures: what the SDK writes with
// Apply's converters (values, and failures with their messages) holds no
// UPN, and reads back.
func TestClientConvertersEncryptValuesAndFailures(t *testing.T) {
	c := oneKey(t)
	dc := c.DataConverter()
	p, err := dc.ToPayload(member{UPN: upn})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := proto.Marshal(p); bytes.Contains(b, []byte("adele")) {
		t.Error("the data converter wrote the UPN in clear text")
	}
	var back member
	if err := dc.FromPayload(p, &back); err != nil || back.UPN != upn {
		t.Errorf("FromPayload = %+v, %v", back, err)
	}

	fc := c.FailureConverter()
	f := fc.ErrorToFailure(temporal.NewApplicationError("add member "+upn+": not found", "NotFound", member{UPN: upn}))
	if b, _ := protojson.Marshal(f); bytes.Contains(b, []byte("adele")) {
		t.Errorf("the failure converter wrote the UPN in clear text: %s", b)
	}
	err = fc.FailureToError(f)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !strings.Contains(app.Error(), upn) {
		t.Errorf("FailureToError = %v", err)
	}
	var details member
	if err := app.Details(&details); err != nil || details.UPN != upn {
		t.Errorf("failure details = %+v, %v", details, err)
	}
	var _ converter.PayloadCodec = c
}

func TestDecodeMessage(t *testing.T) {
	c := oneKey(t)
	in, err := c.DataConverter().ToPayloads(member{UPN: upn})
	if err != nil {
		t.Fatal(err)
	}
	h := &historypb.History{Events: []*historypb.HistoryEvent{{
		EventId: 1,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
			WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: in},
		},
	}}}
	if b, _ := protojson.Marshal(h); bytes.Contains(b, []byte(upn)) {
		t.Fatal("history holds the UPN before decoding")
	}
	if err := c.DecodeMessage(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	var m member
	p := h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0]
	if err := converter.GetDefaultDataConverter().FromPayload(p, &m); err != nil || m.UPN != upn {
		t.Errorf("decoded start input = %+v, %v", m, err)
	}
}
