package worker

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/ssprflow/ssprflow/internal/dial"

	commonpb "go.temporal.io/api/common/v1"

	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/payloadcrypt"
)

const testCodecKey = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="

func TestPayloadCodecFromConfiguration(t *testing.T) {
	t.Setenv("SSPRFLOW_TEST_CODEC", testCodecKey)
	keyed := config.Temporal{Codec: &config.Codec{KeySet: config.KeySet{Current: "k1", Keys: []config.Key{{ID: "k1", Secret: config.Secret{Env: "SSPRFLOW_TEST_CODEC"}}}}}}
	c, err := dial.PayloadCodec(keyed)
	if err != nil || c.Current() != "k1" {
		t.Fatalf("keyed: %v, %v", c, err)
	}
	if err := RequireCodec(keyed); err != nil {
		t.Error(err)
	}
	if c, err := dial.PayloadCodec(config.Temporal{Codec: &config.Codec{Disabled: true}}); c != nil || err != nil {
		t.Errorf("disabled: %v, %v", c, err)
	}
	none, err := dial.PayloadCodec(config.Temporal{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Encode([]*commonpb.Payload{{Data: []byte(`"x"`)}}); !errors.Is(err, payloadcrypt.ErrNoKeys) {
		t.Errorf("a client without keys wrote a payload: %v", err)
	}
	if err := RequireCodec(config.Temporal{}); err == nil || !strings.Contains(err.Error(), "temporal.codec") || !strings.Contains(err.Error(), config.EnvCodecKeys) {
		t.Errorf("RequireCodec without a codec: %v", err)
	}
	t.Setenv(config.EnvCodecKeys, "a1:"+testCodecKey)
	c, err = dial.PayloadCodec(config.Temporal{Codec: AgentCodec("")})
	if err != nil || c.Current() != "a1" {
		t.Errorf("agent from $%s: %v, %v", config.EnvCodecKeys, c, err)
	}
}

func TestCodecServerRefusesAnOpenAddressWithoutToken(t *testing.T) {
	codec, err := payloadcrypt.New("k1", map[string][]byte{"k1": make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, listen := range []string{":0", "0.0.0.0:0", "192.0.2.1:0"} {
		if _, err := codecServer(&config.CodecServer{Listen: listen}, codec, quiet); err == nil || !strings.Contains(err.Error(), "without a token") {
			t.Errorf("%s without a token: %v", listen, err)
		}
	}
	t.Setenv("SSPRFLOW_TEST_CODEC_TOKEN", "t0ken")
	if _, err := codecServer(&config.CodecServer{Listen: ":0", Token: config.Secret{Env: "SSPRFLOW_TEST_CODEC_TOKEN"}}, codec, quiet); err != nil {
		t.Errorf("with a token: %v", err)
	}
	if _, err := codecServer(&config.CodecServer{Listen: "127.0.0.1:0"}, payloadcrypt.NoKeys(), quiet); err == nil {
		t.Error("a codec endpoint without keys started")
	}
}
