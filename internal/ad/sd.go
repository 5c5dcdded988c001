package ad

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
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
)

// sdHeaderLen is the size of a self-relative descriptor's header.
const sdHeaderLen = 20

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
	// parts[k] is component k, or nil when absent (its offset stays 0).
	var parts [4]interface{ appendTo([]byte) []byte }
	if sd.Owner != nil {
		parts[partOwner] = sd.Owner
	}
	if sd.Group != nil {
		parts[partGroup] = sd.Group
	}
	if sd.SACL != nil {
		parts[partSACL] = sd.SACL
	}
	if sd.DACL != nil {
		parts[partDACL] = sd.DACL
	}
	order := append([]int(nil), sd.order...)
	for k := range parts {
		if !slices.Contains(order, k) {
			order = append(order, k)
		}
	}
	b := make([]byte, sdHeaderLen, 256)
	b[0], b[1] = sd.Revision, sd.Sbz1
	binary.LittleEndian.PutUint16(b[2:], sd.Control)
	for _, k := range order {
		if parts[k] == nil {
			continue
		}
		binary.LittleEndian.PutUint32(b[4+4*k:], uint32(len(b)))
		b = parts[k].appendTo(b)
	}
	return b, nil
}

// Protected reports whether the DACL is protected from inheritance
// (SE_DACL_PROTECTED): such an object never receives inherited ACEs.
func (sd *SecurityDescriptor) Protected() bool { return sd.Control&SDDACLProtected != 0 }
