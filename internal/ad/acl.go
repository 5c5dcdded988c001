package ad

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// aclHeaderLen is the size of an ACL's header.
const aclHeaderLen = 8

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

// AddACEs adds to dacl each ACE it lacks (byte-equal comparison, so a
// second call adds nothing), inserted in order before the first inherited
// ACE to keep the DACL canonical, and returns the bytes of those added. It
// raises the ACL revision when object ACEs need it.
func AddACEs(dacl *ACL, aces []ACE) [][]byte {
	var add []ACE
	var added [][]byte
	for _, a := range aces {
		b := a.Bytes()
		if indexACE(dacl.ACEs, b) >= 0 || containsBytes(added, b) {
			continue
		}
		add = append(add, a)
		added = append(added, b)
	}
	if len(add) == 0 {
		return nil
	}
	at := len(dacl.ACEs)
	for i, a := range dacl.ACEs {
		if a.Inherited() {
			at = i
			break
		}
	}
	list := make([]ACE, 0, len(dacl.ACEs)+len(add))
	list = append(list, dacl.ACEs[:at]...)
	list = append(list, add...)
	list = append(list, dacl.ACEs[at:]...)
	dacl.ACEs = list
	for _, a := range add {
		if a.IsObject() && dacl.Revision < ACLRevisionDS {
			dacl.Revision = ACLRevisionDS
		}
	}
	return added
}

// RemoveACEs removes one explicit (not inherited) copy of each ACE from
// dacl and returns how many it removed; everything else stays in place.
// When an administrator added a byte-equal copy meanwhile, the last explicit
// copy goes: AddACEs put ours at the end of the explicit ACEs.
func RemoveACEs(dacl *ACL, aces [][]byte) int {
	n := 0
	for _, a := range aces {
		if i := lastExplicitACE(dacl.ACEs, a); i >= 0 {
			dacl.ACEs = append(dacl.ACEs[:i:i], dacl.ACEs[i+1:]...)
			n++
		}
	}
	return n
}

// indexACE finds the first ACE byte-equal to want.
func indexACE(list []ACE, want []byte) int {
	for i, a := range list {
		if bytes.Equal(a.Bytes(), want) {
			return i
		}
	}
	return -1
}

func lastExplicitACE(list []ACE, want []byte) int {
	for i := len(list) - 1; i >= 0; i-- {
		if !list[i].Inherited() && bytes.Equal(list[i].Bytes(), want) {
			return i
		}
	}
	return -1
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}
