// Package sambadc runs real Samba Active Directory domain controllers for
// tests and the local demo stack. A template domain (EXAMPLE.TEST) is
// provisioned once and cloned per DC; each DC listens for LDAPS on its own
// loopback address (127.0.0.N) so that several run side by side.
package sambadc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Options configure Start.
type Options struct {
	// IP is the loopback address to listen on; empty picks the next free
	// 127.0.0.N (N from 10), guarded by a lock file across processes.
	IP string
	// Dir is where the DC's files go (it must be empty or absent); empty
	// makes a temporary directory. Stop deletes it either way.
	Dir string
	// StartTimeout bounds waiting for LDAPS to answer (default 60s).
	StartTimeout time.Duration
	// SMB also serves SYSVOL over SMB (ports 445/139), for reading GPO
	// files. Samba then runs in private mount and PID namespaces: smbd
	// looks for winbindd under /run/samba, so each DC bind-mounts its own
	// directory there, and the PID namespace ends smbd and winbindd (which
	// leave samba's process group) when samba ends.
	SMB bool
}

// DC is a running Samba AD domain controller.
type DC struct {
	// IP is the address the DC listens on.
	IP string
	// Dir holds the DC's configuration, database and logs.
	Dir string
	// CAFile verifies the DC's certificate (issued for ServerName and IP).
	CAFile string
	// ServerName is the DC's host name, as in its certificate.
	ServerName string
	// BaseDN is the domain's naming context.
	BaseDN string
	// AdminUser is EXAMPLE\Administrator; AdminUPN and AdminDN are its
	// other names.
	AdminUser, AdminUPN, AdminDN string
	// AdminPassword is Administrator's password.
	AdminPassword string
	// ConfFile is the DC's smb.conf.
	ConfFile string

	cmd      *exec.Cmd
	pgid     int
	exited   chan struct{}
	waitErr  error
	unlockIP func()
	stopOnce sync.Once
	stopErr  error
}

// URL is the DC's LDAPS URL.
func (d *DC) URL() string { return "ldaps://" + d.IP + ":636" }

// Start clones the template and starts samba in its own process group. The
// caller must Stop the DC.
func Start(ctx context.Context, opts Options) (*DC, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("a Samba AD DC must run as root (it binds ports 389 and 636 and runs as root)")
	}
	t, err := getTemplate(ctx)
	if err != nil {
		return nil, fmt.Errorf("samba template: %w", err)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	d := &DC{
		ServerName:    ServerName,
		BaseDN:        BaseDN,
		AdminUser:     Domain + `\Administrator`,
		AdminUPN:      "Administrator@" + strings.ToLower(Realm),
		AdminDN:       "CN=Administrator,CN=Users," + BaseDN,
		AdminPassword: t.password,
		exited:        make(chan struct{}),
	}
	d.IP, d.unlockIP, err = allocateIP(ctx, opts.IP, opts.SMB)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			d.Stop()
		}
	}()
	if opts.Dir == "" {
		if d.Dir, err = os.MkdirTemp("", "ssprflow-dc-"); err != nil {
			return nil, err
		}
	} else {
		if entries, err := os.ReadDir(opts.Dir); err == nil && len(entries) > 0 {
			return nil, fmt.Errorf("DC directory %s is not empty", opts.Dir)
		}
		d.Dir = opts.Dir
		if err := os.MkdirAll(d.Dir, 0o700); err != nil {
			return nil, err
		}
	}
	if err := clone(ctx, t.dir, d.Dir, d.IP, opts.SMB); err != nil {
		return nil, err
	}
	d.ConfFile = filepath.Join(d.Dir, "etc", "smb.conf")
	d.CAFile = filepath.Join(d.Dir, "private", "tls", "ssprflow-ca.pem")
	if err := writeServerCert(filepath.Dir(d.CAFile), d.IP); err != nil {
		return nil, fmt.Errorf("issue DC certificate: %w", err)
	}
	logf, err := os.Create(filepath.Join(d.Dir, "log", "samba.out"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// Not CommandContext: the DC outlives ctx, which bounds the start only.
	d.cmd = exec.Command("samba", "-s", d.ConfFile, "-F", "--no-process-group", "--debug-stdout")
	if opts.SMB {
		runDir := filepath.Join(d.Dir, "run", "samba-run")
		if err := os.MkdirAll(runDir, 0o755); err != nil {
			return nil, err
		}
		d.cmd = exec.Command("unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
			"sh", "-c", `mkdir -p /run/samba && mount --bind "$1" /run/samba && exec samba -s "$2" -F --no-process-group --debug-stdout`,
			"sh", runDir, d.ConfFile)
	}
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// Own process group so Stop can kill samba and every child it forks;
	// Pdeathsig so a crashed test binary does not leave the master behind.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start samba: %w", err)
	}
	d.pgid = d.cmd.Process.Pid
	go func() { d.waitErr = d.cmd.Wait(); close(d.exited) }()
	if err := d.waitReady(ctx, opts.StartTimeout, opts.SMB); err != nil {
		return nil, err
	}
	ok = true
	return d, nil
}

// clone copies the template and rewrites the absolute paths and the
// interface in smb.conf (the only file that holds them).
func clone(ctx context.Context, tmplDir, dir, ip string, smb bool) error {
	if out, err := exec.CommandContext(ctx, "cp", "-a", tmplDir+"/.", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("copy template: %w: %s", err, out)
	}
	orig, err := os.ReadFile(filepath.Join(dir, "TEMPLATE_DIR"))
	if err != nil {
		return err
	}
	conf := filepath.Join(dir, "etc", "smb.conf")
	b, err := os.ReadFile(conf)
	if err != nil {
		return err
	}
	s := strings.ReplaceAll(string(b), strings.TrimSpace(string(orig)), dir)
	// An address lo does not carry needs ip/mask for Samba to take it; Linux
	// routes all of 127/8 to lo, so binding works.
	s = strings.Replace(s, "interfaces = "+templatePlaceholderIP, "interfaces = "+ip+"/8", 1)
	if smb {
		s = strings.Replace(s, "server services = ldap\n", "server services = ldap, s3fs, winbindd\n", 1)
	}
	return os.WriteFile(conf, []byte(s), 0o600)
}

// waitReady polls the rootDSE over LDAPS until the DC answers and, with
// smb, until SMB accepts connections too: smbd starts after the LDAP
// server, so a ready LDAP port says nothing about SYSVOL.
func (d *DC) waitReady(ctx context.Context, timeout time.Duration, smb bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pem, err := os.ReadFile(d.CAFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tc := &tls.Config{RootCAs: pool, ServerName: d.ServerName, MinVersion: tls.VersionTLS12}
	var last error
	for {
		if last = probeRootDSE(ctx, d.IP, tc); last == nil && smb {
			last = probeSMB(ctx, d.IP)
		}
		if last == nil {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("samba exited during start (%v); log: %s", d.waitErr, d.logTail())
		case <-ctx.Done():
			return fmt.Errorf("samba did not answer LDAPS on %s within %v: %v; log: %s", d.IP, timeout, last, d.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// probeSMB reports whether SMB (445) on ip accepts a TCP connection.
func probeSMB(ctx context.Context, ip string) error {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := d.DialContext(dctx, "tcp", net.JoinHostPort(ip, "445"))
	if err != nil {
		return fmt.Errorf("SMB not up yet: %w", err)
	}
	return c.Close()
}

// probeRootDSE reads the rootDSE anonymously over LDAPS.
func probeRootDSE(ctx context.Context, ip string, tc *tls.Config) error {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	dialer := tls.Dialer{Config: tc}
	c, err := dialer.DialContext(dctx, "tcp", net.JoinHostPort(ip, "636"))
	if err != nil {
		return err
	}
	l := ldap.NewConn(c, true)
	l.Start()
	defer l.Close()
	l.SetTimeout(2 * time.Second)
	res, err := l.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"defaultNamingContext"}, nil))
	if err != nil {
		return err
	}
	if len(res.Entries) != 1 || !strings.EqualFold(res.Entries[0].GetAttributeValue("defaultNamingContext"), BaseDN) {
		return errors.New("rootDSE has no defaultNamingContext yet")
	}
	return nil
}

func (d *DC) logTail() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "log", "samba.out"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Stop kills the DC's whole process group, waits until no process of it is
// left, deletes its directory and frees its IP. It is idempotent.
func (d *DC) Stop() error {
	d.stopOnce.Do(func() { d.stopErr = d.stop() })
	return d.stopErr
}

func (d *DC) stop() error {
	var errs []error
	if d.cmd != nil && d.cmd.Process != nil {
		_ = syscall.Kill(-d.pgid, syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-d.pgid, syscall.SIGKILL)
			<-d.exited
		}
		// Children may outlive the master briefly; wait for the group to empty.
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := syscall.Kill(-d.pgid, 0)
			if errors.Is(err, syscall.ESRCH) {
				break
			}
			if time.Now().After(deadline) {
				errs = append(errs, fmt.Errorf("samba process group %d did not exit", d.pgid))
				break
			}
			_ = syscall.Kill(-d.pgid, syscall.SIGKILL)
			time.Sleep(20 * time.Millisecond)
		}
	}
	if d.Dir != "" {
		// smbd and winbindd leave samba's process group; they name the
		// DC's smb.conf on their command line.
		if err := waitNoProcessMentions(filepath.Join(d.Dir, "etc", "smb.conf"), 10*time.Second); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll(d.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	if d.unlockIP != nil {
		d.unlockIP()
	}
	return errors.Join(errs...)
}

// Running reports whether any process of the DC's group is alive.
func (d *DC) Running() bool {
	if d.pgid == 0 {
		return false
	}
	return !errors.Is(syscall.Kill(-d.pgid, 0), syscall.ESRCH)
}

// PGID is the process group of the DC's samba processes.
func (d *DC) PGID() int { return d.pgid }

func ipLockDir() string { return filepath.Join(os.TempDir(), "ssprflow-sambadc", "ip") }

// waitNoProcessMentions waits until no process has s in its command line.
func waitNoProcessMentions(s string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids := processesMentioning(s)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still use %s", pids, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processesMentioning lists processes whose command line contains s.
func processesMentioning(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// allocateIP locks ip (or the first free 127.0.0.N) for this DC's lifetime.
func allocateIP(ctx context.Context, ip string, smb bool) (string, func(), error) {
	if err := os.MkdirAll(ipLockDir(), 0o700); err != nil {
		return "", nil, err
	}
	try := func(ip string) (func(), error) {
		unlock, err := lockFile(ctx, filepath.Join(ipLockDir(), ip+".lock"), false)
		if err != nil {
			return nil, err
		}
		// Something outside our locks may hold the ports.
		ports := []string{"636", "389"}
		if smb {
			ports = append(ports, "445", "139")
		}
		for _, port := range ports {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, port))
			if err != nil {
				unlock()
				return nil, fmt.Errorf("%s:%s is in use: %w", ip, port, err)
			}
			l.Close()
		}
		return unlock, nil
	}
	if ip != "" {
		if net.ParseIP(ip) == nil {
			return "", nil, fmt.Errorf("DC IP %q is not an IP address", ip)
		}
		unlock, err := try(ip)
		if err != nil {
			return "", nil, fmt.Errorf("DC IP %s: %w", ip, err)
		}
		return ip, unlock, nil
	}
	for n := 10; n < 255; n++ {
		cand := fmt.Sprintf("127.0.0.%d", n)
		if unlock, err := try(cand); err == nil {
			return cand, unlock, nil
		}
	}
	return "", nil, errors.New("no free loopback address 127.0.0.10-254 for a DC")
}
