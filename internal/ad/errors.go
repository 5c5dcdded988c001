package ad

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Error is a directory operation that failed, classified so callers can
// branch on Code and Retryable and admins can read what to do.
type Error struct {
	// Op is what ssprflow tried, e.g. "write nTSecurityDescriptor".
	Op string
	// DN is the object it was done on, if any.
	DN string
	// Identity is the account the connection was bound as, if known.
	Identity string
	// Code is the LDAP result code (0 when the failure is not an LDAP result).
	Code uint16
	// Retryable is true for transient failures (network, busy, unavailable).
	Retryable bool
	// Hint tells an administrator how to fix it.
	Hint string
	// Err is the underlying error.
	Err error
}

func (e *Error) Error() string {
	msg := ""
	if e.Code != 0 {
		msg = fmt.Sprintf("%d %s: ", e.Code, codeName(e.Code))
	}
	who := e.Identity
	switch {
	case who != "" && e.Code == ldap.LDAPResultInsufficientAccessRights:
		msg += fmt.Sprintf("%s cannot %s", who, e.Op)
	default:
		msg += e.Op
	}
	if e.DN != "" {
		msg += " on " + e.DN
	}
	if e.Err != nil {
		if d := detail(e.Err); d != "" {
			msg += " (" + d + ")"
		}
	}
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinel errors for conditions callers branch on.
var (
	// ErrNotFound: the object or account does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAmbiguous: a name matched more than one account.
	ErrAmbiguous = errors.New("ambiguous account name")
	// ErrNoDACL: the object's security descriptor has no DACL (unreadable
	// without the right to read permissions).
	ErrNoDACL = errors.New("security descriptor has no DACL")
)

// ErrMalformed is wrapped by every parse error of security descriptors,
// ACLs, ACEs, SIDs and GUIDs.
var ErrMalformed = errors.New("malformed security data")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// IsRetryable reports whether err is transient: a network failure, a busy
// or unavailable server, or a time limit. Anything else will fail again.
func IsRetryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		return retryableCode(le.ResultCode)
	}
	var ne net.Error
	return errors.As(err, &ne)
}

func retryableCode(code uint16) bool {
	switch code {
	case ldap.ErrorNetwork, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable, ldap.LDAPResultTimeLimitExceeded,
		ldap.LDAPResultAdminLimitExceeded, ldap.LDAPResultServerDown, ldap.LDAPResultTimeout,
		ldap.LDAPResultConnectError:
		return true
	}
	return false
}

func codeName(code uint16) string {
	switch code {
	case ldap.LDAPResultInsufficientAccessRights:
		return "insufficientAccessRights"
	case ldap.LDAPResultNoSuchObject:
		return "noSuchObject"
	case ldap.LDAPResultInvalidCredentials:
		return "invalidCredentials"
	case ldap.LDAPResultConstraintViolation:
		return "constraintViolation"
	case ldap.LDAPResultUnwillingToPerform:
		return "unwillingToPerform"
	case ldap.LDAPResultStrongAuthRequired:
		return "strongerAuthRequired"
	case ldap.LDAPResultBusy:
		return "busy"
	case ldap.LDAPResultUnavailable:
		return "unavailable"
	case ldap.LDAPResultOperationsError:
		return "operationsError"
	case ldap.LDAPResultEntryAlreadyExists:
		return "entryAlreadyExists"
	case ldap.LDAPResultAttributeOrValueExists:
		return "attributeOrValueExists"
	case ldap.LDAPResultNoSuchAttribute:
		return "noSuchAttribute"
	case ldap.ErrorNetwork:
		return "network error"
	}
	if s, ok := ldap.LDAPResultCodeMap[code]; ok {
		return s
	}
	return "error"
}

// detail extracts the server's diagnostic message without repeating the
// result code go-ldap already formats.
func detail(err error) string {
	var le *ldap.Error
	if errors.As(err, &le) {
		if le.Err != nil {
			return strings.TrimSpace(le.Err.Error())
		}
		return ""
	}
	return strings.TrimSpace(err.Error())
}

// hintFor says how an administrator fixes a failed operation.
func hintFor(op string, code uint16) string {
	switch code {
	case ldap.LDAPResultInsufficientAccessRights:
		switch op {
		case opWriteSD:
			return "run as a Domain Admin or delegate 'Modify permissions' on this object to the bind user"
		case opReadSD:
			return "the bind user needs 'Read permissions' on this object"
		}
		return "the bound account lacks the right for this operation"
	case ldap.LDAPResultInvalidCredentials:
		return "check the directory profile's bindUser and the password its bindPassword reference resolves to"
	case ldap.LDAPResultStrongAuthRequired:
		return "the DC requires TLS for simple binds: use ldaps:// or ldap:// with StartTLS (allowPlainLDAP off)"
	case ldap.LDAPResultNoSuchObject:
		return "check the DN (directory.scope or the account name) exists on this DC"
	case ldap.LDAPResultConstraintViolation:
		return "the DC rejected the value"
	case ldap.ErrorNetwork, ldap.LDAPResultServerDown, ldap.LDAPResultConnectError, ldap.LDAPResultTimeout:
		return "check the DC is reachable at the directory profile's url and its certificate matches caFile/serverName"
	}
	return ""
}

// wrap classifies err from operation op on dn.
func (c *Conn) wrap(op, dn string, err error) error {
	if err == nil {
		return nil
	}
	id := ""
	if c != nil {
		id = c.identity
	}
	return classify(op, dn, id, err)
}

func classify(op, dn, identity string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	out := &Error{Op: op, DN: dn, Identity: identity, Err: err}
	var le *ldap.Error
	switch {
	case errors.As(err, &le):
		out.Code = le.ResultCode
		out.Retryable = retryableCode(le.ResultCode)
	default:
		var ne net.Error
		out.Retryable = errors.As(err, &ne)
	}
	out.Hint = hintFor(op, out.Code)
	return out
}

// Operation names used in errors.
const (
	opDial    = "connect to the domain controller"
	opBind    = "bind"
	opReadSD  = "read nTSecurityDescriptor"
	opWriteSD = "write nTSecurityDescriptor"
	opSearch  = "search"
	opResolve = "resolve account"
)
