package cli

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// TestConnPrecedence: flag > SSPRFLOW_* environment > --config file >
// default, for every connection setting (rollout start --config worker.yaml
// once ignored the file's NATS URL).
func TestConnPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "client.yaml")
	if err := os.WriteFile(file, []byte(`
nats: {url: "nats://file:4222", user: file-user, password: {env: FILE_PW}, tls: {caFile: ca.pem}}
temporal: {address: "file:7233", namespace: file-ns}
tenants: [{tenant: ignored.example}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		url, user  string
		temporal   string
		namespace  string
		passwordEn string
		caFile     string
	}{
		{name: "defaults", url: defaultNATS, temporal: defaultTemporal, namespace: defaultNamespace, passwordEn: ""},
		{name: "file", args: []string{"--config", file}, url: "nats://file:4222", user: "file-user", temporal: "file:7233",
			namespace: "file-ns", passwordEn: "FILE_PW", caFile: filepath.Join(dir, "ca.pem")},
		{name: "file from env", env: map[string]string{"SSPRFLOW_CONFIG": file}, url: "nats://file:4222", user: "file-user",
			temporal: "file:7233", namespace: "file-ns", passwordEn: "FILE_PW", caFile: filepath.Join(dir, "ca.pem")},
		{name: "env beats file", args: []string{"--config", file},
			env: map[string]string{"SSPRFLOW_NATS_URL": "nats://env:4222", "SSPRFLOW_TEMPORAL": "env:7233", "SSPRFLOW_NATS_USER": "env-user"},
			url: "nats://env:4222", user: "env-user", temporal: "env:7233", namespace: "file-ns", passwordEn: "FILE_PW", caFile: filepath.Join(dir, "ca.pem")},
		{name: "flag beats env and file", args: []string{"--config", file, "--nats", "nats://flag:4222", "--temporal", "flag:7233", "--user", "flag-user", "--password-env", "FLAG_PW"},
			env: map[string]string{"SSPRFLOW_NATS_URL": "nats://env:4222", "SSPRFLOW_TEMPORAL": "env:7233"},
			url: "nats://flag:4222", user: "flag-user", temporal: "flag:7233", namespace: "file-ns", passwordEn: "FLAG_PW", caFile: filepath.Join(dir, "ca.pem")},
		{name: "nats-certs", args: []string{"--nats-certs", "/c/people/alice", "--user", "alice"}, url: defaultNATS, user: "alice",
			temporal: defaultTemporal, namespace: defaultNamespace, passwordEn: "SSPRFLOW_NATS_PASSWORD", caFile: "/c/people/alice/ca.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"SSPRFLOW_CONFIG", "SSPRFLOW_NATS_URL", "SSPRFLOW_NATS_USER", "SSPRFLOW_TEMPORAL", "SSPRFLOW_NAMESPACE", "SSPRFLOW_NATS_CERTS", "SSPRFLOW_NATS_CREDS"} {
				t.Setenv(k, tt.env[k])
			}
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			cf := addConnFlags(fs, true, true)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := cf.load(); err != nil {
				t.Fatal(err)
			}
			n, tc := cf.natsConfig(), cf.temporalConfig()
			ca := ""
			if n.TLS != nil {
				ca = n.TLS.CAFile
			}
			if n.URL != tt.url || n.User != tt.user || n.Password.Env != tt.passwordEn || ca != tt.caFile ||
				tc.Address != tt.temporal || tc.Namespace != tt.namespace {
				t.Errorf("got nats %s user %q pw-env %q ca %q, temporal %s/%s; want %s %q %q %q, %s/%s",
					n.URL, n.User, n.Password.Env, ca, tc.Address, tc.Namespace, tt.url, tt.user, tt.passwordEn, tt.caFile, tt.temporal, tt.namespace)
			}
		})
	}
}
