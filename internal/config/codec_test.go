package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	testKey1 = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=" // 32 x 0x01
	testKey2 = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=" // 32 x 0x02
)

func TestCodecValidate(t *testing.T) {
	const base = "temporal:\n  address: t:7233\n"
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{"keys", base + "  codec:\n    current: k2\n    keys:\n      - {id: k1, secret: {file: /run/secrets/k1}}\n      - {id: k2, secret: {env: K2}}\n", ""},
		{"disabled", base + "  codec: {disabled: true}\n", ""},
		{"no codec is left to the worker", base, ""},
		{"server on loopback without token", base + "  codec: {current: k1, keys: [{id: k1, secret: {env: K1}}]}\n  codecServer: {listen: '127.0.0.1:8088', allowedOrigins: ['https://temporal-ui.corp.example']}\n", ""},
		{"server with token", base + "  codec: {current: k1, keys: [{id: k1, secret: {env: K1}}]}\n  codecServer: {listen: ':8088', token: {env: TOK}}\n", ""},
		{"disabled with keys", base + "  codec: {disabled: true, current: k1, keys: [{id: k1, secret: {env: K1}}]}\n", "temporal.codec: disabled: true with keys"},
		{"no keys", base + "  codec: {current: k1}\n", "temporal.codec.keys: list at least one key"},
		{"current not listed", base + "  codec: {current: k3, keys: [{id: k1, secret: {env: K1}}]}\n", `temporal.codec.current "k3"`},
		{"duplicate id", base + "  codec: {current: k1, keys: [{id: k1, secret: {env: K1}}, {id: k1, secret: {env: K2}}]}\n", `temporal.codec.keys[1].id "k1"`},
		{"bad id", base + "  codec: {current: 'a b', keys: [{id: 'a b', secret: {env: K1}}]}\n", `temporal.codec.keys[0].id "a b"`},
		{"no secret", base + "  codec: {current: k1, keys: [{id: k1}]}\n", "temporal.codec.keys[0].secret"},
		{"unknown key", base + "  codec: {current: k1, keys: [{id: k1, secret: {env: K1}, value: x}]}\n", "value"},
		{"server without codec", base + "  codecServer: {listen: '127.0.0.1:8088'}\n", "temporal.codecServer: there is nothing to decode"},
		{"server on all interfaces without token", base + "  codec: {current: k1, keys: [{id: k1, secret: {env: K1}}]}\n  codecServer: {listen: ':8088'}\n", "temporal.codecServer.token"},
		{"server on a LAN address without token", base + "  codec: {current: k1, keys: [{id: k1, secret: {env: K1}}]}\n  codecServer: {listen: '10.0.0.5:8088'}\n", "temporal.codecServer.token"},
		{"server without port", base + "  codec: {current: k1, keys: [{id: k1, secret: {env: K1}}]}\n  codecServer: {listen: '127.0.0.1'}\n", "temporal.codecServer.listen"},
		{"wildcard origin", base + "  codec: {current: k1, keys: [{id: k1, secret: {env: K1}}]}\n  codecServer: {listen: '127.0.0.1:8088', allowedOrigins: ['*']}\n", "temporal.codecServer.allowedOrigins[0]"},
		{"origin with a path", base + "  codec: {current: k1, keys: [{id: k1, secret: {env: K1}}]}\n  codecServer: {listen: '127.0.0.1:8088', allowedOrigins: ['https://ui.example/namespaces']}\n", "temporal.codecServer.allowedOrigins[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("w.yaml", []byte(tc.yaml))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestCodecResolveKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "k1")
	if err := os.WriteFile(file, []byte(testKey1+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSPRFLOW_TEST_CODEC_K2", testKey2)
	t.Setenv("SSPRFLOW_TEST_CODEC_SHORT", "AQID")
	t.Setenv("SSPRFLOW_TEST_CODEC_LIST", "k2:"+testKey2+", k1:"+testKey1)
	c := &Codec{KeySet: KeySet{Current: "k2", Keys: []Key{{ID: "k1", Secret: Secret{File: file}}, {ID: "k2", Secret: Secret{Env: "SSPRFLOW_TEST_CODEC_K2"}}}}}
	cur, keys, err := c.ResolveKeys()
	if err != nil || cur != "k2" || !bytes.Equal(keys["k1"], bytes.Repeat([]byte{1}, 32)) || !bytes.Equal(keys["k2"], bytes.Repeat([]byte{2}, 32)) {
		t.Fatalf("ResolveKeys = %q, %v, %v", cur, keys, err)
	}
	cur, keys, err = CodecKeyList(Secret{Env: "SSPRFLOW_TEST_CODEC_LIST"}).ResolveKeys()
	if err != nil || cur != "k2" || len(keys) != 2 {
		t.Fatalf("key list: %q, %v, %v", cur, keys, err)
	}
	_, _, err = (&Codec{KeySet: KeySet{Current: "k1", Keys: []Key{{ID: "k1", Secret: Secret{Env: "SSPRFLOW_TEST_CODEC_SHORT"}}}}}).ResolveKeys()
	if err == nil || !strings.Contains(err.Error(), `"k1"`) || !strings.Contains(err.Error(), "3 bytes") || strings.Contains(err.Error(), "AQID") {
		t.Errorf("short key: %v (must name the id, not the value)", err)
	}
	_, _, err = CodecKeyList(Secret{Env: "SSPRFLOW_TEST_CODEC_UNSET"}).ResolveKeys()
	if err == nil || !strings.Contains(err.Error(), "SSPRFLOW_TEST_CODEC_UNSET") {
		t.Errorf("unset list: %v", err)
	}
}

func TestParseCodecKeyList(t *testing.T) {
	cur, keys, err := ParseCodecKeyList(" k2:" + testKey2 + " , k1:" + testKey1 + "\n")
	if err != nil || cur != "k2" || len(keys["k1"]) != 32 || len(keys["k2"]) != 32 {
		t.Fatalf("ParseCodecKeyList = %q, %v, %v", cur, keys, err)
	}
	for _, bad := range []string{"", "k1", ":" + testKey1, "k1:" + testKey1 + ",k1:" + testKey2, "k1:not base64!", "k1:AQID", "k 1:" + testKey1} {
		_, _, err := ParseCodecKeyList(bad)
		if err == nil {
			t.Errorf("ParseCodecKeyList(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), testKey1) || strings.Contains(err.Error(), testKey2) || strings.Contains(err.Error(), "AQID") {
			t.Errorf("ParseCodecKeyList(%q) error shows the key: %v", bad, err)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8088": true, "[::1]:8088": true, "localhost:8088": true, "127.1.2.3:1": true,
		":8088": false, "0.0.0.0:8088": false, "10.0.0.5:8088": false, "codec.corp:8088": false, "127.0.0.1": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %t", addr, got)
		}
	}
}
