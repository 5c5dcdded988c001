package ad

import (
	"context"
	"fmt"
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

func encodeACEs(aces []ACE) [][]byte {
	out := make([][]byte, len(aces))
	for i, a := range aces {
		out[i] = a.Bytes()
	}
	return out
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
