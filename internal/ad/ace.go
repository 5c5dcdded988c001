package ad

import (
	"encoding/binary"
	"fmt"
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

func parseACEList(aces [][]byte) ([]ACE, error) {
	out := make([]ACE, len(aces))
	for i, b := range aces {
		a, n, err := ParseACE(b)
		if err != nil {
			return nil, fmt.Errorf("ACE %d: %w", i, err)
		}
		if n != len(b) {
			return nil, fmt.Errorf("ACE %d: %w: %d trailing bytes", i, ErrMalformed, len(b)-n)
		}
		out[i] = a
	}
	return out, nil
}
