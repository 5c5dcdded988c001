package ad

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"
	"github.com/go-ldap/ldap/v3"
)

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

// PasswordAgeSource says where a minimum password age is set.
type PasswordAgeSource string

// Where a minimum password age can come from.
const (
	// SourceDomain is minPwdAge on the domain object: what DCs enforce now.
	SourceDomain PasswordAgeSource = "domain"
	// SourceGPO is MinimumPasswordAge in GptTmpl.inf of a GPO linked at
	// the domain root: DCs write it to minPwdAge at their next refresh.
	SourceGPO PasswordAgeSource = "gpo"
	// SourcePSO is a fine-grained password policy, which overrides the
	// domain's for the users and groups it applies to.
	SourcePSO PasswordAgeSource = "pso"
)

// PasswordAgeSetting is one minimum password age and where it is set.
type PasswordAgeSetting struct {
	Source PasswordAgeSource
	// Name is the GPO's or PSO's name ("" for the domain).
	Name string
	// DN is the domain's, GPO's or PSO's DN.
	DN string
	// File is the GPO's GptTmpl.inf (UNC path).
	File  string
	Value time.Duration
	// AppliesTo lists the PSO's targets.
	AppliesTo []string
	// Remediation says where to change it (findings only).
	Remediation string `json:",omitempty"`
}

// Where names the setting's place: "minPwdAge on DC=...", "GptTmpl.inf of
// GPO "Default Domain Policy" (\\...)", "fine-grained password policy "X"".
func (s PasswordAgeSetting) Where() string {
	switch s.Source {
	case SourceGPO:
		return fmt.Sprintf("GptTmpl.inf of GPO %q (%s)", s.Name, s.File)
	case SourcePSO:
		return fmt.Sprintf("fine-grained password policy %q (%s) for %s", s.Name, s.DN, strings.Join(s.AppliesTo, "; "))
	}
	return "minPwdAge on " + s.DN
}

// String is the value and where it is set, e.g. "1 day, from GptTmpl.inf
// of GPO ...".
func (s PasswordAgeSetting) String() string { return formatAge(s.Value) + ", from " + s.Where() }

// PasswordAgeReport is every minimum password age that can block
// password writeback from resetting a password twice within the age.
type PasswordAgeReport struct {
	DomainDN string
	// DomainMinAge is minPwdAge on the domain head.
	DomainMinAge time.Duration
	// GPOs are the GPOs linked at the domain root that can set the
	// password policy, highest precedence first.
	GPOs []GPO
	// PSOs are all fine-grained password policies, by precedence.
	PSOs []PSO
	// Effective is the domain-wide minimum password age and what sets it:
	// the first GPO whose GptTmpl.inf sets one (DCs apply it to the domain
	// object), else the domain object's minPwdAge. A PSO overrides it for
	// its members; those are in Findings when not 0.
	Effective PasswordAgeSetting
	// Findings are the settings that are not 0: each blocks writeback for
	// someone, and Verify fails on them.
	Findings []PasswordAgeSetting
	// Warnings say what could not be read (a GPO's GptTmpl.inf), so the
	// report may miss a setting.
	Warnings []string
}

// PasswordAgeError is returned by Verify; it lists every finding.
type PasswordAgeError struct {
	Findings []PasswordAgeSetting
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

// Verify fails with a *PasswordAgeError naming each GPO, PSO or domain
// value that is not 0, and where to change it.
func (r PasswordAgeReport) Verify() error {
	if len(r.Findings) == 0 {
		return nil
	}
	return &PasswordAgeError{Findings: r.Findings}
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

// PasswordAge reads the domain's minPwdAge, the GPOs linked at the domain
// root with their GptTmpl.inf from the DC's SYSVOL (over SMB, as the bind
// identity), and every PSO, and reports the effective minimum age and each
// one that is not 0. It never edits anything. A GptTmpl.inf it cannot read
// is a warning in the report, not an error.
func (c *Conn) PasswordAge(ctx context.Context) (PasswordAgeReport, error) {
	rep := PasswordAgeReport{DomainDN: c.baseDN}
	req := ldap.NewSearchRequest(c.baseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"minPwdAge", "gPLink"}, nil)
	var res *ldap.SearchResult
	if err := c.do(ctx, func() (err error) { res, err = c.l.Search(req); return err }); err != nil {
		return rep, c.wrap("read minPwdAge", c.baseDN, err)
	}
	var gpLink string
	if len(res.Entries) == 1 {
		if v := res.Entries[0].GetAttributeValue("minPwdAge"); v != "" {
			d, err := FromADInterval(v)
			if err != nil {
				return rep, &Error{Op: "read minPwdAge", DN: c.baseDN, Err: err}
			}
			rep.DomainMinAge = d
		}
		gpLink = res.Entries[0].GetAttributeValue("gPLink")
	}
	var err error
	if rep.GPOs, rep.Warnings, err = c.domainGPOs(ctx, gpLink); err != nil {
		return rep, err
	}
	rep.Warnings = append(rep.Warnings, c.readGPOs(ctx, rep.GPOs)...)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	psoBase := "CN=Password Settings Container,CN=System," + c.baseDN
	err = c.pagedSearch(ctx, psoBase, "(objectClass=msDS-PasswordSettings)",
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
	rep.evaluate()
	return rep, nil
}

// readGPOs reads the GPOs' GptTmpl.inf from this DC as the bind identity.
func (c *Conn) readGPOs(ctx context.Context, gpos []GPO) []string {
	if len(gpos) == 0 {
		return nil
	}
	user, domain, err := c.ntlmName(ctx)
	if err != nil {
		return []string{fmt.Sprintf("GPO security templates were not read from SYSVOL: %v", err)}
	}
	return readGPOs(ctx, c.host, &smb2.NTLMInitiator{User: user, Password: c.password(), Domain: domain}, gpos)
}

// ntlmName is the bind identity as NTLM takes it: DOMAIN\name split, a UPN
// as it is (with no domain, which is how NTLM accepts a UPN, implicit
// ones included), a DN by its sAMAccountName in this DC's NetBIOS domain.
func (c *Conn) ntlmName(ctx context.Context) (user, domain string, err error) {
	if d, u, ok := strings.Cut(c.identity, `\`); ok {
		return u, d, nil
	}
	if !strings.Contains(c.identity, "=") {
		return c.identity, "", nil
	}
	acct, err := c.ResolveAccount(ctx, c.identity)
	if err != nil {
		return "", "", err
	}
	if domain, err = c.netBIOSName(ctx); err != nil || domain == "" {
		domain, _, _ = strings.Cut(dnsDomain(c.baseDN), ".")
	}
	return acct.SAM, domain, nil
}

// evaluate derives Effective and Findings from what was read.
func (r *PasswordAgeReport) evaluate() {
	r.Findings = nil
	domain := PasswordAgeSetting{Source: SourceDomain, DN: r.DomainDN, Value: r.DomainMinAge}
	r.Effective = domain
	var gpo *GPO
	for i := range r.GPOs {
		if r.GPOs[i].MinimumPasswordAgeDays != nil {
			gpo = &r.GPOs[i]
			break
		}
	}
	gpoName := "Default Domain Policy"
	if gpo != nil {
		gpoName = gpo.name()
	}
	gpmc := fmt.Sprintf("gpmc.msc > Forest > Domains > %s > Group Policy Objects > %s > Edit > Computer Configuration > "+
		"Policies > Windows Settings > Security Settings > Account Policies > Password Policy > Minimum password age = 0 days",
		dnsDomain(r.DomainDN), gpoName)
	if gpo != nil {
		days := *gpo.MinimumPasswordAgeDays
		r.Effective = PasswordAgeSetting{Source: SourceGPO, Name: gpo.name(), DN: gpo.DN, File: gpo.GptTmplFile(),
			Value: time.Duration(days) * 24 * time.Hour}
		if days != 0 {
			f := r.Effective
			f.Remediation = fmt.Sprintf("GPO %q %s sets MinimumPasswordAge = %d in [System Access] of %s, which domain controllers "+
				"apply to the domain: change it in %s (Samba: samba-tool gpo manage security set %s MinimumPasswordAge 0)",
				gpo.name(), gpo.GUID, days, gpo.GptTmplFile(), gpmc, gpo.GUID)
			r.Findings = append(r.Findings, f)
		}
	}
	// The domain object is what DCs enforce now; when a GPO sets the same
	// value, the GPO's finding already says where to change it.
	if domain.Value != 0 && (gpo == nil || domain.Value != r.Effective.Value) {
		set := fmt.Sprintf("set by GPO %q %s", gpoName, DefaultDomainPolicyGUID)
		if gpo != nil {
			set = fmt.Sprintf("while GPO %q %s sets %s: domain controllers apply the GPO at their next policy refresh", gpoName, gpo.GUID, formatAge(r.Effective.Value))
		}
		domain.Remediation = fmt.Sprintf("the domain's minimum password age is %s (minPwdAge on %s), %s: "+
			"change it in %s, then gpupdate /force and re-run verification (Samba: samba-tool domain passwordsettings set --min-pwd-age=0)",
			formatAge(domain.Value), r.DomainDN, set, gpmc)
		r.Findings = append(r.Findings, domain)
	}
	for _, p := range r.PSOs {
		if p.MinAge == 0 || len(p.AppliesTo) == 0 {
			continue
		}
		r.Findings = append(r.Findings, PasswordAgeSetting{Source: SourcePSO, Name: p.Name, DN: p.DN, Value: p.MinAge,
			AppliesTo: p.AppliesTo,
			Remediation: fmt.Sprintf("fine-grained password policy %q (%s, precedence %d) sets a minimum password age of %s "+
				"for %s and overrides the domain policy: run Set-ADFineGrainedPasswordPolicy -Identity %q -MinPasswordAge 0 "+
				"(or Active Directory Administrative Center > System > Password Settings Container) "+
				"(Samba: samba-tool domain passwordsettings pso set %q --min-pwd-age=0)",
				p.Name, p.DN, p.Precedence, formatAge(p.MinAge), strings.Join(p.AppliesTo, "; "), p.Name, p.Name)})
	}
}
