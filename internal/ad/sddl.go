package ad

import (
	"fmt"
	"strings"
)

// SDDL (Security Descriptor Definition Language) rendering, for reports
// and for comparing with `samba-tool dsacl get`.

type flagName struct {
	name string
	bit  uint32
}

// The tables and their order follow Samba's sddl.c, so that SDDL rendered
// here compares equal to `samba-tool dsacl get`.
var (
	sddlRights = []flagName{
		{"RP", RightReadProperty}, {"WP", RightWriteProperty}, {"CR", RightControlAccess},
		{"CC", RightCreateChild}, {"DC", RightDeleteChild}, {"LC", RightList}, {"LO", RightListObject},
		{"RC", RightReadControl}, {"WO", RightWriteOwner}, {"WD", RightWriteDAC}, {"SD", RightDelete},
		{"DT", RightDeleteTree}, {"SW", RightSelf},
		{"GA", RightGenericAll}, {"GR", RightGenericRead}, {"GW", RightGenericWrite}, {"GX", RightGenericExec},
	}
	sddlACEFlags = []flagName{
		{"OI", uint32(ACEFlagObjectInherit)}, {"CI", uint32(ACEFlagContainerInherit)},
		{"NP", uint32(ACEFlagNoPropagateInherit)}, {"IO", uint32(ACEFlagInheritOnly)},
		{"ID", uint32(ACEFlagInherited)}, {"SA", uint32(ACEFlagSuccessfulAccess)}, {"FA", uint32(ACEFlagFailedAccess)},
	}
	sddlACETypes = map[byte]string{
		ACETypeAccessAllowed: "A", ACETypeAccessDenied: "D", ACETypeSystemAudit: "AU", ACETypeSystemAlarm: "AL",
		ACETypeAccessAllowedObject: "OA", ACETypeAccessDeniedObject: "OD",
		ACETypeSystemAuditObject: "OU", ACETypeSystemAlarmObject: "OL",
		ACETypeAccessAllowedCallback: "XA", ACETypeAccessDeniedCallback: "XD",
		ACETypeSystemAuditCallback: "XU", ACETypeAccessAllowedCallbackObject: "ZA",
		ACETypeSystemMandatoryLabel: "ML", ACETypeSystemResourceAttribute: "RA",
		ACETypeSystemScopedPolicyID: "SP",
	}
	sddlWellKnown = map[string]string{
		"S-1-1-0": "WD", "S-1-3-0": "CO", "S-1-3-1": "CG", "S-1-3-4": "OW",
		"S-1-5-2": "NU", "S-1-5-4": "IU", "S-1-5-6": "SU", "S-1-5-7": "AN", "S-1-5-9": "ED",
		"S-1-5-10": "PS", "S-1-5-11": "AU", "S-1-5-12": "RC", "S-1-5-18": "SY", "S-1-5-19": "LS",
		"S-1-5-20": "NS", "S-1-5-33": "WR", "S-1-5-84-0-0-0-0-0": "UD", "S-1-15-2-1": "AC",
		"S-1-18-1": "AS", "S-1-18-2": "SS",
		"S-1-16-4096": "LW", "S-1-16-8192": "ME", "S-1-16-8448": "MP", "S-1-16-12288": "HI", "S-1-16-16384": "SI",
		"S-1-5-32-544": "BA", "S-1-5-32-545": "BU", "S-1-5-32-546": "BG", "S-1-5-32-547": "PU",
		"S-1-5-32-548": "AO", "S-1-5-32-549": "SO", "S-1-5-32-550": "PO", "S-1-5-32-551": "BO",
		"S-1-5-32-552": "RE", "S-1-5-32-554": "RU", "S-1-5-32-555": "RD", "S-1-5-32-556": "NO",
		"S-1-5-32-558": "MU", "S-1-5-32-559": "LU", "S-1-5-32-568": "IS", "S-1-5-32-569": "CY",
		"S-1-5-32-573": "ER", "S-1-5-32-574": "CD", "S-1-5-32-575": "RA", "S-1-5-32-576": "ES",
		"S-1-5-32-577": "MS", "S-1-5-32-578": "HA", "S-1-5-32-579": "AA", "S-1-5-32-580": "RM",
	}
	sddlDomainRIDs = map[uint32]string{
		498: "RO", 500: "LA", 501: "LG", 512: "DA", 513: "DU", 514: "DG", 515: "DC", 516: "DD",
		517: "CA", 518: "SA", 519: "EA", 520: "PA", 522: "CN", 525: "AP", 526: "KA", 527: "EK", 553: "RS",
	}
)

func flagsString(table []flagName, v uint32) (string, bool) {
	var sb strings.Builder
	for _, f := range table {
		if v&f.bit == f.bit && f.bit != 0 {
			sb.WriteString(f.name)
			v &^= f.bit
		}
	}
	return sb.String(), v == 0
}

// SIDString renders a SID for SDDL: a two-letter alias when Samba would
// print one (domain-relative aliases need domain), otherwise S-1-....
func SIDString(s SID, domain *SID) string {
	str := s.String()
	if a, ok := sddlWellKnown[str]; ok {
		return a
	}
	if domain != nil {
		if d, rid, ok := s.Domain(); ok && d.Equal(*domain) {
			if a, ok := sddlDomainRIDs[rid]; ok {
				return a
			}
		}
	}
	return str
}

// SDDL renders the ACE as Samba does, e.g.
// (OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-...).
func (a ACE) SDDL(domain *SID) string {
	typ, ok := sddlACETypes[a.Type]
	if !ok {
		typ = fmt.Sprintf("0x%02x", a.Type)
	}
	flags, ok := flagsString(sddlACEFlags, uint32(a.Flags))
	if !ok {
		flags = fmt.Sprintf("0x%02x", a.Flags)
	}
	if !isKnownType(a.Type) {
		return fmt.Sprintf("(%s;%s;;;;%x)", typ, flags, a.Raw)
	}
	rights, ok := flagsString(sddlRights, a.Mask)
	if !ok {
		rights = fmt.Sprintf("0x%08x", a.Mask)
	}
	var obj, inh string
	if a.IsObject() {
		if a.ObjectFlags&ACEObjectTypePresent != 0 {
			obj = a.ObjectType.String()
		}
		if a.ObjectFlags&ACEInheritedObjectTypePresent != 0 {
			inh = a.InheritedObjectType.String()
		}
	}
	return "(" + typ + ";" + flags + ";" + rights + ";" + obj + ";" + inh + ";" + SIDString(a.SID, domain) + ")"
}

// SDDL renders the ACL's ACEs (without the D:/S: prefix and flags).
func (l *ACL) SDDL(domain *SID) string {
	var sb strings.Builder
	for _, a := range l.ACEs {
		sb.WriteString(a.SDDL(domain))
	}
	return sb.String()
}

// SDDL renders the descriptor in Security Descriptor Definition Language
// with Samba's conventions; domain enables aliases like DA and EA.
func (sd *SecurityDescriptor) SDDL(domain *SID) string {
	var sb strings.Builder
	if sd.Owner != nil {
		sb.WriteString("O:" + SIDString(*sd.Owner, domain))
	}
	if sd.Group != nil {
		sb.WriteString("G:" + SIDString(*sd.Group, domain))
	}
	if sd.DACL != nil && sd.Control&SDDACLPresent != 0 {
		sb.WriteString("D:")
		sb.WriteString(aclFlags(sd.Control, SDDACLProtected, SDDACLAutoInheritReq, SDDACLAutoInherited))
		sb.WriteString(sd.DACL.SDDL(domain))
	}
	if sd.SACL != nil && sd.Control&SDSACLPresent != 0 {
		sb.WriteString("S:")
		sb.WriteString(aclFlags(sd.Control, SDSACLProtected, SDSACLAutoInheritReq, SDSACLAutoInherited))
		sb.WriteString(sd.SACL.SDDL(domain))
	}
	return sb.String()
}

func aclFlags(c, p, ar, ai uint16) string {
	s := ""
	if c&p != 0 {
		s += "P"
	}
	if c&ar != 0 {
		s += "AR"
	}
	if c&ai != 0 {
		s += "AI"
	}
	return s
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
