package signin

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

type blob []byte

func (b blob) Marshal() ([]byte, error) { return b, nil }

type sink struct{ got []byte }

func (s *sink) Unmarshal(b []byte) error { s.got = append([]byte{}, b...); return nil }

var _ cache.Marshaler = blob(nil)

func TestCacheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "cache")
	key := []byte("0123456789abcdef0123456789abcdef")
	c, err := newFileCache(path, key, "tenant-a", "client")
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(`{"RefreshToken":{"x":{"secret":"rt-value"}}}`)
	if err := c.Export(context.Background(), blob(secret), cache.ExportHints{}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	if bytes.Contains(raw, []byte("rt-value")) {
		t.Fatal("refresh token in clear")
	}
	var s sink
	if err := c.Replace(context.Background(), &s, cache.ReplaceHints{}); err != nil || !bytes.Equal(s.got, secret) {
		t.Fatalf("round trip: %q, %v", s.got, err)
	}
	tampered := append([]byte{}, raw...)
	tampered[len(tampered)-1] ^= 1
	cases := []struct {
		name   string
		key    string
		tenant string
		file   []byte
		want   error
	}{
		{"other key", "another-key-of-enough-length!!", "tenant-a", raw, ErrCacheKey},
		{"other tenant", string(key), "tenant-b", raw, ErrCacheKey},
		{"tampered", string(key), "tenant-a", tampered, ErrCacheKey},
		{"not a cache", string(key), "tenant-a", []byte(`{"plain":"json"}`), nil},
		{"truncated", string(key), "tenant-a", raw[:len(magic)+3], nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := os.WriteFile(p, tc.file, 0o600); err != nil {
				t.Fatal(err)
			}
			c2, err := newFileCache(p, []byte(tc.key), tc.tenant, "client")
			if err != nil {
				t.Fatal(err)
			}
			err = c2.Replace(context.Background(), &sink{}, cache.ReplaceHints{})
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := newFileCache(path, []byte("short"), "t", "c"); err == nil {
		t.Error("a short key was accepted")
	}
	var missing sink
	c3, _ := newFileCache(filepath.Join(dir, "none"), key, "t", "c")
	if err := c3.Replace(context.Background(), &missing, cache.ReplaceHints{}); err != nil || missing.got != nil {
		t.Errorf("missing file: %v %q", err, missing.got)
	}
}

func TestClassify(t *testing.T) {
	cfg := Config{TenantID: "t1", ClientID: "c1", Command: "ssprflow-worker login portal --tenant contoso"}
	cases := []struct {
		msg, code string
		person    bool
	}{
		{`reply status code was 400: {"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired"}`, "50173", true},
		{`AADSTS700082: The refresh token has expired due to inactivity`, "700082", true},
		{`AADSTS65001: The user or administrator has not consented`, "65001", true},
		{`{"error":"invalid_grant","error_description":"AADSTS9999999: new"}`, "", true},
		{`dial tcp 127.0.0.1:1: connection refused`, "", false},
		{`reply status code was 503`, "", false},
	}
	for _, tc := range cases {
		err := classify(cfg, errors.New(tc.msg))
		var se *Error
		if got := errors.As(err, &se); got != tc.person {
			t.Errorf("%q: needs a person = %t, want %t (%v)", tc.msg, got, tc.person, err)
			continue
		}
		if se != nil && (se.Code != tc.code || !bytes.Contains([]byte(se.Error()), []byte(cfg.Command))) {
			t.Errorf("%q: %v (code %q)", tc.msg, se, se.Code)
		}
	}
}

func FuzzOpen(f *testing.F) {
	c, err := newFileCache("x", []byte("0123456789abcdef"), "t", "c")
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := c.seal([]byte(`{}`))
	f.Add(sealed)
	f.Add([]byte("ssprflow-token-cache-v1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		plain, err := c.open(b)
		if err != nil {
			return
		}
		// Only bytes sealed with this key open: what opens carries the header
		// and authenticates again after a reseal.
		if !bytes.HasPrefix(b, magic) {
			t.Fatalf("opened %q without the header", b)
		}
		again, err := c.seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := c.open(again); err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("reseal round trip: %v", err)
		}
	})
}
