package deploytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// deployDir is the repository's deploy/ directory, or SSPRFLOW_TEST_DEPLOY_DIR
// (e.g. an older revision's, to see these tests fail on it).
var deployDir = func() string {
	if d := os.Getenv("SSPRFLOW_TEST_DEPLOY_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "deploy")
}()

// pki is one run of deploy/certs.sh, shared by the tests that only read it.
var pki struct {
	once sync.Once
	dir  string
	err  error
}

// certsDir runs certs.sh once for the package (operator ops1, approver
// alice) and returns its output directory.
func certsDir(t *testing.T) string {
	t.Helper()
	pki.once.Do(func() {
		dir, err := os.MkdirTemp("", "ssprflow-certs-")
		if err != nil {
			pki.err = err
			return
		}
		pki.dir = filepath.Join(dir, "certs")
		_, pki.err = runCerts(pki.dir, "--operators", "ops1", "--approvers", "alice", "--temporal-san", "temporal.corp.example")
	})
	if pki.err != nil {
		t.Fatal(pki.err)
	}
	return pki.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pki.dir != "" {
		os.RemoveAll(filepath.Dir(pki.dir))
	}
	os.Exit(code)
}

func runCerts(out string, args ...string) (string, error) {
	if _, err := exec.LookPath("openssl"); err != nil {
		return "", errors.New("openssl not installed: deploy/certs.sh needs it")
	}
	cmd := exec.Command("bash", append([]string{filepath.Join(deployDir, "certs.sh"), "--out", out}, args...)...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return string(b), errors.New("certs.sh: " + err.Error() + "\n" + string(b))
	}
	return string(b), nil
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("%s: no PEM certificate", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func pool(t *testing.T, paths ...string) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	for _, path := range paths {
		p.AddCert(readCert(t, path))
	}
	return p
}

func keyPair(t *testing.T, dir, name string) tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The CAs peers trust, in certs.sh's output, and the two uses of a
// certificate.
const (
	serverCA         = "ca/server-ca.pem"
	temporalClientCA = "ca/temporal-client-ca.pem"
	natsClientCA     = "ca/nats-client-ca.pem"

	serverUse = x509.ExtKeyUsageServerAuth
	clientUse = x509.ExtKeyUsageClientAuth
)

// verifyUse reads the certificate cert and verifies it against the CA ca
// for usage and, for a server, under name (both paths relative to d).
func verifyUse(t *testing.T, d, cert, ca string, usage x509.ExtKeyUsage, name string) (*x509.Certificate, error) {
	t.Helper()
	c := readCert(t, filepath.Join(d, cert))
	_, err := c.Verify(x509.VerifyOptions{Roots: pool(t, filepath.Join(d, ca)), KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: name})
	return c, err
}

// TestCertsForTheirUse: every certificate verifies against the CA its peer
// trusts, for its use and under its names.
func TestCertsForTheirUse(t *testing.T) {
	d := certsDir(t)
	tests := []struct {
		cert, ca string
		usage    x509.ExtKeyUsage
		name     string // DNS name or IP a client dials (servers)
		cn       string
	}{
		{"nats/server.pem", serverCA, serverUse, "nats", "nats-server"},
		{"nats/server.pem", serverCA, serverUse, "127.0.0.1", "nats-server"},
		{"temporal/frontend.pem", serverCA, serverUse, "temporal", "temporal-frontend"},
		{"temporal/frontend.pem", serverCA, serverUse, "temporal.corp.example", "temporal-frontend"},
		{"temporal/internode.pem", serverCA, serverUse, "temporal-internode", "temporal-internode"},
		{"temporal/internode.pem", serverCA, clientUse, "", "temporal-internode"},
		{"temporal-ui/temporal.pem", temporalClientCA, clientUse, "", "temporal-ui"},
		{"worker/temporal.pem", temporalClientCA, clientUse, "", "ssprflow-worker"},
		{"worker/nats.pem", natsClientCA, clientUse, "", "ssprflow-worker"},
		{"agent/temporal.pem", temporalClientCA, clientUse, "", "ssprflow-writeback-agent"},
		{"people/ops1/nats.pem", natsClientCA, clientUse, "", "ops1"},
		{"people/ops1/temporal.pem", temporalClientCA, clientUse, "", "ops1"},
		{"people/alice/nats.pem", natsClientCA, clientUse, "", "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.cert+"/"+tt.name, func(t *testing.T) {
			c, err := verifyUse(t, d, tt.cert, tt.ca, tt.usage, tt.name)
			if err != nil {
				t.Errorf("does not verify for its use: %v", err)
			}
			if c.Subject.CommonName != tt.cn {
				t.Errorf("CN %q, want %q", c.Subject.CommonName, tt.cn)
			}
			if c.IsCA {
				t.Error("an end-entity certificate is a CA")
			}
		})
	}
}

// TestCertsOnlyForTheirUse: no certificate opens a door it is not for.
func TestCertsOnlyForTheirUse(t *testing.T) {
	d := certsDir(t)
	tests := []struct {
		why, cert, ca string
		usage         x509.ExtKeyUsage
		name          string
	}{
		{"the agent cannot serve", "agent/temporal.pem", temporalClientCA, serverUse, ""},
		{"the agent cannot reach NATS", "agent/temporal.pem", natsClientCA, clientUse, ""},
		{"an approver cannot reach Temporal", "people/alice/nats.pem", temporalClientCA, clientUse, ""},
		{"the worker's NATS certificate is not a Temporal one", "worker/nats.pem", temporalClientCA, clientUse, ""},
		{"a worker cannot pose as the NATS server", "worker/nats.pem", serverCA, serverUse, "nats"},
		// The frontend admits server-ca's certificates as clients (the system
		// worker's internode one): the server certificates must not pass.
		{"the NATS server certificate is no client", "nats/server.pem", serverCA, clientUse, ""},
		{"the frontend certificate is no client", "temporal/frontend.pem", serverCA, clientUse, ""},
		{"the NATS certificate is not Temporal's", "nats/server.pem", serverCA, serverUse, "temporal"},
		{"no wildcard names", "temporal/frontend.pem", serverCA, serverUse, "evil.example"},
	}
	for _, tt := range tests {
		t.Run(tt.why, func(t *testing.T) {
			if _, err := verifyUse(t, d, tt.cert, tt.ca, tt.usage, tt.name); err == nil {
				t.Errorf("%s verifies against %s for %v %q", tt.cert, filepath.Base(tt.ca), tt.usage, tt.name)
			}
		})
	}
	agent := readCert(t, filepath.Join(d, "agent", "temporal.pem"))
	if !slices.Equal(agent.ExtKeyUsage, []x509.ExtKeyUsage{clientUse}) || len(agent.DNSNames)+len(agent.IPAddresses) != 0 {
		t.Errorf("agent certificate: EKU %v, names %v %v; want client use only, no names", agent.ExtKeyUsage, agent.DNSNames, agent.IPAddresses)
	}
	entries, err := os.ReadDir(filepath.Join(d, "agent"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"ca.pem", "temporal-key.pem", "temporal.pem"}; !slices.Equal(names, want) {
		t.Errorf("agent/ holds %v, want only %v", names, want)
	}
}

// TestCertsFiles: keys are 0600, and no CA key leaves ca/ (only component
// directories are mounted into containers).
func TestCertsFiles(t *testing.T) {
	d := certsDir(t)
	err := filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d, path)
		switch mode := info.Mode().Perm(); {
		case e.IsDir() && mode != 0o700:
			t.Errorf("%s/ is %o, want 700", rel, mode)
		case strings.HasSuffix(path, "-key.pem") && mode != 0o600:
			t.Errorf("%s is %o, want 600", rel, mode)
		}
		if strings.HasSuffix(rel, "ca-key.pem") && filepath.Dir(rel) != "ca" {
			t.Errorf("CA key %s outside ca/", rel)
		}
		if strings.HasSuffix(path, "-key.pem") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if _, err := x509.ParsePKCS8PrivateKey(pemBytes(b)); err != nil {
				t.Errorf("%s: %v", rel, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func pemBytes(b []byte) []byte {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil
	}
	return blk.Bytes
}

// TestCertsIdempotent: a second run changes nothing; adding a person issues
// only that person's certificates; a changed name reissues only that server's.
func TestCertsIdempotent(t *testing.T) {
	d := filepath.Join(t.TempDir(), "certs")
	if _, err := runCerts(d, "--approvers", "alice"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, d)
	out, err := runCerts(d, "--approvers", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "" {
		t.Errorf("second run printed %q, want nothing", out)
	}
	if diff := changed(before, snapshot(t, d)); len(diff) != 0 {
		t.Errorf("second run changed %v", diff)
	}
	if _, err := runCerts(d, "--approvers", "alice,bob", "--nats-san", "nats.corp.example"); err != nil {
		t.Fatal(err)
	}
	want := []string{"nats/server-key.pem", "nats/server.pem", "people/bob/ca.pem", "people/bob/nats-key.pem", "people/bob/nats.pem"}
	if diff := changed(before, snapshot(t, d)); !slices.Equal(diff, want) {
		t.Errorf("adding bob and a NATS name changed %v, want %v", diff, want)
	}
	if c := readCert(t, filepath.Join(d, "nats", "server.pem")); !slices.Contains(c.DNSNames, "nats.corp.example") {
		t.Errorf("NATS server names %v lack nats.corp.example", c.DNSNames)
	}
	if out, err := runCerts(d, "--approvers", "al ice"); err == nil {
		t.Errorf("a person id with a space was accepted: %s", out)
	}
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasSuffix(path, ".srl") {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func changed(a, b map[string][]byte) []string {
	var diff []string
	for k, v := range b {
		if !bytes.Equal(a[k], v) {
			diff = append(diff, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			diff = append(diff, k)
		}
	}
	slices.Sort(diff)
	return diff
}

// selfSigned is a client certificate no CA of ours signed.
func selfSigned(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// handshake runs one mTLS handshake against a server configured as srv and
// returns the server's verdict on the client's certificate.
func handshake(t *testing.T, srv *tls.Config, cli *tls.Config) error {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	verdict := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			verdict <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		err = c.(*tls.Conn).Handshake()
		if err == nil {
			_, err = c.Write([]byte("ok"))
		}
		verdict <- err
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), cli)
	if err == nil {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Read(make([]byte, 2)) // TLS 1.3: the server's refusal arrives after the client's handshake
		c.Close()
	}
	return <-verdict
}

// TestMTLSHandshakes runs crypto/tls servers configured as NATS (nats-tls.conf)
// and the Temporal frontend (docker-compose.yml) are, with clients holding
// each certificate.
func TestMTLSHandshakes(t *testing.T) {
	d := certsDir(t)
	roots := pool(t, filepath.Join(d, "worker", "ca.pem"))
	natsServer := &tls.Config{Certificates: []tls.Certificate{keyPair(t, filepath.Join(d, "nats"), "server")},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool(t, filepath.Join(d, "nats", "client-ca.pem"))}
	frontend := &tls.Config{Certificates: []tls.Certificate{keyPair(t, filepath.Join(d, "temporal"), "frontend")},
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  pool(t, filepath.Join(d, "temporal", "client-ca.pem"), filepath.Join(d, "temporal", "server-ca.pem"))}
	client := func(dir, name string) []tls.Certificate {
		return []tls.Certificate{keyPair(t, filepath.Join(d, dir), name)}
	}
	tests := []struct {
		name       string
		server     *tls.Config
		serverName string
		certs      []tls.Certificate
		ok         bool
	}{
		{"NATS: worker", natsServer, "nats", client("worker", "nats"), true},
		{"NATS: approver", natsServer, "nats", client("people/alice", "nats"), true},
		{"NATS: no certificate", natsServer, "nats", nil, false},
		{"NATS: self-signed", natsServer, "nats", []tls.Certificate{selfSigned(t, "ssprflow-worker")}, false},
		{"NATS: writeback agent", natsServer, "nats", client("agent", "temporal"), false},
		{"NATS: worker's Temporal certificate", natsServer, "nats", client("worker", "temporal"), false},
		{"Temporal: worker", frontend, "temporal", client("worker", "temporal"), true},
		{"Temporal: writeback agent", frontend, "temporal", client("agent", "temporal"), true},
		{"Temporal: UI", frontend, "temporal", client("temporal-ui", "temporal"), true},
		{"Temporal: operator", frontend, "temporal", client("people/ops1", "temporal"), true},
		{"Temporal: system worker (internode)", frontend, "temporal", client("temporal", "internode"), true},
		{"Temporal: approver's NATS certificate", frontend, "temporal", client("people/alice", "nats"), false},
		{"Temporal: NATS server certificate", frontend, "temporal", client("nats", "server"), false},
		{"Temporal: self-signed", frontend, "temporal", []tls.Certificate{selfSigned(t, "ssprflow-worker")}, false},
		{"Temporal: no certificate", frontend, "temporal", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := handshake(t, tt.server, &tls.Config{RootCAs: roots, ServerName: tt.serverName, Certificates: tt.certs})
			if tt.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tt.ok && err == nil {
				t.Error("accepted")
			}
		})
	}
	// And the client side: a worker refuses a server that is not the one it dialled.
	if err := handshake(t, natsServer, &tls.Config{RootCAs: roots, ServerName: "temporal", Certificates: client("worker", "temporal")}); err == nil {
		t.Error("a client dialling temporal accepted the NATS server's certificate")
	}
}
