package ad

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// maxSubAuthorities is the most sub-authorities a SID may have (MS-DTYP 2.4.2.2).
const maxSubAuthorities = 15

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
