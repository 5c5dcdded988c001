package sambadc

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"github.com/ssprflow/ssprflow/internal/ad"
)

// Admin dials the DC over LDAPS as Administrator. The caller closes it.
func (d *DC) Admin(ctx context.Context) (*ad.Conn, error) {
	return d.DialAs(ctx, d.AdminUser, d.AdminPassword)
}

// DialAs dials the DC over LDAPS, verified, bound as user.
func (d *DC) DialAs(ctx context.Context, user, password string) (*ad.Conn, error) {
	return ad.Dial(ctx, d.Config(user, password))
}

// Config is an ad.Config that reaches this DC as user.
func (d *DC) Config(user, password string) ad.Config {
	return ad.Config{URL: d.URL(), CAFile: d.CAFile, ServerName: d.ServerName, BindUser: user, Password: password}
}

func (d *DC) withAdmin(ctx context.Context, f func(*ldap.Conn) error) error {
	c, err := d.Admin(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c.LDAP())
}

// CreateOU creates OU=name under parentDN (BaseDN when empty) and returns its DN.
func (d *DC) CreateOU(ctx context.Context, parentDN, name string) (string, error) {
	if parentDN == "" {
		parentDN = d.BaseDN
	}
	dn := "OU=" + ldap.EscapeDN(name) + "," + parentDN
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "organizationalUnit"})
	req.Attribute("ou", []string{name})
	err := d.withAdmin(ctx, func(l *ldap.Conn) error { return l.Add(req) })
	if err != nil {
		return "", fmt.Errorf("create OU %s: %w", dn, err)
	}
	return dn, nil
}

// CreateUser creates an enabled user sam with password in ouDN (CN=Users
// when empty) and returns its DN.
func (d *DC) CreateUser(ctx context.Context, ouDN, sam, password string) (string, error) {
	if ouDN == "" {
		ouDN = "CN=Users," + d.BaseDN
	}
	dn := "CN=" + ldap.EscapeDN(sam) + "," + ouDN
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	req.Attribute("sAMAccountName", []string{sam})
	req.Attribute("userPrincipalName", []string{sam + "@" + strings.ToLower(Realm)})
	req.Attribute("unicodePwd", []string{EncodePassword(password)})
	req.Attribute("userAccountControl", []string{"512"}) // normal account, enabled
	err := d.withAdmin(ctx, func(l *ldap.Conn) error { return l.Add(req) })
	if err != nil {
		return "", fmt.Errorf("create user %s: %w", dn, err)
	}
	return dn, nil
}

// CreateConnectorAccount creates the sync engine's AD DS connector account
// (a plain user in CN=Users, like Entra Connect's MSOL_ account).
func (d *DC) CreateConnectorAccount(ctx context.Context, sam, password string) (string, error) {
	return d.CreateUser(ctx, "", sam, password)
}

// CreateGroup creates a global security group in ouDN (CN=Users when empty).
func (d *DC) CreateGroup(ctx context.Context, ouDN, name string) (string, error) {
	if ouDN == "" {
		ouDN = "CN=Users," + d.BaseDN
	}
	dn := "CN=" + ldap.EscapeDN(name) + "," + ouDN
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "group"})
	req.Attribute("sAMAccountName", []string{name})
	req.Attribute("groupType", []string{"-2147483646"}) // global security group
	err := d.withAdmin(ctx, func(l *ldap.Conn) error { return l.Add(req) })
	if err != nil {
		return "", fmt.Errorf("create group %s: %w", dn, err)
	}
	return dn, nil
}

// AddToGroup adds memberDN to groupDN.
func (d *DC) AddToGroup(ctx context.Context, groupDN, memberDN string) error {
	req := ldap.NewModifyRequest(groupDN, nil)
	req.Add("member", []string{memberDN})
	if err := d.withAdmin(ctx, func(l *ldap.Conn) error { return l.Modify(req) }); err != nil {
		return fmt.Errorf("add %s to %s: %w", memberDN, groupDN, err)
	}
	return nil
}

// SetProtected disables inheritance on dn the way "Disable inheritance >
// Convert inherited permissions into explicit permissions" does: inherited
// ACEs become explicit and the DACL is marked protected.
func (d *DC) SetProtected(ctx context.Context, dn string) error {
	c, err := d.Admin(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	sd, _, err := c.ReadSD(ctx, dn)
	if err != nil {
		return err
	}
	for i := range sd.DACL.ACEs {
		sd.DACL.ACEs[i].Flags &^= ad.ACEFlagInherited
	}
	sd.Control |= ad.SDDACLProtected
	return c.WriteSD(ctx, dn, sd)
}

// Modify runs an LDAP modify as Administrator.
func (d *DC) Modify(ctx context.Context, req *ldap.ModifyRequest) error {
	return d.withAdmin(ctx, func(l *ldap.Conn) error { return l.Modify(req) })
}

// Delete removes dn as Administrator.
func (d *DC) Delete(ctx context.Context, dn string) error {
	return d.withAdmin(ctx, func(l *ldap.Conn) error { return l.Del(ldap.NewDelRequest(dn, nil)) })
}

// SambaTool runs samba-tool against this DC over LDAPS as Administrator,
// e.g. SambaTool(ctx, "dsacl", "get", "--objectdn=DC=example,DC=test").
//
// What works with Samba 4.17's client: a simple bind (its SASL bind over
// LDAPS fails with "Sign or Seal are not allowed if TLS is used"), the CA
// from the DC's smb.conf, and "tls verify peer = ca_and_name_if_available"
// (the default refuses an IP address as the peer name). The password goes
// through the environment (PASSWD), not the command line.
func (d *DC) SambaTool(ctx context.Context, args ...string) ([]byte, error) {
	full := append(append([]string{}, args...), "-H", d.URL(), "--simple-bind-dn="+d.AdminDN,
		"-s", d.ConfFile, "--option=tls verify peer=ca_and_name_if_available")
	cmd := exec.CommandContext(ctx, "samba-tool", full...)
	cmd.Env = append(os.Environ(), "PASSWD="+d.AdminPassword)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("samba-tool %s: %w: %s", strings.Join(args, " "), err, redact(out, d.AdminPassword))
	}
	return out, nil
}

// WriteGptTmpl writes text as a GPO's GptTmpl.inf into the DC's SYSVOL
// directory, encoded as the Group Policy editor writes it: UTF-16LE with a
// byte-order mark (Samba provisioning writes none).
func (d *DC) WriteGptTmpl(gpoGUID, text string) error {
	data := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(text)) {
		data = binary.LittleEndian.AppendUint16(data, u)
	}
	dir := filepath.Join(d.Dir, "state", "sysvol", strings.ToLower(Realm), "Policies", gpoGUID,
		"MACHINE", "Microsoft", "Windows NT", "SecEdit")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "GptTmpl.inf"), data, 0o644)
}

// EncodePassword returns the unicodePwd value for password: the quoted
// password in UTF-16LE.
func EncodePassword(password string) string {
	u := utf16.Encode([]rune(`"` + password + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return string(b)
}
