// Package ad grants, checks and revokes the Active Directory rights that
// password writeback needs, reports users the rights cannot reach, and
// verifies minimum-password-age policy. It talks LDAP (go-ldap) to a domain
// controller, over LDAPS or StartTLS with certificate verification, and
// reads GPO security templates from the DC's SYSVOL share over SMB.
//
// The package never logs; credentials are passed in by the caller and never
// appear in errors.
package ad

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Config says how to reach and bind to a domain controller.
type Config struct {
	// URL is ldaps://host[:636] or ldap://host[:389]; ldap:// uses StartTLS
	// unless Insecure is set.
	URL string
	// CAFile is a PEM bundle that verifies the DC's certificate; empty means
	// the system roots.
	CAFile string
	// ServerName overrides the host name checked in the certificate.
	ServerName string
	// Insecure allows a simple bind over plain LDAP. Never in production.
	Insecure bool
	// BindUser is DOMAIN\name, a UPN or a DN.
	BindUser string
	// Password is BindUser's password, resolved by the caller (from the
	// worker's directory profile). It is never logged or put in errors.
	// The same identity reads SYSVOL over SMB (NTLM).
	Password string
	// Timeout bounds each LDAP operation (default 30s).
	Timeout time.Duration
}

// Conn is a bound LDAP connection to a domain controller. It is not safe
// for concurrent use.
type Conn struct {
	l        *ldap.Conn
	identity string
	timeout  time.Duration
	baseDN   string
	config   string
	// host is the DC's name or address from the URL: SYSVOL is read there.
	host string
	// password returns the bind password for the SMB session to SYSVOL; a
	// func, so that printing a Conn never prints it.
	password func() string
}

// sdFlagsDACL is the LDAP_SERVER_SD_FLAGS control value BER SEQUENCE {
// INTEGER 4 }: read and write the DACL only.
var sdFlagsDACL = string([]byte{0x30, 0x03, 0x02, 0x01, 0x04})

// OIDSDFlags is LDAP_SERVER_SD_FLAGS_OID.
const OIDSDFlags = "1.2.840.113556.1.4.801"

func sdFlagsControl() ldap.Control { return ldap.NewControlString(OIDSDFlags, true, sdFlagsDACL) }

// Dial connects, secures and binds. It refuses a simple bind over plain
// LDAP unless cfg.Insecure is set (ErrInsecure).
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, &Error{Op: opDial, Err: fmt.Errorf("directory URL %q: want ldaps://host[:636] or ldap://host[:389]", cfg.URL)}
	}
	if cfg.BindUser == "" || cfg.Password == "" {
		return nil, &Error{Op: opBind, Err: errors.New("bind user and password are required (an empty password would be an anonymous bind)")}
	}
	host := u.Hostname()
	port := u.Port()
	var useTLS, startTLS bool
	switch strings.ToLower(u.Scheme) {
	case "ldaps":
		useTLS = true
		if port == "" {
			port = "636"
		}
	case "ldap":
		startTLS = !cfg.Insecure
		if port == "" {
			port = "389"
		}
	default:
		return nil, &Error{Op: opDial, Err: fmt.Errorf("directory URL %q: scheme must be ldaps or ldap", cfg.URL)}
	}
	tlsCfg, err := tlsConfig(cfg, host)
	if err != nil {
		return nil, &Error{Op: opDial, Err: err}
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, classify(opDial, "", "", err)
	}
	if useTLS {
		tc := tls.Client(raw, tlsCfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, &Error{Op: opDial + " (TLS)", Err: err, Hint: hintFor(opDial, ldap.ErrorNetwork)}
		}
		raw = tc
	}
	l := ldap.NewConn(raw, useTLS)
	l.Start()
	l.SetTimeout(cfg.Timeout)
	pw := cfg.Password
	c := &Conn{l: l, identity: cfg.BindUser, timeout: cfg.Timeout, host: host, password: func() string { return pw }}
	if startTLS {
		if err := c.do(ctx, func() error { return l.StartTLS(tlsCfg) }); err != nil {
			l.Close()
			return nil, c.wrap("StartTLS", "", err)
		}
	}
	if err := c.do(ctx, func() error { return l.Bind(cfg.BindUser, cfg.Password) }); err != nil {
		l.Close()
		// Never include the password; go-ldap does not either.
		return nil, c.wrap(opBind+" as "+cfg.BindUser, "", err)
	}
	if err := c.readRootDSE(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return c, nil
}

func tlsConfig(cfg Config, host string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	if cfg.ServerName != "" {
		tc.ServerName = cfg.ServerName
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// do runs op, closing the connection if ctx ends first so that a blocked
// operation returns.
func (c *Conn) do(ctx context.Context, op func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < c.timeout {
			c.l.SetTimeout(d)
			defer c.l.SetTimeout(c.timeout)
		}
	}
	stop := context.AfterFunc(ctx, func() { c.l.Close() })
	defer stop()
	err := op()
	if ctx.Err() != nil {
		return fmt.Errorf("%w (after %v)", ctx.Err(), err)
	}
	return err
}

func (c *Conn) readRootDSE(ctx context.Context) error {
	req := ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"defaultNamingContext", "configurationNamingContext"}, nil)
	var res *ldap.SearchResult
	err := c.do(ctx, func() (err error) { res, err = c.l.Search(req); return err })
	if err != nil {
		return c.wrap("read rootDSE", "", err)
	}
	if len(res.Entries) != 1 {
		return &Error{Op: "read rootDSE", Err: ErrNotFound}
	}
	c.baseDN = res.Entries[0].GetAttributeValue("defaultNamingContext")
	c.config = res.Entries[0].GetAttributeValue("configurationNamingContext")
	return nil
}

// Close unbinds and closes the connection.
func (c *Conn) Close() error { return c.l.Close() }

// BaseDN is the domain's naming context (defaultNamingContext).
func (c *Conn) BaseDN() string { return c.baseDN }

// Identity is the account the connection is bound as.
func (c *Conn) Identity() string { return c.identity }

// LDAP exposes the underlying go-ldap connection for operations this
// package does not wrap (tests, fixtures).
func (c *Conn) LDAP() *ldap.Conn { return c.l }

// ReadSD reads dn's nTSecurityDescriptor with the SD-flags control set to
// DACL only, so the owner, group and SACL are neither needed nor returned.
func (c *Conn) ReadSD(ctx context.Context, dn string) (*SecurityDescriptor, []byte, error) {
	req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"nTSecurityDescriptor"}, []ldap.Control{sdFlagsControl()})
	var res *ldap.SearchResult
	err := c.do(ctx, func() (err error) { res, err = c.l.Search(req); return err })
	if err != nil {
		return nil, nil, c.wrap(opReadSD, dn, err)
	}
	if len(res.Entries) != 1 {
		return nil, nil, &Error{Op: opReadSD, DN: dn, Code: ldap.LDAPResultNoSuchObject, Err: ErrNotFound}
	}
	raw := res.Entries[0].GetRawAttributeValue("nTSecurityDescriptor")
	if len(raw) == 0 {
		return nil, nil, &Error{Op: opReadSD, DN: dn, Identity: c.identity, Code: ldap.LDAPResultInsufficientAccessRights,
			Err: ErrNoDACL, Hint: hintFor(opReadSD, ldap.LDAPResultInsufficientAccessRights)}
	}
	sd, err := ParseSecurityDescriptor(raw)
	if err != nil {
		return nil, nil, &Error{Op: opReadSD, DN: dn, Err: err}
	}
	if sd.DACL == nil {
		return nil, nil, &Error{Op: opReadSD, DN: dn, Err: ErrNoDACL}
	}
	return sd, raw, nil
}

// WriteSD replaces dn's DACL with sd's (SD-flags control: DACL only).
func (c *Conn) WriteSD(ctx context.Context, dn string, sd *SecurityDescriptor) error {
	b, err := sd.Bytes()
	if err != nil {
		return &Error{Op: opWriteSD, DN: dn, Err: err}
	}
	req := ldap.NewModifyRequest(dn, []ldap.Control{sdFlagsControl()})
	req.Replace("nTSecurityDescriptor", []string{string(b)})
	return c.wrap(opWriteSD, dn, c.do(ctx, func() error { return c.l.Modify(req) }))
}
