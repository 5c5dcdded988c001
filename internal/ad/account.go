package ad

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

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
