package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Dir is a store in a local directory, one file per blob named by its hex
// digest: for a single process that needs no NATS (tests, `ssprflow plan`
// tools). It has the methods of Store the activities use.
type Dir string

// Put stores what r reads and returns its digest.
func (d Dir) Put(_ context.Context, r io.ReadSeeker) (string, error) {
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return "", fmt.Errorf("blob dir: %w", err)
	}
	tmp, err := os.CreateTemp(string(d), ".put-*")
	if err != nil {
		return "", fmt.Errorf("blob dir: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, MaxSize+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("blob dir: %w", err)
	}
	if n > MaxSize {
		return "", fmt.Errorf("blob dir: %w: more than %d MiB", ErrTooLarge, MaxSize>>20)
	}
	hexd := hex.EncodeToString(h.Sum(nil))
	if err := os.Rename(tmp.Name(), filepath.Join(string(d), hexd)); err != nil {
		return "", fmt.Errorf("blob dir: %w", err)
	}
	return "sha256:" + hexd, nil
}

// Path returns the file holding the blob, verified.
func (d Dir) Path(_ context.Context, digest string) (string, error) {
	hexd, err := ParseDigest(digest)
	if err != nil {
		return "", err
	}
	p := filepath.Join(string(d), hexd)
	f, err := os.Open(p)
	if os.IsNotExist(err) {
		return "", fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	if err != nil {
		return "", fmt.Errorf("blob dir: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("blob dir: %w", err)
	}
	if hex.EncodeToString(h.Sum(nil)) != hexd {
		return "", fmt.Errorf("blob %s: %w", digest, ErrCorrupt)
	}
	return p, nil
}
