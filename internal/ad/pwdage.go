package ad

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// DefaultDomainPolicyGUID is the GUID of the Default Domain Policy GPO,
// where Windows takes the domain's password policy from.
const DefaultDomainPolicyGUID = "{31B2F340-016D-11D2-945F-00C04FB984F9}"

// GptTmplPath is GptTmpl.inf's path inside a GPO's gPCFileSysPath.
const GptTmplPath = `MACHINE\Microsoft\Windows NT\SecEdit\GptTmpl.inf`

// PSO is a fine-grained password policy (msDS-PasswordSettings).
type PSO struct {
	DN         string
	Name       string
	Precedence int
	// MinAge is msDS-MinimumPasswordAge.
	MinAge time.Duration
	// AppliesTo are the DNs in msDS-PSOAppliesTo (users and groups).
	AppliesTo []string
}

// GPO is a group policy object's identity and, when the caller could read
// its GptTmpl.inf, the value it sets.
type GPO struct {
	DN          string
	GUID        string
	DisplayName string
	// FileSysPath is gPCFileSysPath (the GPO's folder in SYSVOL).
	FileSysPath string
	// MinimumPasswordAgeDays is the [System Access] value, if known.
	MinimumPasswordAgeDays *int
}

// GptTmplFile is the UNC path of the GPO's security template.
func (g GPO) GptTmplFile() string {
	if g.FileSysPath == "" {
		return ""
	}
	return strings.TrimRight(g.FileSysPath, `\`) + `\` + GptTmplPath
}

// PasswordAgeFinding is one effective minimum password age that is not 0.
type PasswordAgeFinding struct {
	// Source is "domain", "gpo" or "pso".
	Source string
	// Name is the GPO's or PSO's name ("" for the domain).
	Name  string
	DN    string
	Value time.Duration
	// AppliesTo lists the PSO's targets.
	AppliesTo []string
	// InScope is false for a PSO that applies to none of the scope groups
	// (reported, not failing).
	InScope     bool
	Remediation string
}

// PasswordAgeReport is every minimum password age that can block
// password writeback from resetting a password twice within the age.
type PasswordAgeReport struct {
	DomainDN string
	// DomainMinAge is minPwdAge on the domain head.
	DomainMinAge time.Duration
	// DefaultDomainPolicy is the GPO the domain value comes from on Windows.
	DefaultDomainPolicy *GPO
	// PSOs are all fine-grained password policies, by precedence.
	PSOs []PSO
	// ScopeGroups are the DNs of the rollout's groups the PSOs were
	// matched against (empty: every PSO is in scope).
	ScopeGroups []string
	Findings    []PasswordAgeFinding
}

// PasswordAgeError is returned by Verify; it lists every finding in scope.
type PasswordAgeError struct {
	Findings []PasswordAgeFinding
}

func (e *PasswordAgeError) Error() string {
	var sb strings.Builder
	sb.WriteString("minimum password age is not 0, so password writeback cannot reset a password again within that age (ADSync event 6329):")
	for _, f := range e.Findings {
		sb.WriteString("\n- ")
		sb.WriteString(f.Remediation)
	}
	return sb.String()
}

// Verify fails with a *PasswordAgeError naming each in-scope GPO, PSO or
// domain value that is not 0, and where to change it.
func (r PasswordAgeReport) Verify() error {
	var bad []PasswordAgeFinding
	for _, f := range r.Findings {
		if f.InScope {
			bad = append(bad, f)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &PasswordAgeError{Findings: bad}
}

// FromADInterval converts an AD interval (negative 100 ns units, as in
// minPwdAge) to a duration. "-9223372036854775808" means never.
func FromADInterval(s string) (time.Duration, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("interval %q: %w", s, err)
	}
	if v == math.MinInt64 {
		return time.Duration(math.MaxInt64), nil
	}
	if v < 0 {
		v = -v
	}
	if v > math.MaxInt64/100 {
		return time.Duration(math.MaxInt64), nil
	}
	return time.Duration(v * 100), nil
}

func formatAge(d time.Duration) string {
	days := d.Hours() / 24
	if d%(24*time.Hour) == 0 {
		if days == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", int64(days))
	}
	return d.String()
}

// PasswordAge reads the domain's minPwdAge, the Default Domain Policy GPO's
// identity and every PSO, and reports each non-zero minimum age. scopeGroups
// (DNs or sAMAccountNames) decide which PSOs are in scope; none means all.
// It never edits anything. Windows' GPO value lives in SYSVOL: read it with
// ParseGptTmpl and pass it to AddGptTmpl.
func (c *Conn) PasswordAge(ctx context.Context, scopeGroups []string) (PasswordAgeReport, error) {
	rep := PasswordAgeReport{DomainDN: c.baseDN}
	req := ldap.NewSearchRequest(c.baseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"minPwdAge"}, nil)
	var res *ldap.SearchResult
	if err := c.do(ctx, func() (err error) { res, err = c.l.Search(req); return err }); err != nil {
		return rep, c.wrap("read minPwdAge", c.baseDN, err)
	}
	if len(res.Entries) == 1 {
		if v := res.Entries[0].GetAttributeValue("minPwdAge"); v != "" {
			d, err := FromADInterval(v)
			if err != nil {
				return rep, &Error{Op: "read minPwdAge", DN: c.baseDN, Err: err}
			}
			rep.DomainMinAge = d
		}
	}
	gpoDN := "CN=" + DefaultDomainPolicyGUID + ",CN=Policies,CN=System," + c.baseDN
	req = ldap.NewSearchRequest(gpoDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=groupPolicyContainer)", []string{"displayName", "gPCFileSysPath"}, nil)
	if err := c.do(ctx, func() (err error) { res, err = c.l.Search(req); return err }); err == nil && len(res.Entries) == 1 {
		rep.DefaultDomainPolicy = &GPO{DN: gpoDN, GUID: DefaultDomainPolicyGUID,
			DisplayName: res.Entries[0].GetAttributeValue("displayName"),
			FileSysPath: res.Entries[0].GetAttributeValue("gPCFileSysPath")}
	} else if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return rep, c.wrap("read Default Domain Policy", gpoDN, err)
	}
	for _, g := range scopeGroups {
		dn, err := c.groupDN(ctx, g)
		if err != nil {
			return rep, err
		}
		rep.ScopeGroups = append(rep.ScopeGroups, dn)
	}
	psoBase := "CN=Password Settings Container,CN=System," + c.baseDN
	err := c.pagedSearch(ctx, psoBase, "(objectClass=msDS-PasswordSettings)",
		[]string{"cn", "msDS-MinimumPasswordAge", "msDS-PSOAppliesTo", "msDS-PasswordSettingsPrecedence"}, nil,
		func(e *ldap.Entry) {
			p := PSO{DN: e.DN, Name: e.GetAttributeValue("cn"), AppliesTo: e.GetAttributeValues("msDS-PSOAppliesTo")}
			p.Precedence, _ = strconv.Atoi(e.GetAttributeValue("msDS-PasswordSettingsPrecedence"))
			p.MinAge, _ = FromADInterval(e.GetAttributeValue("msDS-MinimumPasswordAge"))
			rep.PSOs = append(rep.PSOs, p)
		})
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return rep, err
	}
	sort.SliceStable(rep.PSOs, func(i, j int) bool { return rep.PSOs[i].Precedence < rep.PSOs[j].Precedence })
	rep.findings()
	return rep, nil
}

// groupDN accepts a DN or a sAMAccountName.
func (c *Conn) groupDN(ctx context.Context, g string) (string, error) {
	if strings.Contains(g, "=") {
		return g, nil
	}
	acc, err := c.ResolveAccount(ctx, g)
	if err != nil {
		return "", err
	}
	return acc.DN, nil
}

// AddGptTmpl records the Default Domain Policy's GptTmpl.inf contents
// (read from SYSVOL by the caller) and re-evaluates the findings.
func (r *PasswordAgeReport) AddGptTmpl(t GptTmpl) {
	if r.DefaultDomainPolicy == nil {
		r.DefaultDomainPolicy = &GPO{GUID: DefaultDomainPolicyGUID, DisplayName: "Default Domain Policy"}
	}
	if t.MinimumPasswordAge != nil {
		v := *t.MinimumPasswordAge
		r.DefaultDomainPolicy.MinimumPasswordAgeDays = &v
	}
	r.findings()
}

func (r *PasswordAgeReport) gpoName() string {
	if r.DefaultDomainPolicy != nil && r.DefaultDomainPolicy.DisplayName != "" {
		return r.DefaultDomainPolicy.DisplayName
	}
	return "Default Domain Policy"
}

func (r *PasswordAgeReport) findings() {
	r.Findings = nil
	dom := dnsDomain(r.DomainDN)
	gpmc := fmt.Sprintf("gpmc.msc > Forest > Domains > %s > Group Policy Objects > %s > Edit > Computer Configuration > "+
		"Policies > Windows Settings > Security Settings > Account Policies > Password Policy > Minimum password age = 0 days",
		dom, r.gpoName())
	if r.DomainMinAge != 0 {
		r.Findings = append(r.Findings, PasswordAgeFinding{Source: "domain", DN: r.DomainDN, Value: r.DomainMinAge, InScope: true,
			Remediation: fmt.Sprintf("the domain's minimum password age is %s (minPwdAge on %s), set by GPO %q %s: "+
				"change it in %s, then gpupdate /force and re-run verification (Samba: samba-tool domain passwordsettings set --min-pwd-age=0)",
				formatAge(r.DomainMinAge), r.DomainDN, r.gpoName(), DefaultDomainPolicyGUID, gpmc)})
	}
	if g := r.DefaultDomainPolicy; g != nil && g.MinimumPasswordAgeDays != nil && *g.MinimumPasswordAgeDays != 0 {
		r.Findings = append(r.Findings, PasswordAgeFinding{Source: "gpo", Name: g.DisplayName, DN: g.DN,
			Value: time.Duration(*g.MinimumPasswordAgeDays) * 24 * time.Hour, InScope: true,
			Remediation: fmt.Sprintf("GPO %q %s sets MinimumPasswordAge = %d in [System Access] of %s: change it in %s "+
				"(Samba: samba-tool gpo manage security set %s MinimumPasswordAge 0)",
				g.DisplayName, g.GUID, *g.MinimumPasswordAgeDays, g.GptTmplFile(), gpmc, g.GUID)})
	}
	scope := map[string]bool{}
	for _, g := range r.ScopeGroups {
		scope[normDN(g)] = true
	}
	for _, p := range r.PSOs {
		if p.MinAge == 0 || len(p.AppliesTo) == 0 {
			continue
		}
		in := len(scope) == 0
		for _, a := range p.AppliesTo {
			if scope[normDN(a)] {
				in = true
			}
		}
		r.Findings = append(r.Findings, PasswordAgeFinding{Source: "pso", Name: p.Name, DN: p.DN, Value: p.MinAge,
			AppliesTo: p.AppliesTo, InScope: in,
			Remediation: fmt.Sprintf("fine-grained password policy %q (%s, precedence %d) sets a minimum password age of %s "+
				"for %s and overrides the domain policy: run Set-ADFineGrainedPasswordPolicy -Identity %q -MinPasswordAge 0 "+
				"(or Active Directory Administrative Center > System > Password Settings Container) "+
				"(Samba: samba-tool domain passwordsettings pso set %q --min-pwd-age=0)",
				p.Name, p.DN, p.Precedence, formatAge(p.MinAge), strings.Join(p.AppliesTo, "; "), p.Name, p.Name)})
	}
}

// GptTmpl is what ssprflow reads from a GPO's GptTmpl.inf.
type GptTmpl struct {
	// MinimumPasswordAge is [System Access] MinimumPasswordAge in days,
	// nil when the GPO does not set it.
	MinimumPasswordAge *int
	// SystemAccess holds every key of [System Access] as written.
	SystemAccess map[string]string
}

// ParseGptTmpl parses a GptTmpl.inf security template: UTF-16LE with BOM and
// CRLF as Windows writes it, or ASCII/UTF-8 with LF as samba-tool does.
func ParseGptTmpl(data []byte) (GptTmpl, error) {
	text, err := decodeINF(data)
	if err != nil {
		return GptTmpl{}, err
	}
	t := GptTmpl{SystemAccess: map[string]string{}}
	section := ""
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return GptTmpl{}, fmt.Errorf("GptTmpl.inf line %d: unterminated section header %q", n+1, line)
			}
			section = strings.TrimSpace(line[1:end])
			continue
		}
		if !strings.EqualFold(section, "System Access") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return GptTmpl{}, fmt.Errorf("GptTmpl.inf line %d: %q is not key = value", n+1, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		t.SystemAccess[k] = v
		if strings.EqualFold(k, "MinimumPasswordAge") {
			days, err := strconv.Atoi(v)
			if err != nil || days < 0 || days > 999 {
				return GptTmpl{}, fmt.Errorf("GptTmpl.inf line %d: MinimumPasswordAge %q is not 0-999 days", n+1, v)
			}
			t.MinimumPasswordAge = &days
		}
	}
	return t, nil
}

func decodeINF(b []byte) (string, error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return decodeUTF16LE(b[2:])
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return string(b[3:]), nil
	case len(b) >= 2 && b[0] != 0 && b[1] == 0:
		// UTF-16LE without BOM.
		return decodeUTF16LE(b)
	}
	return string(b), nil
}

func decodeUTF16LE(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", errors.New("GptTmpl.inf: UTF-16 text has an odd number of bytes")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u)), nil
}
