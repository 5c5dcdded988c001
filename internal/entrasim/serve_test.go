package entrasim

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseServeFlags(t *testing.T) {
	cfg, err := ParseServeFlags([]string{"--users", "10", "--seed", "4", "--faults", "rate=0.5", "--roles", "User.Read.All, Group.Read.All", "--state", "s.json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Options.Users != 10 || cfg.Options.Seed != 4 || len(cfg.Options.Faults.Rules) != 1 || len(cfg.Options.Roles) != 2 || cfg.StateFile != "s.json" {
		t.Errorf("%+v", cfg)
	}
	for _, bad := range [][]string{{"--faults", "rate=7"}, {"--users", "x"}, {"extra"}} {
		if _, err := ParseServeFlags(bad, io.Discard); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

func TestServeSavesState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{mu: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ServeConfig{Addr: "127.0.0.1:0", StateFile: path, Options: Options{Users: 5}}, out, nil)
	}()
	re := regexp.MustCompile(`listening on (\S+)\n(?s:.*)app token: (\S+)\n`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m = re.FindStringSubmatch(out.String()); m != nil {
			break
		}
	}
	if m == nil {
		cancel()
		t.Fatalf("no banner: %q", out.String())
	}
	req, _ := http.NewRequest("POST", m[1]+"/v1.0/groups", strings.NewReader(`{"displayName":"Saved","mailNickname":"saved","mailEnabled":false,"securityEnabled":true}`))
	req.Header.Set("Authorization", "Bearer "+m[2])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create: %d", res.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(b, []byte(`"Saved"`)) {
		t.Fatalf("state file: %v %s", err, b)
	}
}
