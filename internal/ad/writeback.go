package ad

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// GUIDs of the rights and classes password writeback uses (schema and
// extended-rights GUIDs; identical in every forest).
var (
	GUIDResetPassword    = MustGUID("00299570-246d-11d0-a768-00aa006e0529") // User-Force-Change-Password
	GUIDChangePassword   = MustGUID("ab721a53-1e2f-11d0-9819-00aa0040529b") // User-Change-Password
	GUIDUnexpirePassword = MustGUID("ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501") // Unexpire-Password
	GUIDLockoutTime      = MustGUID("28630ebf-41d5-11d1-a9c1-0000f80367c1") // attribute lockoutTime
	GUIDPwdLastSet       = MustGUID("bf967a0a-0de6-11d0-a285-00aa003049e2") // attribute pwdLastSet
	GUIDUserClass        = MustGUID("bf967aba-0de6-11d0-a285-00aa003049e2") // class user
)

// Rights selects the optional rights on top of the three that
// Set-ADSyncPasswordWritebackPermissions always grants (Reset Password,
// write lockoutTime, write pwdLastSet).
type Rights struct {
	// ChangePassword adds the Change Password extended right on users.
	ChangePassword bool
	// UnexpirePassword adds Unexpire Password on the scope object and
	// everything below it.
	UnexpirePassword bool
}

// flagsCIIO is "inherited by sub-objects only" (dsacls /I:S).
const flagsCIIO = ACEFlagContainerInherit | ACEFlagInheritOnly

func objectACE(sid SID, flags byte, mask uint32, objType GUID, inherited *GUID) ACE {
	a := ACE{Type: ACETypeAccessAllowedObject, Flags: flags, Mask: mask, ObjectFlags: ACEObjectTypePresent,
		ObjectType: objType, SID: sid}
	if inherited != nil {
		a.ObjectFlags |= ACEInheritedObjectTypePresent
		a.InheritedObjectType = *inherited
	}
	return a
}

// WritebackACEs returns the exact ACE bytes that grant sid the writeback
// rights on a scope (domain root or OU), inherited by user objects below it,
// in the order Microsoft's module grants them.
func WritebackACEs(sid SID, r Rights) [][]byte {
	user := GUIDUserClass
	aces := []ACE{
		objectACE(sid, flagsCIIO, RightControlAccess, GUIDResetPassword, &user),
		objectACE(sid, flagsCIIO, RightWriteProperty, GUIDLockoutTime, &user),
		objectACE(sid, flagsCIIO, RightWriteProperty, GUIDPwdLastSet, &user),
	}
	if r.ChangePassword {
		aces = append(aces, objectACE(sid, flagsCIIO, RightControlAccess, GUIDChangePassword, &user))
	}
	if r.UnexpirePassword {
		aces = append(aces, objectACE(sid, ACEFlagContainerInherit, RightControlAccess, GUIDUnexpirePassword, nil))
	}
	return encodeACEs(aces)
}

// ObjectACEs returns the ACEs that grant sid the writeback rights on one
// object only (flags none, no inherited object type), as
// Set-ADSyncPasswordWritebackPermissions -ADobjectDN does for a user whose
// inheritance is disabled.
func ObjectACEs(sid SID, r Rights) [][]byte {
	aces := []ACE{
		objectACE(sid, 0, RightControlAccess, GUIDResetPassword, nil),
		objectACE(sid, 0, RightWriteProperty, GUIDLockoutTime, nil),
		objectACE(sid, 0, RightWriteProperty, GUIDPwdLastSet, nil),
	}
	if r.ChangePassword {
		aces = append(aces, objectACE(sid, 0, RightControlAccess, GUIDChangePassword, nil))
	}
	if r.UnexpirePassword {
		aces = append(aces, objectACE(sid, 0, RightControlAccess, GUIDUnexpirePassword, nil))
	}
	return encodeACEs(aces)
}

func encodeACEs(aces []ACE) [][]byte {
	out := make([][]byte, len(aces))
	for i, a := range aces {
		out[i] = a.Bytes()
	}
	return out
}

// ACESDDL renders ACE bytes as SDDL for reports, or a hex dump if they do
// not parse.
func ACESDDL(b []byte, domain *SID) string {
	a, n, err := ParseACE(b)
	if err != nil || n != len(b) {
		return fmt.Sprintf("%x", b)
	}
	return a.SDDL(domain)
}

// AdminSDHolderDN is the object whose DACL SDProp copies onto protected
// (adminCount=1) accounts.
func AdminSDHolderDN(baseDN string) string { return "CN=AdminSDHolder,CN=System," + baseDN }

// WarnAdminSDHolder is returned by Targets when AdminSDHolder is in scope.
const WarnAdminSDHolder = "granting on CN=AdminSDHolder lets password writeback reset the passwords of " +
	"protected accounts (Domain Admins and other adminCount=1 users); Microsoft does not recommend it"

// Targets returns the DNs to grant on: scope, or the domain root when scope
// is empty, plus AdminSDHolder when asked (with a warning).
func Targets(baseDN string, scope []string, adminSDHolder bool) (dns, warnings []string) {
	if len(scope) == 0 {
		dns = []string{baseDN}
	} else {
		dns = append(dns, scope...)
	}
	if adminSDHolder {
		dns = append(dns, AdminSDHolderDN(baseDN))
		warnings = append(warnings, WarnAdminSDHolder)
	}
	return dns, warnings
}

// Account is a resolved directory account.
type Account struct {
	DN  string
	SID SID
	SAM string
}

// ResolveAccount finds an account by DOMAIN\name, UPN, DN or bare
// sAMAccountName. It returns ErrNotFound or ErrAmbiguous (wrapped in *Error).
func (c *Conn) ResolveAccount(ctx context.Context, name string) (Account, error) {
	name = strings.TrimSpace(name)
	base, scope, filter := c.baseDN, ldap.ScopeWholeSubtree, ""
	switch {
	case name == "":
		return Account{}, &Error{Op: opResolve, Err: errors.New("empty account name")}
	case strings.Contains(name, `\`):
		dom, sam, _ := strings.Cut(name, `\`)
		if nb, err := c.netBIOSName(ctx); err == nil && nb != "" && !strings.EqualFold(nb, dom) &&
			!strings.EqualFold(dom, dnsDomain(c.baseDN)) {
			return Account{}, &Error{Op: opResolve + " " + name, Err: fmt.Errorf("%w: domain %s is not this DC's domain %s", ErrNotFound, dom, nb),
				Hint: "bind to a DC of the account's domain"}
		}
		filter = "(sAMAccountName=" + ldap.EscapeFilter(sam) + ")"
	case strings.Contains(name, "="):
		if _, err := ldap.ParseDN(name); err != nil {
			return Account{}, &Error{Op: opResolve + " " + name, Err: err}
		}
		base, scope, filter = name, ldap.ScopeBaseObject, "(objectClass=*)"
	case strings.Contains(name, "@"):
		filter = "(userPrincipalName=" + ldap.EscapeFilter(name) + ")"
	default:
		filter = "(sAMAccountName=" + ldap.EscapeFilter(name) + ")"
	}
	req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 2, 0, false, filter,
		[]string{"objectSid", "sAMAccountName"}, nil)
	var res *ldap.SearchResult
	err := c.do(ctx, func() (err error) { res, err = c.l.Search(req); return err })
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return Account{}, &Error{Op: opResolve + " " + name, Code: ldap.LDAPResultNoSuchObject, Err: ErrNotFound}
		}
		return Account{}, c.wrap(opResolve+" "+name, "", err)
	}
	switch {
	case res == nil || len(res.Entries) == 0:
		return Account{}, &Error{Op: opResolve + " " + name, Err: ErrNotFound,
			Hint: "check the directory profile's connectorAccount: no account has that name in " + c.baseDN}
	case len(res.Entries) > 1:
		return Account{}, &Error{Op: opResolve + " " + name, Err: ErrAmbiguous, Hint: "use the account's DN"}
	}
	e := res.Entries[0]
	sid, _, err := ParseSID(e.GetRawAttributeValue("objectSid"))
	if err != nil {
		return Account{}, &Error{Op: opResolve + " " + name, DN: e.DN, Err: fmt.Errorf("objectSid: %w", err)}
	}
	return Account{DN: e.DN, SID: sid, SAM: e.GetAttributeValue("sAMAccountName")}, nil
}

func dnsDomain(baseDN string) string {
	var parts []string
	for _, rdn := range strings.Split(baseDN, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(rdn), "=")
		if ok && strings.EqualFold(k, "DC") {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, ".")
}

// netBIOSName reads the domain's NetBIOS name from the partitions container.
func (c *Conn) netBIOSName(ctx context.Context) (string, error) {
	if c.config == "" {
		return "", nil
	}
	req := ldap.NewSearchRequest("CN=Partitions,"+c.config, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=crossRef)(nCName="+ldap.EscapeFilter(c.baseDN)+"))", []string{"nETBIOSName"}, nil)
	var res *ldap.SearchResult
	if err := c.do(ctx, func() (err error) { res, err = c.l.Search(req); return err }); err != nil {
		return "", err
	}
	if len(res.Entries) == 0 {
		return "", nil
	}
	return res.Entries[0].GetAttributeValue("nETBIOSName"), nil
}

// DomainSID reads the domain's SID (objectSid of the naming context).
func (c *Conn) DomainSID(ctx context.Context) (SID, error) {
	req := ldap.NewSearchRequest(c.baseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"objectSid"}, nil)
	var res *ldap.SearchResult
	if err := c.do(ctx, func() (err error) { res, err = c.l.Search(req); return err }); err != nil {
		return SID{}, c.wrap("read domain SID", c.baseDN, err)
	}
	if len(res.Entries) != 1 {
		return SID{}, &Error{Op: "read domain SID", DN: c.baseDN, Err: ErrNotFound}
	}
	sid, _, err := ParseSID(res.Entries[0].GetRawAttributeValue("objectSid"))
	return sid, err
}

// GrantResult reports what Grant changed.
type GrantResult struct {
	// Added are the ACEs written, byte for byte; pass them to Revoke.
	Added [][]byte
}

// RevokeResult reports what Revoke changed.
type RevokeResult struct {
	// Removed counts the ACEs taken out of the DACL.
	Removed int
}

// Grant adds the ACEs that dn's DACL lacks (byte-equal comparison), before
// the first inherited ACE so that the DACL stays in canonical order. A
// second Grant adds nothing. Callers that must be able to undo after a
// crash record aces before calling. After writing, Grant reads the DACL back
// and fails (retryable, with Added set) if an added ACE is missing.
func (c *Conn) Grant(ctx context.Context, dn string, aces [][]byte) (GrantResult, error) {
	var res GrantResult
	parsed, err := parseACEList(aces)
	if err != nil {
		return res, &Error{Op: "grant", DN: dn, Err: err}
	}
	sd, _, err := c.ReadSD(ctx, dn)
	if err != nil {
		return res, err
	}
	res.Added = AddACEs(sd.DACL, parsed)
	if len(res.Added) == 0 {
		return res, nil
	}
	// A read-modify-write: Samba refuses MOD_DELETE of nTSecurityDescriptor,
	// so there is no portable compare-and-swap. Read back to confirm.
	if err := c.WriteSD(ctx, dn, sd); err != nil {
		return GrantResult{}, err
	}
	missing, err := c.Check(ctx, dn, res.Added)
	if err != nil {
		return res, err
	}
	if len(missing) > 0 {
		return res, &Error{Op: "grant", DN: dn, Retryable: true,
			Err: fmt.Errorf("%d of %d written ACEs are not in the DACL read back", len(missing), len(res.Added))}
	}
	return res, nil
}

// Check returns the ACEs dn's DACL lacks (explicit or inherited copies do
// not count unless byte-equal).
func (c *Conn) Check(ctx context.Context, dn string, aces [][]byte) ([][]byte, error) {
	sd, _, err := c.ReadSD(ctx, dn)
	if err != nil {
		return nil, err
	}
	var missing [][]byte
	for _, a := range aces {
		if indexACE(sd.DACL.ACEs, a) < 0 {
			missing = append(missing, a)
		}
	}
	return missing, nil
}

// Revoke removes exactly one explicit copy of each of aces from dn's DACL
// and nothing else: pass what Grant reported as Added. ACEs already gone
// are skipped, so Revoke is idempotent.
func (c *Conn) Revoke(ctx context.Context, dn string, aces [][]byte) (RevokeResult, error) {
	var res RevokeResult
	if _, err := parseACEList(aces); err != nil {
		return res, &Error{Op: "revoke", DN: dn, Err: err}
	}
	sd, _, err := c.ReadSD(ctx, dn)
	if err != nil {
		return res, err
	}
	res.Removed = RemoveACEs(sd.DACL, aces)
	if res.Removed == 0 {
		return res, nil
	}
	if err := c.WriteSD(ctx, dn, sd); err != nil {
		return RevokeResult{}, err
	}
	return res, nil
}

// AddACEs adds to dacl each ACE it lacks (byte-equal comparison, so a
// second call adds nothing), inserted in order before the first inherited
// ACE to keep the DACL canonical, and returns the bytes of those added. It
// raises the ACL revision when object ACEs need it.
func AddACEs(dacl *ACL, aces []ACE) [][]byte {
	var add []ACE
	var added [][]byte
	for _, a := range aces {
		b := a.Bytes()
		if indexACE(dacl.ACEs, b) >= 0 || containsBytes(added, b) {
			continue
		}
		add = append(add, a)
		added = append(added, b)
	}
	if len(add) == 0 {
		return nil
	}
	at := len(dacl.ACEs)
	for i, a := range dacl.ACEs {
		if a.Inherited() {
			at = i
			break
		}
	}
	list := make([]ACE, 0, len(dacl.ACEs)+len(add))
	list = append(list, dacl.ACEs[:at]...)
	list = append(list, add...)
	list = append(list, dacl.ACEs[at:]...)
	dacl.ACEs = list
	for _, a := range add {
		if a.IsObject() && dacl.Revision < ACLRevisionDS {
			dacl.Revision = ACLRevisionDS
		}
	}
	return added
}

// RemoveACEs removes one explicit (not inherited) copy of each ACE from
// dacl and returns how many it removed; everything else stays in place.
// When an administrator added a byte-equal copy meanwhile, the last explicit
// copy goes: AddACEs put ours at the end of the explicit ACEs.
func RemoveACEs(dacl *ACL, aces [][]byte) int {
	n := 0
	for _, a := range aces {
		if i := lastExplicitACE(dacl.ACEs, a); i >= 0 {
			dacl.ACEs = append(dacl.ACEs[:i:i], dacl.ACEs[i+1:]...)
			n++
		}
	}
	return n
}

func parseACEList(aces [][]byte) ([]ACE, error) {
	out := make([]ACE, len(aces))
	for i, b := range aces {
		a, n, err := ParseACE(b)
		if err != nil {
			return nil, fmt.Errorf("ACE %d: %w", i, err)
		}
		if n != len(b) {
			return nil, fmt.Errorf("ACE %d: %w: %d trailing bytes", i, ErrMalformed, len(b)-n)
		}
		out[i] = a
	}
	return out, nil
}

// indexACE finds the first ACE byte-equal to want.
func indexACE(list []ACE, want []byte) int {
	for i, a := range list {
		if bytes.Equal(a.Bytes(), want) {
			return i
		}
	}
	return -1
}

func lastExplicitACE(list []ACE, want []byte) int {
	for i := len(list) - 1; i >= 0; i-- {
		if !list[i].Inherited() && bytes.Equal(list[i].Bytes(), want) {
			return i
		}
	}
	return -1
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// HexACEs encodes ACEs for a durable record (workflow history, events):
// record them before Grant so that compensation can revoke after a crash.
func HexACEs(aces [][]byte) []string {
	out := make([]string, len(aces))
	for i, a := range aces {
		out[i] = hex.EncodeToString(a)
	}
	return out
}

// ParseHexACEs decodes what HexACEs produced and checks each is one ACE.
func ParseHexACEs(s []string) ([][]byte, error) {
	out := make([][]byte, len(s))
	for i, h := range s {
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("ACE %d: %w: %v", i, ErrMalformed, err)
		}
		out[i] = b
	}
	if _, err := parseACEList(out); err != nil {
		return nil, err
	}
	return out, nil
}
