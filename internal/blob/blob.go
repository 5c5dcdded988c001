// Package blob stores immutable byte strings in NATS JetStream, addressed
// by their SHA-256 digest, so that things that grow with an organisation
// (a plan with 50,000 member UPNs, an HR export, a stage's resolved member
// list) travel once and are referenced everywhere else by a short digest:
// start requests, workflow inputs, activity inputs and results carry
// "sha256:<hex>", never the bytes.
//
// A blob is a manifest message on ssprflow.blob.<hex>.m and its chunks on
// ssprflow.blob.<hex>.<n> in the stream SSPRFLOW_BLOBS. The stream keeps
// one message per subject and refuses a second (DiscardNewPerSubject), so a
// stored chunk cannot be replaced; readers verify the digest anyway, so a
// blob planted under a wrong name is refused, never used. Reading is a
// stateless direct get (no consumer), which is what the least-privilege
// NATS permissions allow operators and the worker (see
// approval.RolePermissions).
package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ssprflow/ssprflow/internal/dial"
)

// Stream and subjects of the store.
const (
	Stream        = "SSPRFLOW_BLOBS"
	subjectPrefix = "ssprflow.blob."
	// Subjects matches every manifest and chunk subject.
	Subjects = subjectPrefix + "*.*"
	// DirectGet is the JetStream API subject readers send direct gets to.
	DirectGet = "$JS.API.DIRECT.GET." + Stream
)

// Limits of the store.
const (
	// ChunkSize is the size of every chunk but the last: well below NATS's
	// default 1 MiB maximum payload.
	ChunkSize = 128 << 10
	// MaxSize bounds one blob (a 20 MB HR export fits with room).
	MaxSize = 64 << 20
	// DefaultMaxBytes bounds the whole stream; a put beyond it fails (the
	// stream discards new, never a blob a running rollout needs). JetStream
	// reserves it from the server's store up front: with 2 GiB on the dev
	// stack's 2 GiB store no other stream could be created afterwards.
	// 512 MiB holds a hundred 100,000-member rosters.
	DefaultMaxBytes = 512 << 20
	opTimeout       = 10 * time.Second
)

// Errors callers branch on.
var (
	// ErrNotFound means no blob with that digest is stored.
	ErrNotFound = errors.New("blob not found")
	// ErrCorrupt means stored bytes do not hash to their name: never use
	// them.
	ErrCorrupt = errors.New("blob does not match its digest")
	// ErrInvalidDigest means a digest is not "sha256:" and 64 lower-case
	// hex digits.
	ErrInvalidDigest = errors.New("invalid blob digest")
	// ErrTooLarge means a blob exceeds MaxSize.
	ErrTooLarge = errors.New("blob too large")
	// ErrNotPermitted means the NATS user may not use the store.
	ErrNotPermitted = errors.New("not permitted to use the blob store")
)

// Digest returns the digest of b: "sha256:" and its hex SHA-256.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseDigest checks a digest and returns its hex part (a subject token).
func ParseDigest(d string) (string, error) {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%w %q: want sha256:<64 lower-case hex digits>", ErrInvalidDigest, d)
	}
	return h, nil
}

// StreamConfig is SSPRFLOW_BLOBS: file storage, one message per subject
// and no replacing it, direct get for readers, no age limit (a rollout may
// run for months and reads its plan to the end).
func StreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:                 Stream,
		Description:          "ssprflow content-addressed blobs (plans, member lists)",
		Subjects:             []string{Subjects},
		Storage:              jetstream.FileStorage,
		Retention:            jetstream.LimitsPolicy,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		MaxMsgsPerSubject:    1,
		MaxBytes:             DefaultMaxBytes,
		MaxMsgSize:           ChunkSize + 1024,
		AllowDirect:          true,
		Replicas:             1,
	}
}

// EnsureStream creates or updates SSPRFLOW_BLOBS (the worker does, at start).
func EnsureStream(ctx context.Context, js jetstream.JetStream) error {
	if _, err := js.CreateOrUpdateStream(ctx, StreamConfig()); err != nil {
		return fmt.Errorf("ensure stream %s: %w", Stream, err)
	}
	return nil
}

// manifest is a blob's index, stored last: a manifest means every chunk
// was stored before it.
type manifest struct {
	Size   int64 `json:"size"`
	Chunks int   `json:"chunks"`
}

// Store reads and writes blobs over one NATS connection.
type Store struct {
	nc *nats.Conn
	js jetstream.JetStream
	// cache, when set, is a directory of verified blobs named by hex
	// digest: blobs are immutable, so a worker reads each one from NATS
	// once.
	cache string
}

// New returns a store on nc (an operator's or the worker's connection).
// cacheDir, when not empty, keeps verified copies on local disk.
func New(nc *nats.Conn, cacheDir string) (*Store, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	if cacheDir != "" {
		if err := os.MkdirAll(cacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("blob store: cache: %w", err)
		}
	}
	return &Store{nc: nc, js: js, cache: cacheDir}, nil
}

// Put stores the bytes r reads (at most MaxSize) and returns their digest.
// Storing what is already stored is a no-op; a partly stored blob (an
// interrupted put) is completed.
func (s *Store) Put(ctx context.Context, r io.ReadSeeker) (string, error) {
	h := sha256.New()
	size, err := io.Copy(h, io.LimitReader(r, MaxSize+1))
	if err != nil {
		return "", fmt.Errorf("blob put: read: %w", err)
	}
	if size > MaxSize {
		return "", fmt.Errorf("blob put: %w: more than %d MiB", ErrTooLarge, MaxSize>>20)
	}
	hexd := hex.EncodeToString(h.Sum(nil))
	digest := "sha256:" + hexd
	if _, err := s.manifest(ctx, hexd); err == nil {
		return digest, nil
	} else if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("blob put: %w", err)
	}
	buf := make([]byte, ChunkSize)
	chunks := 0
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := s.publish(ctx, subjectPrefix+hexd+"."+strconv.Itoa(chunks), buf[:n]); err != nil {
				return "", err
			}
			chunks++
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return "", fmt.Errorf("blob put: read: %w", rerr)
		}
	}
	m, _ := json.Marshal(manifest{Size: size, Chunks: chunks})
	if err := s.publish(ctx, subjectPrefix+hexd+".m", m); err != nil {
		return "", err
	}
	return digest, nil
}

// PutBytes stores b and returns its digest.
func (s *Store) PutBytes(ctx context.Context, b []byte) (string, error) {
	return s.Put(ctx, bytes.NewReader(b))
}

// publish stores one message; a subject already stored (a put that was
// interrupted, or two puts of the same bytes) is fine: readers verify.
func (s *Store) publish(ctx context.Context, subject string, data []byte) error {
	pctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	_, err := s.js.Publish(pctx, subject, data)
	if err == nil {
		return nil
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && strings.Contains(strings.ToLower(apiErr.Description), "maximum messages per subject") {
		return nil
	}
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		if perr := dial.PermissionError(s.nc, subject); perr != nil {
			return fmt.Errorf("blob put: %w: %w", ErrNotPermitted, perr)
		}
		return fmt.Errorf("blob put: no stream %s answered (is the worker's NATS set up?): %w", Stream, err)
	}
	return fmt.Errorf("blob put %s: %w", subject, err)
}

// Exists reports whether a complete blob with that digest is stored.
func (s *Store) Exists(ctx context.Context, digest string) (bool, error) {
	hexd, err := ParseDigest(digest)
	if err != nil {
		return false, err
	}
	_, err = s.manifest(ctx, hexd)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Bytes reads a whole blob into memory, verified. For plans; member lists
// should use Path.
func (s *Store) Bytes(ctx context.Context, digest string) ([]byte, error) {
	var buf bytes.Buffer
	if err := s.copyVerified(ctx, digest, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Path returns a local file holding the verified blob: from the cache
// directory, or fetched into it. The store must have a cache directory.
func (s *Store) Path(ctx context.Context, digest string) (string, error) {
	hexd, err := ParseDigest(digest)
	if err != nil {
		return "", err
	}
	if s.cache == "" {
		return "", errors.New("blob store: no cache directory configured")
	}
	p := filepath.Join(s.cache, hexd)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	tmp, err := os.CreateTemp(s.cache, ".fetch-*")
	if err != nil {
		return "", fmt.Errorf("blob store: cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := s.copyVerified(ctx, digest, tmp); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("blob store: cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", fmt.Errorf("blob store: cache: %w", err)
	}
	return p, nil
}

// copyVerified writes the blob to w and fails with ErrCorrupt when the
// bytes do not hash to digest. w may have received bytes on failure: write
// to a buffer or a temporary file.
func (s *Store) copyVerified(ctx context.Context, digest string, w io.Writer) error {
	hexd, err := ParseDigest(digest)
	if err != nil {
		return err
	}
	m, err := s.manifest(ctx, hexd)
	if err != nil {
		return err
	}
	if m.Size < 0 || m.Size > MaxSize || m.Chunks < 0 || int64(m.Chunks) > m.Size/ChunkSize+1 {
		return fmt.Errorf("blob %s: %w: manifest says %d bytes in %d chunks", digest, ErrCorrupt, m.Size, m.Chunks)
	}
	h := sha256.New()
	var total int64
	for i := 0; i < m.Chunks; i++ {
		data, err := s.get(ctx, subjectPrefix+hexd+"."+strconv.Itoa(i))
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("blob %s: %w: chunk %d of %d is missing", digest, ErrCorrupt, i, m.Chunks)
		}
		if err != nil {
			return err
		}
		total += int64(len(data))
		if total > m.Size {
			return fmt.Errorf("blob %s: %w: longer than its manifest's %d bytes", digest, ErrCorrupt, m.Size)
		}
		h.Write(data)
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("blob %s: %w", digest, err)
		}
	}
	if total != m.Size || hex.EncodeToString(h.Sum(nil)) != hexd {
		return fmt.Errorf("blob %s: %w (it was stored under a wrong name: upload it again from its source)", digest, ErrCorrupt)
	}
	return nil
}

func (s *Store) manifest(ctx context.Context, hexd string) (manifest, error) {
	data, err := s.get(ctx, subjectPrefix+hexd+".m")
	if err != nil {
		return manifest{}, err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return manifest{}, fmt.Errorf("blob sha256:%s: %w: manifest: %w", hexd, ErrCorrupt, err)
	}
	return m, nil
}

// get reads the message stored on subject with a direct get.
func (s *Store) get(ctx context.Context, subject string) ([]byte, error) {
	body, _ := json.Marshal(map[string]string{"last_by_subj": subject})
	rctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	m, err := s.nc.RequestWithContext(rctx, DirectGet, body)
	if err != nil {
		if perr := dial.PermissionError(s.nc, DirectGet); perr != nil {
			return nil, fmt.Errorf("blob get: %w: %w", ErrNotPermitted, perr)
		}
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, fmt.Errorf("blob get: stream %s does not exist (the worker creates it when it starts): %w", Stream, err)
		}
		return nil, fmt.Errorf("blob get %s: %w", subject, err)
	}
	if status := m.Header.Get("Status"); status != "" && len(m.Data) == 0 {
		if status == "404" {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, subject)
		}
		return nil, fmt.Errorf("blob get %s: status %s %s", subject, status, m.Header.Get("Description"))
	}
	return m.Data, nil
}
