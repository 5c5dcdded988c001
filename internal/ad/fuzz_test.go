package ad

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzParseSD: parsing untrusted bytes never panics, and whatever parses
// serialises to bytes that parse to the same serialisation.
func FuzzParseSD(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "sd", "*.hex"))
	for _, p := range files {
		f.Add(readHex(f, p))
	}
	f.Add([]byte{1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 2, 0, 8, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := ParseSecurityDescriptor(data)
		if err != nil {
			return
		}
		_ = sd.SDDL(nil)
		out, err := sd.Bytes()
		if err != nil {
			return // e.g. an ACL that grew past 64 KiB cannot be written back
		}
		sd2, err := ParseSecurityDescriptor(out)
		if err != nil {
			t.Fatalf("re-parse of serialised descriptor failed: %v\n in  %x\n out %x", err, data, out)
		}
		out2, err := sd2.Bytes()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("serialisation not stable: %v\n %x\n %x", err, out, out2)
		}
		if sd.SDDL(nil) != sd2.SDDL(nil) {
			t.Fatalf("SDDL changed across round trip")
		}
	})
}

// FuzzParseGPLink: never panics, and what parses re-encodes to a value
// that parses to the same links.
func FuzzParseGPLink(f *testing.F) {
	f.Add("[LDAP://cn={31B2F340-016D-11D2-945F-00C04FB984F9},cn=policies,cn=system,DC=example,DC=test;0]")
	f.Add("[LDAP://cn={A},cn=policies,cn=system,DC=x;1][ldap://cn={B},cn=policies,cn=system,DC=x;2]")
	f.Add("[LDAP://;]")
	f.Fuzz(func(t *testing.T, v string) {
		links, err := ParseGPLink(v)
		if err != nil {
			return
		}
		var sb strings.Builder
		for _, l := range slices.Backward(links) {
			fmt.Fprintf(&sb, "[LDAP://%s;%d]", l.DN, l.Options)
		}
		again, err := ParseGPLink(sb.String())
		if err != nil || !slices.Equal(again, links) {
			t.Fatalf("%q re-encoded as %q: %v %v", v, sb.String(), again, err)
		}
	})
}
