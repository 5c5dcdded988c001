package ad

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Security descriptor control bits (MS-DTYP 2.4.6).
const (
	SDOwnerDefaulted     uint16 = 0x0001
	SDGroupDefaulted     uint16 = 0x0002
	SDDACLPresent        uint16 = 0x0004
	SDDACLDefaulted      uint16 = 0x0008
	SDSACLPresent        uint16 = 0x0010
	SDSACLDefaulted      uint16 = 0x0020
	SDDACLAutoInheritReq uint16 = 0x0100
	SDSACLAutoInheritReq uint16 = 0x0200
	SDDACLAutoInherited  uint16 = 0x0400
	SDSACLAutoInherited  uint16 = 0x0800
	SDDACLProtected      uint16 = 0x1000
	SDSACLProtected      uint16 = 0x2000
	SDRMControlValid     uint16 = 0x4000
	SDSelfRelative       uint16 = 0x8000
	sdHeaderLen                 = 20
	aclHeaderLen                = 8
	maxSubAuthorities           = 15
)

// ACE types (MS-DTYP 2.4.4.1).
const (
	ACETypeAccessAllowed               byte = 0x00
	ACETypeAccessDenied                byte = 0x01
	ACETypeSystemAudit                 byte = 0x02
	ACETypeSystemAlarm                 byte = 0x03
	ACETypeAccessAllowedCompound       byte = 0x04
	ACETypeAccessAllowedObject         byte = 0x05
	ACETypeAccessDeniedObject          byte = 0x06
	ACETypeSystemAuditObject           byte = 0x07
	ACETypeSystemAlarmObject           byte = 0x08
	ACETypeAccessAllowedCallback       byte = 0x09
	ACETypeAccessDeniedCallback        byte = 0x0A
	ACETypeAccessAllowedCallbackObject byte = 0x0B
	ACETypeAccessDeniedCallbackObject  byte = 0x0C
	ACETypeSystemAuditCallback         byte = 0x0D
	ACETypeSystemAlarmCallback         byte = 0x0E
	ACETypeSystemAuditCallbackObject   byte = 0x0F
	ACETypeSystemAlarmCallbackObject   byte = 0x10
	ACETypeSystemMandatoryLabel        byte = 0x11
	ACETypeSystemResourceAttribute     byte = 0x12
	ACETypeSystemScopedPolicyID        byte = 0x13
)

// ACE flags (MS-DTYP 2.4.4.1).
const (
	ACEFlagObjectInherit      byte = 0x01
	ACEFlagContainerInherit   byte = 0x02
	ACEFlagNoPropagateInherit byte = 0x04
	ACEFlagInheritOnly        byte = 0x08
	ACEFlagInherited          byte = 0x10
	ACEFlagSuccessfulAccess   byte = 0x40
	ACEFlagFailedAccess       byte = 0x80
)

// Object ACE flags: which GUIDs follow the mask.
const (
	ACEObjectTypePresent          uint32 = 0x1
	ACEInheritedObjectTypePresent uint32 = 0x2
)

// Directory service access rights (MS-ADTS 5.1.3.2).
const (
	RightCreateChild   uint32 = 0x00000001
	RightDeleteChild   uint32 = 0x00000002
	RightList          uint32 = 0x00000004
	RightSelf          uint32 = 0x00000008
	RightReadProperty  uint32 = 0x00000010
	RightWriteProperty uint32 = 0x00000020
	RightDeleteTree    uint32 = 0x00000040
	RightListObject    uint32 = 0x00000080
	RightControlAccess uint32 = 0x00000100
	RightDelete        uint32 = 0x00010000
	RightReadControl   uint32 = 0x00020000
	RightWriteDAC      uint32 = 0x00040000
	RightWriteOwner    uint32 = 0x00080000
	RightGenericAll    uint32 = 0x10000000
	RightGenericExec   uint32 = 0x20000000
	RightGenericWrite  uint32 = 0x40000000
	RightGenericRead   uint32 = 0x80000000
)

// ErrMalformed is wrapped by every parse error of security descriptors,
// ACLs, ACEs, SIDs and GUIDs.
var ErrMalformed = errors.New("malformed security data")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// SID is a Windows security identifier.
type SID struct {
	Revision       byte
	Authority      [6]byte
	SubAuthorities []uint32
}

// ParseSID decodes a binary SID at the start of b and returns it with the
// number of bytes it used.
func ParseSID(b []byte) (SID, int, error) {
	if len(b) < 8 {
		return SID{}, 0, malformed("SID shorter than 8 bytes")
	}
	n := int(b[1])
	if n > maxSubAuthorities {
		return SID{}, 0, malformed("SID has %d sub-authorities (max %d)", n, maxSubAuthorities)
	}
	size := 8 + 4*n
	if len(b) < size {
		return SID{}, 0, malformed("SID needs %d bytes, have %d", size, len(b))
	}
	s := SID{Revision: b[0], SubAuthorities: make([]uint32, n)}
	copy(s.Authority[:], b[2:8])
	for i := range n {
		s.SubAuthorities[i] = binary.LittleEndian.Uint32(b[8+4*i:])
	}
	return s, size, nil
}

// MustSID parses a SID string and panics on error; for constants and tests.
func MustSID(s string) SID {
	sid, err := ParseSIDString(s)
	if err != nil {
		panic(err)
	}
	return sid
}

// ParseSIDString parses the S-R-I-S-S... form.
func ParseSIDString(s string) (SID, error) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || !strings.EqualFold(parts[0], "S") {
		return SID{}, malformed("SID %q is not S-R-I-...", s)
	}
	if len(parts)-3 > maxSubAuthorities {
		return SID{}, malformed("SID %q has too many sub-authorities", s)
	}
	rev, err := strconv.ParseUint(parts[1], 10, 8)
	if err != nil {
		return SID{}, malformed("SID %q revision: %v", s, err)
	}
	var auth uint64
	if strings.HasPrefix(parts[2], "0x") || strings.HasPrefix(parts[2], "0X") {
		auth, err = strconv.ParseUint(parts[2][2:], 16, 48)
	} else {
		auth, err = strconv.ParseUint(parts[2], 10, 48)
	}
	if err != nil {
		return SID{}, malformed("SID %q authority: %v", s, err)
	}
	sid := SID{Revision: byte(rev), SubAuthorities: make([]uint32, 0, len(parts)-3)}
	for i := range 6 {
		sid.Authority[5-i] = byte(auth >> (8 * i))
	}
	for _, p := range parts[3:] {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return SID{}, malformed("SID %q sub-authority %q: %v", s, p, err)
		}
		sid.SubAuthorities = append(sid.SubAuthorities, uint32(v))
	}
	return sid, nil
}

// Len is the SID's binary length.
func (s SID) Len() int { return 8 + 4*len(s.SubAuthorities) }

// Bytes returns the binary form.
func (s SID) Bytes() []byte { return s.appendTo(make([]byte, 0, s.Len())) }

func (s SID) appendTo(b []byte) []byte {
	b = append(b, s.Revision, byte(len(s.SubAuthorities)))
	b = append(b, s.Authority[:]...)
	for _, v := range s.SubAuthorities {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// String returns the S-1-5-21-... form.
func (s SID) String() string {
	var auth uint64
	for _, v := range s.Authority {
		auth = auth<<8 | uint64(v)
	}
	var sb strings.Builder
	sb.WriteString("S-")
	sb.WriteString(strconv.Itoa(int(s.Revision)))
	sb.WriteByte('-')
	if auth >= 1<<32 {
		fmt.Fprintf(&sb, "0x%012X", auth)
	} else {
		sb.WriteString(strconv.FormatUint(auth, 10))
	}
	for _, v := range s.SubAuthorities {
		sb.WriteByte('-')
		sb.WriteString(strconv.FormatUint(uint64(v), 10))
	}
	return sb.String()
}

// Equal reports whether two SIDs are the same.
func (s SID) Equal(o SID) bool {
	if s.Revision != o.Revision || s.Authority != o.Authority || len(s.SubAuthorities) != len(o.SubAuthorities) {
		return false
	}
	for i := range s.SubAuthorities {
		if s.SubAuthorities[i] != o.SubAuthorities[i] {
			return false
		}
	}
	return true
}

// Domain returns the SID without its last sub-authority (the RID), and the RID.
func (s SID) Domain() (SID, uint32, bool) {
	if len(s.SubAuthorities) == 0 {
		return SID{}, 0, false
	}
	n := len(s.SubAuthorities) - 1
	d := SID{Revision: s.Revision, Authority: s.Authority, SubAuthorities: append([]uint32(nil), s.SubAuthorities[:n]...)}
	return d, s.SubAuthorities[n], true
}

// GUID is a GUID in its binary, mixed-endian wire order (the first three
// groups little endian, the last two big endian), as AD stores it.
type GUID [16]byte

// ParseGUID parses the text form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
// (braces allowed) into wire order.
func ParseGUID(s string) (GUID, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	var g GUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, malformed("GUID %q is not xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)
	}
	raw, err := hex.DecodeString(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:])
	if err != nil {
		return g, malformed("GUID %q: %v", s, err)
	}
	// Text order is big endian; swap the first three groups into wire order.
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g, nil
}

// MustGUID parses a GUID and panics on error; for constants.
func MustGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// String returns the lower-case text form.
func (g GUID) String() string {
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15])
}

// ACE is one access control entry. Types this package does not know keep
// their body in Raw so that they round-trip unchanged.
type ACE struct {
	Type  byte
	Flags byte
	Mask  uint32
	// ObjectFlags, ObjectType and InheritedObjectType are used by object
	// ACE types only; a GUID is meaningful only when its flag is set.
	ObjectFlags         uint32
	ObjectType          GUID
	InheritedObjectType GUID
	SID                 SID
	// Extra holds bytes after the SID up to the ACE size: application data
	// of callback ACEs, or padding.
	Extra []byte
	// Raw is the whole body after the 4-byte header for unknown types.
	Raw []byte
}

// IsObject reports whether the ACE type carries object GUIDs.
func (a ACE) IsObject() bool { return isObjectType(a.Type) }

func isObjectType(t byte) bool {
	switch t {
	case ACETypeAccessAllowedObject, ACETypeAccessDeniedObject, ACETypeSystemAuditObject, ACETypeSystemAlarmObject,
		ACETypeAccessAllowedCallbackObject, ACETypeAccessDeniedCallbackObject,
		ACETypeSystemAuditCallbackObject, ACETypeSystemAlarmCallbackObject:
		return true
	}
	return false
}

func isKnownType(t byte) bool {
	return t <= ACETypeSystemScopedPolicyID && t != ACETypeAccessAllowedCompound
}

// Inherited reports whether the ACE was inherited from a parent (flag ID).
func (a ACE) Inherited() bool { return a.Flags&ACEFlagInherited != 0 }

// ParseACE decodes one ACE at the start of b and returns it with its size.
func ParseACE(b []byte) (ACE, int, error) {
	if len(b) < 4 {
		return ACE{}, 0, malformed("ACE header needs 4 bytes, have %d", len(b))
	}
	size := int(binary.LittleEndian.Uint16(b[2:]))
	if size < 4 || size > len(b) {
		return ACE{}, 0, malformed("ACE size %d out of range (have %d bytes)", size, len(b))
	}
	a := ACE{Type: b[0], Flags: b[1]}
	body := b[4:size]
	if !isKnownType(a.Type) {
		a.Raw = append([]byte{}, body...)
		return a, size, nil
	}
	if len(body) < 4 {
		return ACE{}, 0, malformed("ACE type 0x%02x has no access mask", a.Type)
	}
	a.Mask = binary.LittleEndian.Uint32(body)
	body = body[4:]
	if isObjectType(a.Type) {
		if len(body) < 4 {
			return ACE{}, 0, malformed("object ACE has no object flags")
		}
		a.ObjectFlags = binary.LittleEndian.Uint32(body)
		body = body[4:]
		if a.ObjectFlags&ACEObjectTypePresent != 0 {
			if len(body) < 16 {
				return ACE{}, 0, malformed("object ACE truncated in object type")
			}
			copy(a.ObjectType[:], body)
			body = body[16:]
		}
		if a.ObjectFlags&ACEInheritedObjectTypePresent != 0 {
			if len(body) < 16 {
				return ACE{}, 0, malformed("object ACE truncated in inherited object type")
			}
			copy(a.InheritedObjectType[:], body)
			body = body[16:]
		}
	}
	sid, n, err := ParseSID(body)
	if err != nil {
		return ACE{}, 0, fmt.Errorf("ACE trustee: %w", err)
	}
	a.SID = sid
	if rest := body[n:]; len(rest) > 0 {
		a.Extra = append([]byte{}, rest...)
	}
	return a, size, nil
}

// Len is the ACE's binary length.
func (a ACE) Len() int {
	if !isKnownType(a.Type) {
		return 4 + len(a.Raw)
	}
	n := 4 + 4 + a.SID.Len() + len(a.Extra)
	if isObjectType(a.Type) {
		n += 4
		if a.ObjectFlags&ACEObjectTypePresent != 0 {
			n += 16
		}
		if a.ObjectFlags&ACEInheritedObjectTypePresent != 0 {
			n += 16
		}
	}
	return n
}

// Bytes returns the binary form of the ACE.
func (a ACE) Bytes() []byte { return a.appendTo(make([]byte, 0, a.Len())) }

func (a ACE) appendTo(b []byte) []byte {
	b = append(b, a.Type, a.Flags)
	b = binary.LittleEndian.AppendUint16(b, uint16(a.Len()))
	if !isKnownType(a.Type) {
		return append(b, a.Raw...)
	}
	b = binary.LittleEndian.AppendUint32(b, a.Mask)
	if isObjectType(a.Type) {
		b = binary.LittleEndian.AppendUint32(b, a.ObjectFlags)
		if a.ObjectFlags&ACEObjectTypePresent != 0 {
			b = append(b, a.ObjectType[:]...)
		}
		if a.ObjectFlags&ACEInheritedObjectTypePresent != 0 {
			b = append(b, a.InheritedObjectType[:]...)
		}
	}
	b = a.SID.appendTo(b)
	return append(b, a.Extra...)
}

// ACL is an access control list.
type ACL struct {
	Revision byte
	Sbz1     byte
	Sbz2     uint16
	ACEs     []ACE
	// Slack is unused space after the last ACE that the ACL size covers;
	// kept so that descriptors round-trip byte for byte.
	Slack []byte
}

// ACL revisions.
const (
	ACLRevision   byte = 2
	ACLRevisionDS byte = 4 // required when object ACEs are present
)

// ParseACL decodes an ACL at the start of b and returns it with its size.
func ParseACL(b []byte) (*ACL, int, error) {
	if len(b) < aclHeaderLen {
		return nil, 0, malformed("ACL header needs 8 bytes, have %d", len(b))
	}
	size := int(binary.LittleEndian.Uint16(b[2:]))
	count := int(binary.LittleEndian.Uint16(b[4:]))
	if size < aclHeaderLen || size > len(b) {
		return nil, 0, malformed("ACL size %d out of range (have %d bytes)", size, len(b))
	}
	// Every ACE takes at least 4 bytes: reject counts that cannot fit
	// before allocating for them.
	if count > (size-aclHeaderLen)/4 {
		return nil, 0, malformed("ACL claims %d ACEs in %d bytes", count, size)
	}
	acl := &ACL{Revision: b[0], Sbz1: b[1], Sbz2: binary.LittleEndian.Uint16(b[6:]), ACEs: make([]ACE, 0, count)}
	off := aclHeaderLen
	for i := range count {
		ace, n, err := ParseACE(b[off:size])
		if err != nil {
			return nil, 0, fmt.Errorf("ACE %d: %w", i, err)
		}
		acl.ACEs = append(acl.ACEs, ace)
		off += n
	}
	if off < size {
		acl.Slack = append([]byte{}, b[off:size]...)
	}
	return acl, size, nil
}

// Len is the ACL's binary length.
func (l *ACL) Len() int {
	n := aclHeaderLen + len(l.Slack)
	for _, a := range l.ACEs {
		n += a.Len()
	}
	return n
}

// Bytes returns the binary form of the ACL.
func (l *ACL) Bytes() []byte { return l.appendTo(nil) }

func (l *ACL) appendTo(b []byte) []byte {
	b = append(b, l.Revision, l.Sbz1)
	b = binary.LittleEndian.AppendUint16(b, uint16(l.Len()))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(l.ACEs)))
	b = binary.LittleEndian.AppendUint16(b, l.Sbz2)
	for _, a := range l.ACEs {
		b = a.appendTo(b)
	}
	return append(b, l.Slack...)
}

// validate checks what Bytes cannot express: sizes beyond 16 bits.
func (l *ACL) validate() error {
	if l.Len() > 0xFFFF || len(l.ACEs) > 0xFFFF {
		return fmt.Errorf("ACL too large: %d bytes, %d ACEs", l.Len(), len(l.ACEs))
	}
	for i, a := range l.ACEs {
		if a.Len() > 0xFFFF {
			return fmt.Errorf("ACE %d too large: %d bytes", i, a.Len())
		}
	}
	return nil
}

// Descriptor component identifiers, used to remember their order.
const (
	partOwner = iota
	partGroup
	partSACL
	partDACL
)

// SecurityDescriptor is a self-relative security descriptor. A nil Owner,
// Group, SACL or DACL is absent (offset 0).
type SecurityDescriptor struct {
	Revision byte
	Sbz1     byte
	Control  uint16
	Owner    *SID
	Group    *SID
	SACL     *ACL
	DACL     *ACL
	// order is the order the components had in the parsed buffer, so that
	// Bytes reproduces Windows' (SACL, DACL, owner, group) and Samba's
	// (owner, group, SACL, DACL) layouts alike.
	order []int
}

// ParseSecurityDescriptor decodes a self-relative security descriptor.
func ParseSecurityDescriptor(b []byte) (*SecurityDescriptor, error) {
	if len(b) < sdHeaderLen {
		return nil, malformed("security descriptor needs 20 bytes, have %d", len(b))
	}
	sd := &SecurityDescriptor{Revision: b[0], Sbz1: b[1], Control: binary.LittleEndian.Uint16(b[2:])}
	if sd.Revision != 1 {
		return nil, malformed("security descriptor revision %d (want 1)", sd.Revision)
	}
	if sd.Control&SDSelfRelative == 0 {
		return nil, malformed("security descriptor is not self-relative")
	}
	type part struct {
		kind int
		off  int
	}
	var parts []part
	for kind, at := range []int{4, 8, 12, 16} {
		off := int(binary.LittleEndian.Uint32(b[at:]))
		if off == 0 {
			continue
		}
		if off < sdHeaderLen || off >= len(b) {
			return nil, malformed("component offset %d out of range (length %d)", off, len(b))
		}
		parts = append(parts, part{kind, off})
	}
	for _, p := range parts {
		var err error
		switch p.kind {
		case partOwner, partGroup:
			var s SID
			s, _, err = ParseSID(b[p.off:])
			if p.kind == partOwner {
				sd.Owner = &s
			} else {
				sd.Group = &s
			}
		case partSACL:
			sd.SACL, _, err = ParseACL(b[p.off:])
		case partDACL:
			sd.DACL, _, err = ParseACL(b[p.off:])
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", [...]string{"owner", "group", "SACL", "DACL"}[p.kind], err)
		}
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].off < parts[j].off })
	for _, p := range parts {
		sd.order = append(sd.order, p.kind)
	}
	return sd, nil
}

// Bytes serialises the descriptor in self-relative form, components laid
// out contiguously in the order they were parsed (owner, group, SACL, DACL
// for a new descriptor).
func (sd *SecurityDescriptor) Bytes() ([]byte, error) {
	for _, l := range []*ACL{sd.SACL, sd.DACL} {
		if l != nil {
			if err := l.validate(); err != nil {
				return nil, err
			}
		}
	}
	order := append([]int(nil), sd.order...)
	seen := map[int]bool{}
	for _, k := range order {
		seen[k] = true
	}
	for _, k := range []int{partOwner, partGroup, partSACL, partDACL} {
		if !seen[k] {
			order = append(order, k)
		}
	}
	b := make([]byte, sdHeaderLen, 256)
	b[0], b[1] = sd.Revision, sd.Sbz1
	binary.LittleEndian.PutUint16(b[2:], sd.Control)
	for _, k := range order {
		at := 4 + 4*k
		start := len(b)
		switch k {
		case partOwner:
			if sd.Owner == nil {
				continue
			}
			b = sd.Owner.appendTo(b)
		case partGroup:
			if sd.Group == nil {
				continue
			}
			b = sd.Group.appendTo(b)
		case partSACL:
			if sd.SACL == nil {
				continue
			}
			b = sd.SACL.appendTo(b)
		case partDACL:
			if sd.DACL == nil {
				continue
			}
			b = sd.DACL.appendTo(b)
		}
		binary.LittleEndian.PutUint32(b[at:], uint32(start))
	}
	return b, nil
}

// Protected reports whether the DACL is protected from inheritance
// (SE_DACL_PROTECTED): such an object never receives inherited ACEs.
func (sd *SecurityDescriptor) Protected() bool { return sd.Control&SDDACLProtected != 0 }

// Clone returns a deep copy.
func (sd *SecurityDescriptor) Clone() *SecurityDescriptor {
	b, err := sd.Bytes()
	if err != nil {
		// Bytes fails only on oversize ACLs, which Parse cannot produce;
		// copy field by field in that unlikely case.
		c := *sd
		return &c
	}
	c, err := ParseSecurityDescriptor(b)
	if err != nil {
		cp := *sd
		return &cp
	}
	return c
}

// --- SDDL rendering -------------------------------------------------------

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
