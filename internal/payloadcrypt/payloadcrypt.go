// Package payloadcrypt is ssprflow's Temporal payload codec: it encrypts
// every payload a client or worker writes to Temporal (workflow and
// activity inputs and results, queries, updates, failures) with AES-256-GCM,
// so workflow history holds no personal data (member UPNs) in clear text.
//
// Each encrypted payload carries the id of the key that sealed it
// (metadata "encryption-key-id"), so keys rotate: encode with the current
// key, decode with any key still held. Payloads that are not encrypted
// (histories recorded before the codec, or by a client without it) pass
// through Decode unchanged.
//
// Format: metadata {encoding: binary/encrypted, encryption-key-id: ID};
// data = 12-byte random nonce || AES-GCM(key, nonce, proto(original
// payload), aad = "ssprflow-payload-v1:" + ID). The key id is authenticated,
// so a payload relabelled with another id does not decrypt.
package payloadcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/proto"
)

const (
	// KeySize is the size of every key: AES-256.
	KeySize = 32
	// MetadataEncoding is the standard Temporal metadata key for a
	// payload's encoding.
	MetadataEncoding = "encoding"
	// MetadataKeyID names the key that encrypted a payload.
	MetadataKeyID = "encryption-key-id"
	// EncodingEncrypted marks an encrypted payload.
	EncodingEncrypted = "binary/encrypted"

	nonceSize = 12
	aadPrefix = "ssprflow-payload-v1:"
)

// Errors returned by Decode and Encode. Callers branch with errors.Is.
var (
	// ErrUnknownKey means a payload is encrypted with a key this codec does
	// not hold (the error is an *UnknownKeyError naming the id).
	ErrUnknownKey = errors.New("unknown payload key")
	// ErrTampered means an encrypted payload does not authenticate: it was
	// changed, or sealed by another key under the same id.
	ErrTampered = errors.New("encrypted payload does not authenticate (changed, or a different key under the same id)")
	// ErrMalformed means a payload claims to be encrypted but is not in
	// this package's format.
	ErrMalformed = errors.New("malformed encrypted payload")
	// ErrNoKeys means a codec without keys was asked to encrypt.
	ErrNoKeys = errors.New("this client holds no payload keys and will not write payloads in clear text")
)

// UnknownKeyError names the key id a payload asks for.
type UnknownKeyError struct {
	KeyID string
	// Held are the ids this codec holds, sorted.
	Held []string
}

func (e *UnknownKeyError) Error() string {
	if len(e.Held) == 0 {
		return fmt.Sprintf("payload is encrypted with key %q and this client holds no payload keys", e.KeyID)
	}
	return fmt.Sprintf("payload is encrypted with key %q, which this codec does not hold (it holds %s)", e.KeyID, strings.Join(e.Held, ", "))
}

// Is makes errors.Is(err, ErrUnknownKey) true.
func (e *UnknownKeyError) Is(target error) bool { return target == ErrUnknownKey }

// Codec is a converter.PayloadCodec that encrypts with one current key and
// decrypts with any key it holds. It is safe for concurrent use.
type Codec struct {
	current string
	aeads   map[string]cipher.AEAD
}

// New returns a codec that encrypts with keys[current] and decrypts with
// any of keys. Every key must be KeySize bytes; ids are non-empty and have
// no spaces or commas.
func New(current string, keys map[string][]byte) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("payloadcrypt: no keys")
	}
	c := &Codec{current: current, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, key := range keys {
		if id == "" || strings.ContainsAny(id, " \t\r\n,:") {
			return nil, fmt.Errorf("payloadcrypt: key id %q: use a short name without spaces, ':' or ','", id)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("payloadcrypt: key %q is %d bytes: AES-256 needs exactly %d random bytes", id, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("payloadcrypt: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("payloadcrypt: key %q: %w", id, err)
		}
		c.aeads[id] = aead
	}
	if _, ok := c.aeads[current]; !ok {
		return nil, fmt.Errorf("payloadcrypt: the current key %q is not among the keys (%s)", current, strings.Join(c.KeyIDs(), ", "))
	}
	return c, nil
}

// NoKeys returns a codec that holds no keys: it reads payloads that are not
// encrypted, fails with an *UnknownKeyError on encrypted ones, and refuses
// to encode (ErrNoKeys), so a client without keys gets a clear error
// instead of writing personal data in clear text.
func NoKeys() *Codec { return &Codec{} }

// Current is the id of the key that encrypts ("" for NoKeys).
func (c *Codec) Current() string { return c.current }

// KeyIDs lists the ids of the keys held, sorted.
func (c *Codec) KeyIDs() []string {
	ids := make([]string, 0, len(c.aeads))
	for id := range c.aeads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Encode encrypts each payload with the current key. A payload that is
// already encrypted is left as it is (one layer is enough, and Decode
// removes one). Errors: ErrNoKeys.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if len(payloads) == 0 {
		return payloads, nil
	}
	aead, ok := c.aeads[c.current]
	if !ok {
		return nil, ErrNoKeys
	}
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if IsEncrypted(p) {
			out[i] = p
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode payload: %w", err)
		}
		data := make([]byte, nonceSize, nonceSize+len(plain)+aead.Overhead())
		if _, err := rand.Read(data); err != nil {
			return nil, fmt.Errorf("encode payload: nonce: %w", err)
		}
		data = aead.Seal(data, data[:nonceSize], plain, aad(c.current))
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{MetadataEncoding: []byte(EncodingEncrypted), MetadataKeyID: []byte(c.current)},
			Data:     data,
		}
	}
	return out, nil
}

// Decode decrypts each encrypted payload with the key it names; other
// payloads pass through unchanged. Decode treats its input as untrusted
// (anyone with Temporal access can write history). Errors: ErrUnknownKey
// (an *UnknownKeyError), ErrTampered, ErrMalformed.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !IsEncrypted(p) {
			out[i] = p
			continue
		}
		d, err := c.decrypt(p)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func (c *Codec) decrypt(p *commonpb.Payload) (*commonpb.Payload, error) {
	raw, ok := p.GetMetadata()[MetadataKeyID]
	if !ok || len(raw) == 0 {
		return nil, fmt.Errorf("%w: no %s", ErrMalformed, MetadataKeyID)
	}
	id := string(raw)
	aead, ok := c.aeads[id]
	if !ok {
		return nil, &UnknownKeyError{KeyID: id, Held: c.KeyIDs()}
	}
	data := p.GetData()
	if len(data) < nonceSize+aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrMalformed, len(data))
	}
	plain, err := aead.Open(nil, data[:nonceSize], data[nonceSize:], aad(id))
	if err != nil {
		return nil, fmt.Errorf("decode payload sealed with key %q: %w", id, ErrTampered)
	}
	var d commonpb.Payload
	if err := proto.Unmarshal(plain, &d); err != nil {
		return nil, fmt.Errorf("%w: the decrypted bytes are not a payload: %v", ErrMalformed, err)
	}
	return &d, nil
}

// IsEncrypted reports whether a payload is marked as encrypted by this
// codec.
func IsEncrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[MetadataEncoding]) == EncodingEncrypted
}

func aad(id string) []byte { return []byte(aadPrefix + id) }
