package ad

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		op, dn    string
		err       error
		code      uint16
		retryable bool
		want      []string
	}{
		{"access denied on SD write", opWriteSD, "DC=example,DC=test",
			ldap.NewError(ldap.LDAPResultInsufficientAccessRights, errors.New("00002098: SecErr")),
			50, false, []string{`50 insufficientAccessRights: EXAMPLE\svc cannot write nTSecurityDescriptor on DC=example,DC=test`, "Domain Admin", "Modify permissions"}},
		{"busy", opReadSD, "DC=x", ldap.NewError(ldap.LDAPResultBusy, errors.New("busy")), 51, true, []string{"51 busy"}},
		{"unavailable", opSearch, "", ldap.NewError(ldap.LDAPResultUnavailable, errors.New("x")), 52, true, nil},
		{"network", opSearch, "", ldap.NewError(ldap.ErrorNetwork, errors.New("reset")), ldap.ErrorNetwork, true, []string{"reachable"}},
		{"no such object", opReadSD, "OU=Gone,DC=x", ldap.NewError(ldap.LDAPResultNoSuchObject, errors.New("")), 32, false, []string{"noSuchObject", "OU=Gone"}},
		{"strong auth", opBind, "", ldap.NewError(ldap.LDAPResultStrongAuthRequired, errors.New("")), 8, false, []string{"StartTLS"}},
		{"bad credentials", opBind, "", ldap.NewError(ldap.LDAPResultInvalidCredentials, errors.New("")), 49, false, []string{"bindPassword"}},
		{"dial refused", opDial, "", &net.OpError{Op: "dial", Err: errors.New("refused")}, 0, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(tt.op, tt.dn, `EXAMPLE\svc`, tt.err)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not *Error: %T", err)
			}
			if e.Code != tt.code || e.Retryable != tt.retryable || IsRetryable(err) != tt.retryable {
				t.Errorf("code %d retryable %v, want %d %v", e.Code, e.Retryable, tt.code, tt.retryable)
			}
			if !errors.Is(err, tt.err) {
				t.Error("does not unwrap to the cause")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q: %s", w, err)
				}
			}
			// Wrapping twice keeps the first classification.
			if again := classify("other", "", "", fmt.Errorf("ctx: %w", err)); !errors.As(again, &e) || e.Op != tt.op {
				t.Errorf("re-classified: %v", again)
			}
		})
	}
	if IsRetryable(errors.New("plain")) {
		t.Error("plain error retryable")
	}
}

func TestDialRefusesBadConfig(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []Config{
		{URL: "http://dc", BindUser: "u", Password: "p"},
		{URL: "dc.example.test", BindUser: "u", Password: "p"},
		{URL: "ldaps://dc", BindUser: "u"},
		{URL: "ldaps://dc", BindUser: "u", Password: "p", CAFile: "/nonexistent/ca.pem"},
	} {
		if _, err := Dial(ctx, cfg); err == nil {
			t.Errorf("%+v: dialed", cfg)
		} else if strings.Contains(err.Error(), "p\"") {
			t.Errorf("password in error: %v", err)
		}
	}
}

func aceList(t *testing.T, sddlSIDs ...string) []ACE {
	var out []ACE
	for _, s := range sddlSIDs {
		out = append(out, ACE{Type: ACETypeAccessAllowed, Mask: RightReadProperty, SID: MustSID(s)})
	}
	return out
}

func TestAddRemoveACEs(t *testing.T) {
	sid := MustSID("S-1-5-21-1-2-3-1103")
	grant := WritebackACEs(sid, Rights{})
	parsed, err := parseACEList(grant)
	if err != nil {
		t.Fatal(err)
	}
	inherited := ACE{Type: ACETypeAccessAllowed, Flags: ACEFlagInherited, Mask: RightReadProperty, SID: MustSID("S-1-5-11")}
	deny := ACE{Type: ACETypeAccessDenied, Mask: RightWriteProperty, SID: MustSID("S-1-1-0")}
	dacl := &ACL{Revision: ACLRevision, ACEs: append(append([]ACE{deny}, aceList(t, "S-1-5-18")...), inherited)}
	orig := dacl.Bytes()

	added := AddACEs(dacl, parsed)
	if len(added) != 3 || dacl.Revision != ACLRevisionDS {
		t.Fatalf("added %d, revision %d", len(added), dacl.Revision)
	}
	// Explicit deny, explicit allow, ours, then inherited.
	if !dacl.ACEs[5].Inherited() || !bytes.Equal(dacl.ACEs[2].Bytes(), grant[0]) || !bytes.Equal(dacl.ACEs[3].Bytes(), grant[1]) {
		t.Errorf("not canonical: %s", dacl.SDDL(nil))
	}
	if again := AddACEs(dacl, parsed); len(again) != 0 {
		t.Errorf("second add added %d", len(again))
	}
	// An administrator's copy of one ACE and an unrelated ACE.
	dacl.ACEs = append([]ACE{parsed[0]}, dacl.ACEs...)
	if n := RemoveACEs(dacl, added); n != 3 {
		t.Errorf("removed %d", n)
	}
	if got := dacl.SDDL(nil); !strings.HasPrefix(got, parsed[0].SDDL(nil)) {
		t.Errorf("administrator's copy removed: %s", got)
	}
	dacl.ACEs = dacl.ACEs[1:]
	dacl.Revision = ACLRevision
	if !bytes.Equal(dacl.Bytes(), orig) {
		t.Errorf("not restored:\n %x\n %x", orig, dacl.Bytes())
	}
	// Inherited copies are never removed.
	inh := parsed[0]
	inh.Flags |= ACEFlagInherited
	d2 := &ACL{Revision: ACLRevisionDS, ACEs: []ACE{inh}}
	if n := RemoveACEs(d2, [][]byte{inh.Bytes()}); n != 0 {
		t.Error("removed an inherited ACE")
	}
	// Duplicates in the request are added once.
	d3 := &ACL{Revision: ACLRevisionDS}
	if got := AddACEs(d3, append(parsed, parsed...)); len(got) != 3 || len(d3.ACEs) != 3 {
		t.Errorf("duplicates: %d %d", len(got), len(d3.ACEs))
	}
}

func TestTargetsAndHex(t *testing.T) {
	dns, warn := Targets("DC=example,DC=test", nil, false)
	if len(dns) != 1 || dns[0] != "DC=example,DC=test" || len(warn) != 0 {
		t.Errorf("default: %v %v", dns, warn)
	}
	dns, warn = Targets("DC=example,DC=test", []string{"OU=A,DC=example,DC=test"}, true)
	if len(dns) != 2 || dns[1] != "CN=AdminSDHolder,CN=System,DC=example,DC=test" || len(warn) != 1 {
		t.Errorf("adminSDHolder: %v %v", dns, warn)
	}
	aces := WritebackACEs(MustSID("S-1-5-21-1-2-3-1103"), Rights{ChangePassword: true})
	back, err := ParseHexACEs(HexACEs(aces))
	if err != nil || len(back) != 4 || !bytes.Equal(back[3], aces[3]) {
		t.Errorf("hex round trip: %v", err)
	}
	if _, err := ParseHexACEs([]string{"zz"}); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad hex: %v", err)
	}
	if _, err := ParseHexACEs([]string{HexACEs(aces)[0] + "00"}); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing bytes: %v", err)
	}
}
