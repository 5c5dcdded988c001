package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ssprflow/ssprflow/internal/blob"
	"github.com/ssprflow/ssprflow/internal/natsproc"
)

// startNATS runs the real nats-server with JetStream and returns a
// connection with the stream created, as the worker creates it.
func startNATS(t *testing.T) *nats.Conn {
	t.Helper()
	dir := t.TempDir()
	port := natsproc.FreePort(t)
	conf := filepath.Join(dir, "nats.conf")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	body := fmt.Sprintf("listen: %q\njetstream { store_dir: %q }\n", addr, filepath.Join(dir, "js"))
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	natsproc.Start(t, conf, addr, nil)
	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := blob.EnsureStream(ctx, js); err != nil {
		t.Fatal(err)
	}
	return nc
}

func TestPutAndRead(t *testing.T) {
	nc := startNATS(t)
	s, err := blob.New(nc, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	big := make([]byte, 3*blob.ChunkSize+777)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"small", []byte("alice@contoso.com\nbob@contoso.com\n")},
		{"one chunk exactly", bytes.Repeat([]byte{'x'}, blob.ChunkSize)},
		{"several chunks", big},
		// An HR export of ~600,000 UPNs: what a wave's file may be.
		{"a 20 MB member file", bytes.Repeat([]byte("firstname.lastname.00001@contoso.onmicrosoft.com\n"), 20<<20/50)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := s.PutBytes(ctx, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if d != blob.Digest(tc.data) {
				t.Fatalf("digest %s, want %s", d, blob.Digest(tc.data))
			}
			// A second put of the same bytes is a no-op.
			if d2, err := s.PutBytes(ctx, tc.data); err != nil || d2 != d {
				t.Fatalf("second put: %s, %v", d2, err)
			}
			got, err := s.Bytes(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.data) {
				t.Fatalf("read %d bytes, want %d", len(got), len(tc.data))
			}
			p, err := s.Path(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(p); !bytes.Equal(b, tc.data) {
				t.Fatal("cached file differs")
			}
			if ok, err := s.Exists(ctx, d); err != nil || !ok {
				t.Fatalf("exists: %v, %v", ok, err)
			}
		})
	}
	if ok, err := s.Exists(ctx, blob.Digest([]byte("never stored"))); err != nil || ok {
		t.Fatalf("exists of a missing blob: %v, %v", ok, err)
	}
	if _, err := s.Bytes(ctx, blob.Digest([]byte("never stored"))); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("read of a missing blob: %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "sha256:", "md5:abc", "sha256:" + strings.Repeat("A", 64), "sha256:" + strings.Repeat("0", 63) + ".>"} {
		if _, err := s.Bytes(ctx, bad); !errors.Is(err, blob.ErrInvalidDigest) {
			t.Errorf("digest %q: %v, want ErrInvalidDigest", bad, err)
		}
	}
}

// TestPlantedBlobIsRefused: someone who may publish to the store stores
// other bytes under a digest's name before the real upload. Readers refuse
// it, and the stored chunk cannot be replaced afterwards.
func TestPlantedBlobIsRefused(t *testing.T) {
	nc := startNATS(t)
	s, err := blob.New(nc, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	real := []byte("it-lead@contoso.com\n")
	d := blob.Digest(real)
	hexd, _ := blob.ParseDigest(d)
	js, _ := jetstream.New(nc)
	forged := []byte("attacker@evil.example\n")
	if _, err := js.Publish(ctx, "ssprflow.blob."+hexd+".0", forged); err != nil {
		t.Fatal(err)
	}
	m, _ := json.Marshal(map[string]int{"size": len(forged), "chunks": 1})
	if _, err := js.Publish(ctx, "ssprflow.blob."+hexd+".m", m); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bytes(ctx, d); !errors.Is(err, blob.ErrCorrupt) {
		t.Fatalf("read of a planted blob: %v, want ErrCorrupt", err)
	}
	if _, err := s.Path(ctx, d); !errors.Is(err, blob.ErrCorrupt) {
		t.Fatalf("cache of a planted blob: %v, want ErrCorrupt", err)
	}

	// A stored chunk of a good blob cannot be overwritten.
	good := []byte("bob@contoso.com\n")
	gd, err := s.PutBytes(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	ghex, _ := blob.ParseDigest(gd)
	if _, err := js.Publish(ctx, "ssprflow.blob."+ghex+".0", forged); err == nil {
		t.Fatal("overwriting a stored chunk was accepted")
	}
	if b, err := s.Bytes(ctx, gd); err != nil || !bytes.Equal(b, good) {
		t.Fatalf("good blob after the overwrite attempt: %q, %v", b, err)
	}
}

func TestTooLarge(t *testing.T) {
	nc := startNATS(t)
	s, err := blob.New(nc, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Put(context.Background(), bytes.NewReader(make([]byte, blob.MaxSize+1)))
	if !errors.Is(err, blob.ErrTooLarge) {
		t.Fatalf("put of MaxSize+1 bytes: %v, want ErrTooLarge", err)
	}
}
