package ad

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// PageSize is the LDAP paging size of directory scans (AD's MaxPageSize).
const PageSize = 1000

// CoverageEntry is one object the writeback rights cannot reach.
type CoverageEntry struct {
	DN  string
	SAM string `json:",omitempty"`
	// Kind is "user" or "container".
	Kind string
	// BlockedBy is the protected object that stops inheritance (the entry
	// itself, or a container above it).
	BlockedBy string `json:",omitempty"`
	// Remediation says how an administrator fixes it.
	Remediation string
}

// CoverageReport lists what inherited writeback rights will not reach.
type CoverageReport struct {
	Scopes []string
	// UsersScanned counts user objects under the scopes.
	UsersScanned int
	// InheritanceDisabled are objects whose DACL is protected (control bit
	// SE_DACL_PROTECTED), like Get-ADSyncObjectsWithInheritanceDisabled.
	InheritanceDisabled []CoverageEntry
	// Unreachable are users that never inherit the rights: their own DACL
	// is protected, or a container between them and the scope is.
	Unreachable []CoverageEntry
	// AdminCount are protected accounts (adminCount=1) whose DACL SDProp
	// rewrites from AdminSDHolder on Windows.
	AdminCount []CoverageEntry
}

// Remediation texts.
const (
	RemedyUserProtected = "enable inheritance on the user (Active Directory Users and Computers > Properties > Security > " +
		"Advanced > Enable inheritance), or grant on the object itself: " +
		"Set-ADSyncPasswordWritebackPermissions -ADConnectorAccountDN <connector> -ADobjectDN \"%s\""
	RemedyContainerProtected = "enable inheritance on the container (Security > Advanced > Enable inheritance), " +
		"or add \"%s\" to directory.scope so the rights are granted on it directly"
	RemedyBelowProtected = "inheritance stops at \"%s\": enable inheritance there, or add it to directory.scope"
	RemedyAdminCount     = "protected account (adminCount=1): on Windows SDProp resets its permissions from AdminSDHolder " +
		"every hour, removing inherited writeback rights; password writeback will not reset it unless AdminSDHolder is " +
		"granted (not recommended). Keep privileged accounts out of SSPR or manage them on-premises"
)

// Summary is a one-paragraph account for logs and approval requests.
func (r CoverageReport) Summary() string {
	return fmt.Sprintf("%d users scanned under %s: %d will not receive writeback rights (inheritance disabled), "+
		"%d objects have inheritance disabled, %d protected accounts (adminCount=1)",
		r.UsersScanned, strings.Join(r.Scopes, "; "), len(r.Unreachable), len(r.InheritanceDisabled), len(r.AdminCount))
}

type scanned struct {
	dn, sam   string
	user      bool
	protected bool
	admin     bool
}

// Coverage scans every user and container under each scope DN with paged
// searches (PageSize) and reports what inherited writeback rights do not
// reach. Memory grows with the number of users, not with their descriptors.
func (c *Conn) Coverage(ctx context.Context, scopes []string) (CoverageReport, error) {
	if len(scopes) == 0 {
		scopes = []string{c.baseDN}
	}
	rep := CoverageReport{Scopes: scopes}
	for _, scope := range scopes {
		var objs []scanned
		protectedContainers := map[string]bool{}
		err := c.pagedSearch(ctx, scope,
			"(|(&(objectCategory=person)(objectClass=user))(objectClass=organizationalUnit)(objectClass=container))",
			[]string{"nTSecurityDescriptor", "sAMAccountName", "adminCount", "objectClass"},
			[]ldap.Control{sdFlagsControl()},
			func(e *ldap.Entry) {
				o := scanned{dn: e.DN, sam: e.GetAttributeValue("sAMAccountName"),
					admin: e.GetAttributeValue("adminCount") == "1"}
				for _, cl := range e.GetAttributeValues("objectClass") {
					if strings.EqualFold(cl, "user") {
						o.user = true
					}
				}
				if ctl, ok := sdControl(e.GetRawAttributeValue("nTSecurityDescriptor")); ok {
					o.protected = ctl&SDDACLProtected != 0
				}
				if o.protected && !o.user && !strings.EqualFold(o.dn, scope) {
					protectedContainers[normDN(o.dn)] = true
				}
				if o.user || o.protected {
					// Keep only what the report needs.
					objs = append(objs, o)
				}
			})
		if err != nil {
			return rep, err
		}
		for _, o := range objs {
			if o.protected {
				e := CoverageEntry{DN: o.dn, SAM: o.sam, Kind: "container", BlockedBy: o.dn}
				if o.user {
					e.Kind, e.Remediation = "user", fmt.Sprintf(RemedyUserProtected, o.dn)
				} else {
					e.Remediation = fmt.Sprintf(RemedyContainerProtected, o.dn)
				}
				if !strings.EqualFold(o.dn, scope) {
					rep.InheritanceDisabled = append(rep.InheritanceDisabled, e)
				}
			}
			if !o.user {
				continue
			}
			rep.UsersScanned++
			if o.admin {
				rep.AdminCount = append(rep.AdminCount, CoverageEntry{DN: o.dn, SAM: o.sam, Kind: "user", Remediation: RemedyAdminCount})
			}
			switch {
			case o.protected:
				rep.Unreachable = append(rep.Unreachable, CoverageEntry{DN: o.dn, SAM: o.sam, Kind: "user", BlockedBy: o.dn,
					Remediation: fmt.Sprintf(RemedyUserProtected, o.dn)})
			default:
				if blocker := protectedAncestor(o.dn, scope, protectedContainers); blocker != "" {
					rep.Unreachable = append(rep.Unreachable, CoverageEntry{DN: o.dn, SAM: o.sam, Kind: "user", BlockedBy: blocker,
						Remediation: fmt.Sprintf(RemedyBelowProtected, blocker)})
				}
			}
		}
	}
	return rep, nil
}

// sdControl reads the control word of a self-relative descriptor without
// parsing the rest: a scan of 20,000 users needs nothing else.
func sdControl(b []byte) (uint16, bool) {
	if len(b) < sdHeaderLen || b[0] != 1 {
		return 0, false
	}
	return binary.LittleEndian.Uint16(b[2:]), true
}

// protectedAncestor returns the nearest protected container strictly
// between dn and scope.
func protectedAncestor(dn, scope string, protected map[string]bool) string {
	if len(protected) == 0 {
		return ""
	}
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return ""
	}
	nscope := normDN(scope)
	for i := 1; i < len(parsed.RDNs); i++ {
		parent := &ldap.DN{RDNs: parsed.RDNs[i:]}
		p := normDN(parent.String())
		if p == nscope {
			return ""
		}
		if protected[p] {
			return parent.String()
		}
	}
	return ""
}

// normDN makes DNs comparable: parsed, re-serialised, lower case.
func normDN(dn string) string {
	if p, err := ldap.ParseDN(dn); err == nil {
		return strings.ToLower(p.String())
	}
	return strings.ToLower(dn)
}

// pagedSearch runs a subtree search page by page, calling each for every
// entry, and checks ctx between pages.
func (c *Conn) pagedSearch(ctx context.Context, base, filter string, attrs []string, controls []ldap.Control, each func(*ldap.Entry)) error {
	paging := ldap.NewControlPaging(PageSize)
	for {
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs,
			append(append([]ldap.Control{}, controls...), paging))
		var res *ldap.SearchResult
		if err := c.do(ctx, func() (err error) { res, err = c.l.Search(req); return err }); err != nil {
			return c.wrap(opSearch+" "+filter, base, err)
		}
		for _, e := range res.Entries {
			each(e)
		}
		ctl, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(ctl.Cookie) == 0 {
			return nil
		}
		paging.SetCookie(ctl.Cookie)
	}
}
