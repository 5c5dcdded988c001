package signin

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// The token cache holds a refresh token that can act as an admin for
// weeks: it is encrypted at rest (AES-256-GCM, a key from the worker's
// secret reference), bound to its tenant and client (the additional data),
// written atomically with mode 0600, and never logged.

// magic starts every cache file (version 1).
var magic = []byte("ssprflow-token-cache-v1\n")

// MinKeyLength is the shortest cache key accepted.
const MinKeyLength = 16

// ErrCacheKey means the cache file was written with another key (or for
// another tenant or client), or was altered.
var ErrCacheKey = errors.New("token cache cannot be decrypted with this key for this tenant and client")

// fileCache is MSAL's cache accessor over one encrypted file.
type fileCache struct {
	path string
	aead cipher.AEAD
	ad   []byte
	mu   sync.Mutex
}

func newFileCache(path string, key []byte, tenant, client string) (*fileCache, error) {
	if path == "" {
		return nil, errors.New("token cache: a file is required")
	}
	if len(key) < MinKeyLength {
		return nil, fmt.Errorf("token cache: the key must be at least %d bytes (make one with: openssl rand -base64 32)", MinKeyLength)
	}
	sum := sha256.Sum256(key)
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &fileCache{path: path, aead: aead, ad: []byte(tenant + "\x00" + client)}, nil
}

// Replace loads the file into MSAL's cache; a missing file is an empty cache.
func (c *fileCache) Replace(_ context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	raw, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	plain, err := c.open(raw)
	if err != nil {
		return fmt.Errorf("token cache %s: %w", c.path, err)
	}
	return u.Unmarshal(plain)
}

// Export writes MSAL's cache to the file (encrypted, atomically).
func (c *fileCache) Export(_ context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	plain, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	sealed, err := c.seal(plain)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".token-cache-*")
	if err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(sealed); err != nil {
		tmp.Close()
		return fmt.Errorf("token cache: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("token cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	return nil
}

func (c *fileCache) seal(plain []byte) ([]byte, error) {
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	out := append(append([]byte{}, magic...), nonce...)
	return c.aead.Seal(out, nonce, plain, c.ad), nil
}

// open checks and decrypts a cache file's bytes.
func (c *fileCache) open(raw []byte) ([]byte, error) {
	if !bytes.HasPrefix(raw, magic) {
		return nil, errors.New("not an ssprflow token cache (bad header)")
	}
	raw = raw[len(magic):]
	if len(raw) < c.aead.NonceSize()+c.aead.Overhead() {
		return nil, errors.New("token cache is truncated")
	}
	plain, err := c.aead.Open(nil, raw[:c.aead.NonceSize()], raw[c.aead.NonceSize():], c.ad)
	if err != nil {
		return nil, ErrCacheKey
	}
	return plain, nil
}
