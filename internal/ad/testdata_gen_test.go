package ad_test

import (
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/ssprflow/ssprflow/internal/ad"
)

var updateTestdata = flag.Bool("update-testdata", false, "regenerate testdata/sd from a real Samba DC")

// TestGenerateSDTestdata saves real security descriptors (owner, group,
// DACL and SACL) read from Samba, with samba-tool's SDDL for each, for the
// codec's table tests. Run: go test ./internal/ad -run TestGenerateSDTestdata -update-testdata
func TestGenerateSDTestdata(t *testing.T) {
	if !*updateTestdata {
		t.Skip("only with -update-testdata")
	}
	d := newDirectory(t)
	ctx := testCtx(t)
	admin := d.admin(t)
	aces := ad.WritebackACEs(d.connector.SID, ad.Rights{ChangePassword: true, UnexpirePassword: true})
	if _, err := admin.Grant(ctx, d.staffOU, aces); err != nil {
		t.Fatal(err)
	}
	if _, err := d.dc.SambaTool(ctx, "dsacl", "set", "--objectdn="+d.legacyOU, "--sddl=(OD;;WP;bf967a0a-0de6-11d0-a285-00aa003049e2;;AU)", "--action=deny"); err != nil {
		t.Fatal(err)
	}
	objects := map[string]string{
		"domain-root":     d.dc.BaseDN,
		"user":            d.alice,
		"user-protected":  d.carol,
		"ou-granted":      d.staffOU,
		"ou-protected":    d.legacyOU,
		"adminsdholder":   ad.AdminSDHolderDN(d.dc.BaseDN),
		"administrator":   d.dc.AdminDN,
		"users-container": "CN=Users," + d.dc.BaseDN,
		"configuration":   "CN=Configuration," + d.dc.BaseDN,
		"schema-user":     "CN=User,CN=Schema,CN=Configuration," + d.dc.BaseDN,
	}
	dir := filepath.Join("testdata", "sd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	all := ldap.NewControlString(ad.OIDSDFlags, true, string([]byte{0x30, 0x03, 0x02, 0x01, 0x0f}))
	for name, dn := range objects {
		res, err := admin.LDAP().Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"nTSecurityDescriptor"}, []ldap.Control{all}))
		if err != nil {
			t.Fatalf("%s: %v", dn, err)
		}
		raw := res.Entries[0].GetRawAttributeValue("nTSecurityDescriptor")
		out, err := d.dc.SambaTool(ctx, "dsacl", "get", "--objectdn="+dn)
		if err != nil {
			t.Fatal(err)
		}
		var sddl string
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "O:") {
				sddl = line
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name+".hex"), []byte(hex.EncodeToString(raw)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".sddl"), []byte(sddl+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "domain-sid.txt"), []byte(d.domainSID.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
