package ad

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// DefaultDomainPolicyGUID is the GUID of the Default Domain Policy GPO,
// where Windows takes the domain's password policy from by default.
const DefaultDomainPolicyGUID = "{31B2F340-016D-11D2-945F-00C04FB984F9}"

// GPO is a group policy object linked at the domain root and, once its
// GptTmpl.inf was read from SYSVOL, the minimum password age it sets.
type GPO struct {
	DN          string
	GUID        string
	DisplayName string
	// FileSysPath is gPCFileSysPath (the GPO's folder in SYSVOL).
	FileSysPath string
	// Read is true when SYSVOL answered for this GPO: its GptTmpl.inf was
	// read, or it has none (the GPO sets no security settings).
	Read bool
	// MinimumPasswordAgeDays is [System Access] MinimumPasswordAge of
	// GptTmpl.inf; nil when the GPO does not set it or was not Read.
	MinimumPasswordAgeDays *int
}

// GptTmplFile is the UNC path of the GPO's security template.
func (g GPO) GptTmplFile() string {
	if g.FileSysPath == "" {
		return ""
	}
	return strings.TrimRight(g.FileSysPath, `\`) + `\` + GptTmplPath
}

// name is how reports name the GPO.
func (g GPO) name() string {
	if g.DisplayName != "" {
		return g.DisplayName
	}
	return g.GUID
}

// GPLink is one entry of a container's gPLink attribute.
type GPLink struct {
	DN string
	// Options: bit 0 the link is disabled, bit 1 it is enforced.
	Options int
}

// Disabled reports whether the link is switched off.
func (l GPLink) Disabled() bool { return l.Options&1 != 0 }

// ParseGPLink parses a gPLink value, [LDAP://cn={GUID},cn=policies,...;0]...,
// into its links with the highest precedence (link order 1) first: new
// links are prepended, so the last entry of the value wins.
func ParseGPLink(v string) ([]GPLink, error) {
	var links []GPLink
	rest := strings.TrimSpace(v)
	for rest != "" {
		if rest[0] != '[' {
			return nil, fmt.Errorf("gPLink %q: want [LDAP://dn;options]", v)
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, fmt.Errorf("gPLink %q: unterminated link", v)
		}
		entry := rest[1:end]
		rest = strings.TrimSpace(rest[end+1:])
		const scheme = "ldap://"
		semi := strings.LastIndexByte(entry, ';')
		if semi < 0 || len(entry) < len(scheme) || !strings.EqualFold(entry[:len(scheme)], scheme) {
			return nil, fmt.Errorf("gPLink entry %q: want LDAP://dn;options", entry)
		}
		opts, err := strconv.Atoi(entry[semi+1:])
		if err != nil {
			return nil, fmt.Errorf("gPLink entry %q: options: %w", entry, err)
		}
		links = append(links, GPLink{DN: entry[len(scheme):semi], Options: opts})
	}
	slices.Reverse(links)
	return links, nil
}

// gpoComputerDisabled is the GPO flags bit that switches off its
// Computer Configuration, where the password policy lives.
const gpoComputerDisabled = 2

// domainGPOs reads the GPOs linked at the domain root that can set the
// password policy, highest precedence first: enabled links to GPOs whose
// Computer Configuration is on. A link to a missing GPO is skipped with a
// warning.
func (c *Conn) domainGPOs(ctx context.Context, gpLink string) ([]GPO, []string, error) {
	links, err := ParseGPLink(gpLink)
	if err != nil {
		return nil, nil, &Error{Op: "read gPLink", DN: c.baseDN, Err: err}
	}
	var gpos []GPO
	var warnings []string
	for _, l := range links {
		if l.Disabled() {
			continue
		}
		req := ldap.NewSearchRequest(l.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=groupPolicyContainer)", []string{"cn", "displayName", "gPCFileSysPath", "flags"}, nil)
		var res *ldap.SearchResult
		err := c.do(ctx, func() (err error) { res, err = c.l.Search(req); return err })
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) || (err == nil && len(res.Entries) == 0) {
			warnings = append(warnings, fmt.Sprintf("the domain root links GPO %s, which does not exist", l.DN))
			continue
		}
		if err != nil {
			return nil, nil, c.wrap("read GPO", l.DN, err)
		}
		e := res.Entries[0]
		if flags, _ := strconv.Atoi(e.GetAttributeValue("flags")); flags&gpoComputerDisabled != 0 {
			continue
		}
		gpos = append(gpos, GPO{DN: e.DN, GUID: strings.ToUpper(e.GetAttributeValue("cn")),
			DisplayName: e.GetAttributeValue("displayName"), FileSysPath: e.GetAttributeValue("gPCFileSysPath")})
	}
	return gpos, warnings, nil
}
