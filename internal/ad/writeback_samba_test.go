package ad_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/sambadc"
	"github.com/ssprflow/ssprflow/internal/sambadc/sambadctest"
)

const (
	connectorSAM = "MSOL_ssprflow"
	connectorPW  = "Conn3ct0r!Pass"
	userPW       = "Us3r!Initial1"
)

// directory is a DC populated like a small organisation.
type directory struct {
	dc        *sambadc.DC
	connector ad.Account
	alice     string // CN=alice,OU=Staff: inherits from the domain root
	carol     string // CN=carol,OU=Staff: her own DACL is protected
	bob       string // CN=bob,OU=Legacy: the OU has inheritance disabled
	legacyOU  string
	staffOU   string
	domainSID ad.SID
}

func newDirectory(t *testing.T) *directory {
	t.Helper()
	dc := sambadctest.New(t)
	ctx := testCtx(t)
	d := &directory{dc: dc}
	var err error
	must := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	must(dc.CreateConnectorAccount(ctx, connectorSAM, connectorPW))
	d.staffOU = must(dc.CreateOU(ctx, "", "Staff"))
	d.legacyOU = must(dc.CreateOU(ctx, "", "Legacy"))
	d.alice = must(dc.CreateUser(ctx, d.staffOU, "alice", userPW))
	d.carol = must(dc.CreateUser(ctx, d.staffOU, "carol", userPW))
	d.bob = must(dc.CreateUser(ctx, d.legacyOU, "bob", userPW))
	if err := dc.SetProtected(ctx, d.legacyOU); err != nil {
		t.Fatal(err)
	}
	if err := dc.SetProtected(ctx, d.carol); err != nil {
		t.Fatal(err)
	}
	admin := d.admin(t)
	if d.connector, err = admin.ResolveAccount(ctx, `EXAMPLE\`+connectorSAM); err != nil {
		t.Fatal(err)
	}
	if d.domainSID, err = admin.DomainSID(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (d *directory) admin(t *testing.T) *ad.Conn {
	t.Helper()
	c, err := d.dc.Admin(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (d *directory) asConnector(t *testing.T) *ad.Conn {
	t.Helper()
	c, err := d.dc.DialAs(testCtx(t), `EXAMPLE\`+connectorSAM, connectorPW)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var pwCounter int

// writebackOps are what the sync engine does when writeback resets a
// password or unlocks an account.
func writebackOps(c *ad.Conn, dn string) map[string]error {
	pwCounter++
	out := map[string]error{}
	l := c.LDAP()
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace("lockoutTime", []string{"0"})
	out["write lockoutTime"] = l.Modify(req)
	req = ldap.NewModifyRequest(dn, nil)
	req.Replace("pwdLastSet", []string{"-1"})
	out["write pwdLastSet"] = l.Modify(req)
	req = ldap.NewModifyRequest(dn, nil)
	req.Replace("unicodePwd", []string{sambadc.EncodePassword(fmt.Sprintf("Res3t!Pass%d", pwCounter))})
	out["reset password"] = l.Modify(req)
	return out
}

func expectAllowed(t *testing.T, who string, ops map[string]error) {
	t.Helper()
	for op, err := range ops {
		if err != nil {
			t.Errorf("%s: %s: want success, got %v", who, op, err)
		}
	}
}

func expectDenied(t *testing.T, who string, ops map[string]error) {
	t.Helper()
	for op, err := range ops {
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
			t.Errorf("%s: %s: want 50 insufficientAccessRights, got %v", who, op, err)
		}
	}
}

// dsaclDACL runs `samba-tool dsacl get` and returns the D: part of its SDDL.
func dsaclDACL(t *testing.T, dc *sambadc.DC, dn string) string {
	t.Helper()
	out, err := dc.SambaTool(testCtx(t), "dsacl", "get", "--objectdn="+dn)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "D:"); i >= 0 && strings.HasPrefix(line, "O:") {
			s := line[i:]
			if j := strings.Index(s, "S:"); j >= 0 {
				s = s[:j]
			}
			return strings.TrimSpace(s)
		}
	}
	t.Fatalf("no SDDL in dsacl get output: %s", out)
	return ""
}

func TestWritebackGrantRevokeAgainstSamba(t *testing.T) {
	d := newDirectory(t)
	ctx := testCtx(t)
	admin := d.admin(t)
	conn := d.asConnector(t)
	base := d.dc.BaseDN
	aces := ad.WritebackACEs(d.connector.SID, ad.Rights{})

	origSD, origRaw, err := admin.ReadSD(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	origSDDL := dsaclDACL(t, d.dc, base)
	if got := "D:" + strings.TrimPrefix(origSD.SDDL(&d.domainSID), "D:"); got != origSDDL {
		t.Errorf("our SDDL differs from samba-tool's:\n ours  %s\n samba %s", got, origSDDL)
	}

	// Before the grant Samba refuses all three writeback operations.
	expectDenied(t, "before grant, alice", writebackOps(conn, d.alice))

	missing, err := admin.Check(ctx, base, aces)
	if err != nil || len(missing) != len(aces) {
		t.Fatalf("Check before grant: missing %d of %d, err %v", len(missing), len(aces), err)
	}

	// The connector itself may not edit ACLs: a classified, actionable error.
	_, err = conn.Grant(ctx, base, aces)
	var aerr *ad.Error
	if !errors.As(err, &aerr) || aerr.Code != ldap.LDAPResultInsufficientAccessRights || aerr.Retryable {
		t.Fatalf("Grant as connector: want *ad.Error 50, got %#v", err)
	}
	t.Logf("Grant as the connector: %v", err)
	if msg := err.Error(); !strings.Contains(msg, "50 insufficientAccessRights") ||
		!strings.Contains(msg, connectorSAM+" cannot write nTSecurityDescriptor on "+base) ||
		!strings.Contains(msg, "Modify permissions") {
		t.Errorf("error message not actionable: %s", msg)
	}

	res, err := admin.Grant(ctx, base, aces)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 3 {
		t.Fatalf("Grant added %d ACEs, want 3", len(res.Added))
	}
	again, err := admin.Grant(ctx, base, aces)
	if err != nil || len(again.Added) != 0 {
		t.Fatalf("second Grant added %d ACEs (err %v), want 0", len(again.Added), err)
	}
	if missing, err := admin.Check(ctx, base, aces); err != nil || len(missing) != 0 {
		t.Fatalf("Check after grant: missing %d, err %v", len(missing), err)
	}

	granted := dsaclDACL(t, d.dc, base)
	sid := d.connector.SID.String()
	for _, want := range []string{
		"(OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;" + sid + ")",
		"(OA;CIIO;WP;28630ebf-41d5-11d1-a9c1-0000f80367c1;bf967aba-0de6-11d0-a285-00aa003049e2;" + sid + ")",
		"(OA;CIIO;WP;bf967a0a-0de6-11d0-a285-00aa003049e2;bf967aba-0de6-11d0-a285-00aa003049e2;" + sid + ")",
	} {
		if !strings.Contains(granted, want) {
			t.Errorf("samba-tool dsacl get lacks %s", want)
		}
	}
	if sd, _, err := admin.ReadSD(ctx, base); err != nil || sd.SDDL(&d.domainSID) != granted {
		t.Errorf("after grant our SDDL differs from samba-tool's (err %v)", err)
	}
	// The DC propagated inherited copies to alice.
	if ud := dsaclDACL(t, d.dc, d.alice); !strings.Contains(ud, "(OA;CIID;CR;00299570-246d-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;"+sid+")") {
		t.Errorf("alice did not inherit Reset Password: %s", ud)
	}

	expectAllowed(t, "after grant, alice", writebackOps(conn, d.alice))
	expectDenied(t, "after grant, bob (OU with inheritance disabled)", writebackOps(conn, d.bob))
	expectDenied(t, "after grant, carol (protected DACL)", writebackOps(conn, d.carol))

	// An administrator adds an unrelated ACE between grant and revoke.
	adminACE := "(A;;RP;;;AU)"
	if _, err := d.dc.SambaTool(ctx, "dsacl", "set", "--objectdn="+base, "--sddl="+adminACE, "--action=allow"); err != nil {
		t.Fatal(err)
	}

	rev, err := admin.Revoke(ctx, base, res.Added)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Removed != 3 {
		t.Errorf("Revoke removed %d, want 3", rev.Removed)
	}
	after := dsaclDACL(t, d.dc, base)
	if strings.Contains(after, sid) {
		t.Errorf("connector ACEs left after revoke: %s", after)
	}
	if !strings.Contains(after, adminACE) {
		t.Errorf("revoke removed the administrator's ACE %s: %s", adminACE, after)
	}
	expectDenied(t, "after revoke, alice", writebackOps(conn, d.alice))

	// Take the administrator's ACE out again by hand (not with Revoke):
	// the DACL must be the original, byte for byte.
	sd, _, err := admin.ReadSD(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	var kept []ad.ACE
	removedAdmin := 0
	for _, a := range sd.DACL.ACEs {
		if a.SDDL(&d.domainSID) == adminACE && removedAdmin == 0 {
			removedAdmin++
			continue
		}
		kept = append(kept, a)
	}
	sd.DACL.ACEs = kept
	if err := admin.WriteSD(ctx, base, sd); err != nil {
		t.Fatal(err)
	}
	_, finalRaw, err := admin.ReadSD(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(finalRaw, origRaw) {
		t.Errorf("DACL not restored byte for byte:\n before %x\n after  %x", origRaw, finalRaw)
	}
	if final := dsaclDACL(t, d.dc, base); final != origSDDL {
		t.Errorf("samba-tool SDDL not restored:\n before %s\n after  %s", origSDDL, final)
	}

	// A second Revoke finds nothing to remove and changes nothing.
	if rev, err := admin.Revoke(ctx, base, res.Added); err != nil || rev.Removed != 0 {
		t.Errorf("second Revoke: removed %d, err %v", rev.Removed, err)
	}

	// Grant then revoke with nothing in between restores the DACL exactly,
	// on containers with inheritance (Staff) and without (Legacy), with the
	// optional rights too.
	all := ad.WritebackACEs(d.connector.SID, ad.Rights{ChangePassword: true, UnexpirePassword: true})
	for _, dn := range []string{d.staffOU, d.legacyOU} {
		_, before, err := admin.ReadSD(ctx, dn)
		if err != nil {
			t.Fatal(err)
		}
		beforeSDDL := dsaclDACL(t, d.dc, dn)
		g, err := admin.Grant(ctx, dn, all)
		if err != nil || len(g.Added) != 5 {
			t.Fatalf("%s: Grant added %d, err %v", dn, len(g.Added), err)
		}
		if r, err := admin.Revoke(ctx, dn, g.Added); err != nil || r.Removed != 5 {
			t.Fatalf("%s: Revoke removed %d, err %v", dn, r.Removed, err)
		}
		_, after, err := admin.ReadSD(ctx, dn)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Errorf("%s: DACL not restored byte for byte", dn)
		}
		if s := dsaclDACL(t, d.dc, dn); s != beforeSDDL {
			t.Errorf("%s: SDDL not restored:\n before %s\n after  %s", dn, beforeSDDL, s)
		}
	}
}

func TestRevokeWithoutGrantKeepsAdminCopies(t *testing.T) {
	// An admin granted the very same ACE by hand before ssprflow ran: Grant
	// adds nothing, so Revoke (given Added) removes nothing.
	d := newDirectory(t)
	ctx := testCtx(t)
	admin := d.admin(t)
	aces := ad.WritebackACEs(d.connector.SID, ad.Rights{})
	sddl := ad.ACESDDL(aces[0], nil)
	if _, err := d.dc.SambaTool(ctx, "dsacl", "set", "--objectdn="+d.staffOU, "--sddl="+sddl, "--action=allow"); err != nil {
		t.Fatal(err)
	}
	res, err := admin.Grant(ctx, d.staffOU, aces)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 2 || !bytes.Equal(res.Added[0], aces[1]) {
		t.Fatalf("Grant added %d, want the 2 missing", len(res.Added))
	}
	if _, err := admin.Revoke(ctx, d.staffOU, res.Added); err != nil {
		t.Fatal(err)
	}
	missing, err := admin.Check(ctx, d.staffOU, aces[:1])
	if err != nil || len(missing) != 0 {
		t.Errorf("administrator's own ACE was removed (missing %d, err %v)", len(missing), err)
	}
}

func TestResolveAccountForms(t *testing.T) {
	d := newDirectory(t)
	ctx := testCtx(t)
	admin := d.admin(t)
	dn := "CN=" + connectorSAM + ",CN=Users," + d.dc.BaseDN
	for _, name := range []string{`EXAMPLE\` + connectorSAM, connectorSAM + "@example.test", dn, connectorSAM, `example.test\` + connectorSAM} {
		acc, err := admin.ResolveAccount(ctx, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !strings.EqualFold(acc.DN, dn) || acc.SAM != connectorSAM || !acc.SID.Equal(d.connector.SID) {
			t.Errorf("%s: got %+v", name, acc)
		}
	}
	for _, name := range []string{`EXAMPLE\nobody`, "nobody@example.test", "CN=nobody,CN=Users," + d.dc.BaseDN, `OTHER\` + connectorSAM} {
		if _, err := admin.ResolveAccount(ctx, name); !errors.Is(err, ad.ErrNotFound) {
			t.Errorf("%s: want ErrNotFound, got %v", name, err)
		}
	}
}

func TestDialSecurity(t *testing.T) {
	dc := sambadctest.New(t)
	ctx := testCtx(t)
	// Wrong password: classified, not retryable, password not in the message.
	_, err := dc.DialAs(ctx, dc.AdminUser, "wrong-Passw0rd")
	var aerr *ad.Error
	if !errors.As(err, &aerr) || aerr.Code != ldap.LDAPResultInvalidCredentials || ad.IsRetryable(err) {
		t.Errorf("bad password: got %v", err)
	}
	if strings.Contains(fmt.Sprint(err), "wrong-Passw0rd") {
		t.Errorf("error leaks the password: %v", err)
	}
	// Without the CA the certificate does not verify.
	cfg := dc.Config(dc.AdminUser, dc.AdminPassword)
	cfg.CAFile = ""
	if _, err := ad.Dial(ctx, cfg); err == nil {
		t.Error("dial without the DC's CA succeeded")
	}
	// Wrong name in the certificate check.
	cfg = dc.Config(dc.AdminUser, dc.AdminPassword)
	cfg.ServerName = "evil.example.test"
	if _, err := ad.Dial(ctx, cfg); err == nil {
		t.Error("dial with a wrong server name succeeded")
	}
	// StartTLS on 389 works with verification.
	cfg = dc.Config(dc.AdminUser, dc.AdminPassword)
	cfg.URL = "ldap://" + dc.IP
	c, err := ad.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if st, ok := c.LDAP().TLSConnectionState(); !ok || !st.HandshakeComplete {
		t.Error("StartTLS connection is not TLS")
	}
	c.Close()
	// Insecure plain bind: the DC (like a hardened Windows DC) refuses it
	// with strongerAuthRequired, classified with a hint.
	cfg.Insecure = true
	_, err = ad.Dial(ctx, cfg)
	if !errors.As(err, &aerr) || aerr.Code != ldap.LDAPResultStrongAuthRequired || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("plain bind: got %v", err)
	}
	// Unreachable: retryable.
	cfg = dc.Config(dc.AdminUser, dc.AdminPassword)
	cfg.URL = "ldaps://127.0.0.9:1"
	cfg.Timeout = 2 * time.Second
	if _, err := ad.Dial(ctx, cfg); !ad.IsRetryable(err) {
		t.Errorf("unreachable DC: want retryable, got %v", err)
	}
}
