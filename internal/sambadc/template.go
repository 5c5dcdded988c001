package sambadc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Fixed identity of every DC this package starts.
const (
	Realm      = "EXAMPLE.TEST"
	Domain     = "EXAMPLE"
	BaseDN     = "DC=example,DC=test"
	ServerName = "dc1.example.test"
	hostName   = "dc1"
	// templatePlaceholderIP is the interface the template is provisioned
	// with; Start rewrites it.
	templatePlaceholderIP = "127.0.0.1"
	templateLayout        = "v2"
)

// Available reports whether Samba's binaries are installed; the error names
// the missing one and the packages that provide it.
func Available() error {
	for _, bin := range []string{"samba", "samba-tool"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found in PATH (apt-get install samba-ad-dc samba-ad-provision samba-dsdb-modules ldb-tools): %w", bin, err)
		}
	}
	return nil
}

type template struct {
	dir      string
	password string
}

var (
	tmplMu     sync.Mutex
	tmplCached *template
)

// getTemplate provisions the template once per machine (cached under the
// temp dir, keyed by Samba's version and this package's layout) and once
// per process (cached in memory). A file lock serialises test processes.
func getTemplate(ctx context.Context) (*template, error) {
	tmplMu.Lock()
	defer tmplMu.Unlock()
	if tmplCached != nil {
		return tmplCached, nil
	}
	if err := Available(); err != nil {
		return nil, err
	}
	ver, err := exec.CommandContext(ctx, "samba", "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("samba --version: %w", err)
	}
	sum := sha256.Sum256(append(ver, templateLayout...))
	root := filepath.Join(os.TempDir(), "ssprflow-sambadc")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "template-"+hex.EncodeToString(sum[:6]))
	unlock, err := lockFile(ctx, dir+".lock", true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, "READY")); err != nil {
		os.RemoveAll(dir)
		if err := provision(ctx, dir); err != nil {
			return nil, err
		}
	}
	pw, err := os.ReadFile(filepath.Join(dir, "private", "ssprflow-admin-password"))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", dir, err)
	}
	tmplCached = &template{dir: dir, password: strings.TrimSpace(string(pw))}
	return tmplCached, nil
}

// provision creates the template into a temporary directory and renames it
// into place, so a crash never leaves a half-made template behind.
func provision(ctx context.Context, dir string) error {
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	for _, d := range []string{"log", "run"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o700); err != nil {
			return err
		}
	}
	password := randomPassword()
	args := []string{"domain", "provision", "--quiet", "--targetdir=" + tmp,
		"--realm=" + Realm, "--domain=" + Domain, "--server-role=dc", "--dns-backend=NONE",
		"--host-name=" + hostName, "--adminpass=" + password, "--use-rfc2307",
		"--option=interfaces=" + templatePlaceholderIP, "--option=bind interfaces only=yes",
		"--option=log file=" + tmp + "/log/log.%m", "--option=pid directory=" + tmp + "/run",
		"--option=ncalrpc dir=" + tmp + "/run/ncalrpc",
		"--option=ntp signd socket directory=" + tmp + "/run/ntp_signd"}
	cmd := exec.CommandContext(ctx, "samba-tool", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("samba-tool domain provision: %w\n%s", err, redact(out, password))
	}
	if err := os.WriteFile(filepath.Join(tmp, "private", "ssprflow-admin-password"), []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	if err := writeCA(filepath.Join(tmp, "private", "tls")); err != nil {
		return err
	}
	if err := patchTemplateConf(filepath.Join(tmp, "etc", "smb.conf"), tmp); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "READY"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return err
	}
	// Paths in smb.conf name tmp; Start rewrites them from whatever
	// directory the template was made in, recorded here.
	if err := os.WriteFile(filepath.Join(tmp, "TEMPLATE_DIR"), []byte(tmp), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

var globalSection = regexp.MustCompile(`(?m)^\[global\]\s*$`)

// patchTemplateConf keeps the LDAP server only and points TLS at our own
// certificate: provision does not save every --option.
func patchTemplateConf(path, dir string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "server services") || strings.HasPrefix(t, "tls ") {
			continue
		}
		keep = append(keep, line)
	}
	tls := filepath.Join(dir, "private", "tls")
	extra := strings.Join([]string{
		"[global]",
		"\tserver services = ldap",
		"\ttls enabled = yes",
		"\ttls keyfile = " + filepath.Join(tls, "ssprflow-key.pem"),
		"\ttls certfile = " + filepath.Join(tls, "ssprflow-cert.pem"),
		"\ttls cafile = " + filepath.Join(tls, "ssprflow-ca.pem"),
		"\tldap server require strong auth = yes",
		// A throwaway DC: skip fsync on every LDB transaction (Samba's
		// selftest does the same); adds get several times faster.
		"\tldb:nosync = true",
	}, "\n")
	out := globalSection.ReplaceAllString(strings.Join(keep, "\n"), extra)
	return os.WriteFile(path, []byte(out), 0o600)
}

func writeCA(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "ssprflow test CA", Organization: []string{"ssprflow"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, "ssprflow-ca.pem"), "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, "ssprflow-ca-key.pem"), "PRIVATE KEY", kder, 0o600)
}

// writeServerCert issues the DC's certificate for ServerName and ip,
// signed by the template's CA. Samba refuses a key file that others can read.
func writeServerCert(dir, ip string) error {
	caPEM, err := os.ReadFile(filepath.Join(dir, "ssprflow-ca.pem"))
	if err != nil {
		return err
	}
	caKeyPEM, err := os.ReadFile(filepath.Join(dir, "ssprflow-ca-key.pem"))
	if err != nil {
		return err
	}
	cb, _ := pem.Decode(caPEM)
	kb, _ := pem.Decode(caKeyPEM)
	if cb == nil || kb == nil {
		return errors.New("template CA files are not PEM")
	}
	ca, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return err
	}
	caKey, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: ServerName},
		DNSNames:     []string{ServerName, Realm, strings.ToLower(Realm)},
		IPAddresses:  []net.IP{net.ParseIP(ip)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, "ssprflow-cert.pem"), "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, "ssprflow-key.pem"), "PRIVATE KEY", kder, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

// serial is a positive random serial: Go refuses negative ones.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

// randomPassword satisfies AD complexity rules (three character classes).
func randomPassword() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "Sp1!" + hex.EncodeToString(b)
}

func redact(out []byte, secret string) string {
	return strings.ReplaceAll(string(out), secret, "********")
}

// lockFile takes an exclusive flock on path. With wait false it fails at
// once (errLocked) when another holder exists.
func lockFile(ctx context.Context, path string, wait bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !wait {
			f.Close()
			return nil, errLocked
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var errLocked = errors.New("locked by another process")
