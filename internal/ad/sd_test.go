package ad

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readHex(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestRealDescriptors round-trips descriptors read from a real Samba DC
// byte for byte and renders them exactly as `samba-tool dsacl get` did.
func TestRealDescriptors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "sd", "*.hex"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	dom := MustSID(strings.TrimSpace(string(must(os.ReadFile(filepath.Join("testdata", "sd", "domain-sid.txt"))))))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hex")
		t.Run(name, func(t *testing.T) {
			raw := readHex(t, f)
			sd, err := ParseSecurityDescriptor(raw)
			if err != nil {
				t.Fatal(err)
			}
			out, err := sd.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, raw) {
				t.Errorf("round trip differs:\n in  %x\n out %x", raw, out)
			}
			want := strings.TrimSpace(string(must(os.ReadFile(strings.TrimSuffix(f, ".hex") + ".sddl"))))
			if got := sd.SDDL(&dom); got != want {
				t.Errorf("SDDL differs from samba-tool:\n ours  %s\n samba %s", got, want)
			}
			for i, a := range sd.DACL.ACEs {
				b := a.Bytes()
				back, n, err := ParseACE(b)
				if err != nil || n != len(b) || !bytes.Equal(back.Bytes(), b) {
					t.Errorf("ACE %d does not round-trip: %v", i, err)
				}
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestGUIDMixedEndian(t *testing.T) {
	tests := []struct {
		text string
		wire string
	}{
		{"00299570-246d-11d0-a768-00aa006e0529", "709529006d24d011a76800aa006e0529"},
		{"bf967aba-0de6-11d0-a285-00aa003049e2", "ba7a96bfe60dd011a28500aa003049e2"},
		{"{28630EBF-41D5-11D1-A9C1-0000F80367C1}", "bf0e6328d541d111a9c10000f80367c1"},
	}
	for _, tt := range tests {
		g, err := ParseGUID(tt.text)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(g[:]); got != tt.wire {
			t.Errorf("%s: wire %s, want %s", tt.text, got, tt.wire)
		}
		if got := g.String(); got != strings.ToLower(strings.Trim(tt.text, "{}")) {
			t.Errorf("String() = %s", got)
		}
	}
	for _, bad := range []string{"", "00299570246d11d0a76800aa006e0529", "zz299570-246d-11d0-a768-00aa006e0529"} {
		if _, err := ParseGUID(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: want ErrMalformed, got %v", bad, err)
		}
	}
}

func TestSID(t *testing.T) {
	tests := []struct {
		text string
		wire string
	}{
		{"S-1-5-18", "010100000000000512000000"},
		{"S-1-5-32-544", "01020000000000052000000020020000"},
		{"S-1-5-21-1-2-3-1103", "010500000000000515000000010000000200000003000000" + "4f040000"},
		{"S-1-1-0", "010100000000000100000000"},
	}
	for _, tt := range tests {
		s, err := ParseSIDString(tt.text)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(s.Bytes()); got != tt.wire {
			t.Errorf("%s: %s, want %s", tt.text, got, tt.wire)
		}
		back, n, err := ParseSID(must(hex.DecodeString(tt.wire)))
		if err != nil || n != len(tt.wire)/2 || back.String() != tt.text {
			t.Errorf("%s: parsed %s (%d bytes, %v)", tt.text, back, n, err)
		}
	}
	for _, bad := range []string{"S-1", "X-1-5-18", "S-1-5-x", "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", "S-1-5-4294967296"} {
		if _, err := ParseSIDString(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	for _, bad := range []string{"", "0105000000000005", "01100000000000050000"} {
		if _, _, err := ParseSID(must(hex.DecodeString(bad))); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: want ErrMalformed, got %v", bad, err)
		}
	}
}

// TestWritebackACEBytes pins the exact bytes the rights are written as.
func TestWritebackACEBytes(t *testing.T) {
	sid := MustSID("S-1-5-21-1-2-3-1103")
	sidHex := "010500000000000515000000010000000200000003000000" + "4f040000"
	user := "ba7a96bfe60dd011a28500aa003049e2"
	want := []struct {
		hex  string
		sddl string
	}{
		{"050a4800" + "00010000" + "03000000" + "709529006d24d011a76800aa006e0529" + user + sidHex,
			"(OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-2-3-1103)"},
		{"050a4800" + "20000000" + "03000000" + "bf0e6328d541d111a9c10000f80367c1" + user + sidHex,
			"(OA;CIIO;WP;28630ebf-41d5-11d1-a9c1-0000f80367c1;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-2-3-1103)"},
		{"050a4800" + "20000000" + "03000000" + "0a7a96bfe60dd011a28500aa003049e2" + user + sidHex,
			"(OA;CIIO;WP;bf967a0a-0de6-11d0-a285-00aa003049e2;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-2-3-1103)"},
		{"050a4800" + "00010000" + "03000000" + "531a72ab2f1ed011981900aa0040529b" + user + sidHex,
			"(OA;CIIO;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-2-3-1103)"},
		{"05023800" + "00010000" + "01000000" + "7ddcc2ccada67a4a8846c04e3cc53501" + sidHex,
			"(OA;CI;CR;ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501;;S-1-5-21-1-2-3-1103)"},
	}
	got := WritebackACEs(sid, Rights{ChangePassword: true, UnexpirePassword: true})
	if len(got) != len(want) {
		t.Fatalf("%d ACEs, want %d", len(got), len(want))
	}
	for i := range want {
		if h := hex.EncodeToString(got[i]); h != want[i].hex {
			t.Errorf("ACE %d:\n got  %s\n want %s", i, h, want[i].hex)
		}
		if s := ACESDDL(got[i], nil); s != want[i].sddl {
			t.Errorf("ACE %d SDDL %s, want %s", i, s, want[i].sddl)
		}
	}
	if n := len(WritebackACEs(sid, Rights{})); n != 3 {
		t.Errorf("default rights: %d ACEs, want 3", n)
	}
	obj := ObjectACEs(sid, Rights{})
	if s := ACESDDL(obj[0], nil); s != "(OA;;CR;00299570-246d-11d0-a768-00aa006e0529;;S-1-5-21-1-2-3-1103)" {
		t.Errorf("object ACE SDDL %s", s)
	}
}

// TestWindowsLayout: Windows lays out SACL, DACL, owner, group; a descriptor
// must come back in the layout it came in.
func TestWindowsLayout(t *testing.T) {
	owner := MustSID("S-1-5-32-544").Bytes()
	group := MustSID("S-1-5-18").Bytes()
	dacl := (&ACL{Revision: ACLRevisionDS, ACEs: []ACE{{Type: ACETypeAccessAllowed, Mask: 0xF01FF, SID: MustSID("S-1-5-18")}}}).Bytes()
	sacl := (&ACL{Revision: ACLRevision, ACEs: []ACE{{Type: ACETypeSystemAudit, Flags: ACEFlagSuccessfulAccess, Mask: RightWriteProperty, SID: MustSID("S-1-1-0")}}}).Bytes()
	b := make([]byte, 20)
	b[0] = 1
	binary.LittleEndian.PutUint16(b[2:], SDSelfRelative|SDDACLPresent|SDSACLPresent|SDDACLProtected)
	off := 20
	binary.LittleEndian.PutUint32(b[12:], uint32(off))
	b = append(b, sacl...)
	off += len(sacl)
	binary.LittleEndian.PutUint32(b[16:], uint32(off))
	b = append(b, dacl...)
	off += len(dacl)
	binary.LittleEndian.PutUint32(b[4:], uint32(off))
	b = append(b, owner...)
	off += len(owner)
	binary.LittleEndian.PutUint32(b[8:], uint32(off))
	b = append(b, group...)
	sd, err := ParseSecurityDescriptor(b)
	if err != nil {
		t.Fatal(err)
	}
	out := must(sd.Bytes())
	if !bytes.Equal(out, b) {
		t.Errorf("layout not kept:\n in  %x\n out %x", b, out)
	}
	if got, want := sd.SDDL(nil), "O:BAG:SYD:P(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)S:(AU;SA;WP;;;WD)"; got != want {
		t.Errorf("SDDL %s, want %s", got, want)
	}
	if !sd.Protected() {
		t.Error("Protected() false")
	}
}

func TestSDDLForms(t *testing.T) {
	dom := MustSID("S-1-5-21-1-2-3")
	tests := []struct {
		ace  ACE
		want string
	}{
		{ACE{Type: ACETypeAccessDenied, Flags: ACEFlagObjectInherit | ACEFlagContainerInherit | ACEFlagNoPropagateInherit | ACEFlagInheritOnly | ACEFlagInherited, Mask: 0x30, SID: MustSID("S-1-5-21-1-2-3-512")}, "(D;OICINPIOID;RPWP;;;DA)"},
		{ACE{Type: ACETypeAccessAllowed, Mask: 0x001f01ff, SID: MustSID("S-1-5-21-1-2-3-519")}, "(A;;0x001f01ff;;;EA)"},
		{ACE{Type: ACETypeAccessAllowed, Mask: 0, SID: MustSID("S-1-5-21-9-9-9-512")}, "(A;;;;;S-1-5-21-9-9-9-512)"},
		{ACE{Type: ACETypeAccessAllowed, Mask: RightGenericAll | RightGenericRead, SID: MustSID("S-1-5-11")}, "(A;;GAGR;;;AU)"},
		{ACE{Type: ACETypeAccessDeniedObject, Mask: RightReadProperty, ObjectFlags: ACEInheritedObjectTypePresent, InheritedObjectType: GUIDUserClass, SID: MustSID("S-1-5-10")}, "(OD;;RP;;bf967aba-0de6-11d0-a285-00aa003049e2;PS)"},
		{ACE{Type: ACETypeSystemAuditObject, Flags: ACEFlagFailedAccess, Mask: RightControlAccess, SID: MustSID("S-1-1-0")}, "(OU;FA;CR;;;WD)"},
	}
	for _, tt := range tests {
		if got := tt.ace.SDDL(&dom); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
		b := tt.ace.Bytes()
		back, n, err := ParseACE(b)
		if err != nil || n != len(b) || !bytes.Equal(back.Bytes(), b) {
			t.Errorf("%s does not round-trip: %v", tt.want, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	valid := readHex(t, filepath.Join("testdata", "sd", "schema-user.hex"))
	tests := map[string][]byte{
		"empty":        {},
		"short header": valid[:10],
		"bad revision": append([]byte{2}, valid[1:]...),
		"not relative": func() []byte { b := bytes.Clone(valid); b[3] &^= 0x80; return b }(),
		"offset past end": func() []byte {
			b := bytes.Clone(valid)
			binary.LittleEndian.PutUint32(b[16:], uint32(len(b)+5))
			return b
		}(),
		"truncated": valid[:len(valid)-3],
		"ace count too big": func() []byte {
			b := bytes.Clone(valid)
			off := binary.LittleEndian.Uint32(b[16:])
			binary.LittleEndian.PutUint16(b[off+4:], 0xFFFF)
			return b
		}(),
	}
	for name, b := range tests {
		if _, err := ParseSecurityDescriptor(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: want ErrMalformed, got %v", name, err)
		}
	}
}

func TestUnknownACETypeRoundTrips(t *testing.T) {
	raw := []byte{0x04, 0x00, 0x0c, 0x00, 1, 2, 3, 4, 5, 6, 7, 8}
	a, n, err := ParseACE(raw)
	if err != nil || n != 12 || !bytes.Equal(a.Bytes(), raw) {
		t.Fatalf("unknown type: %v %d %x", err, n, a.Bytes())
	}
	// Callback ACE with application data after the SID.
	cb := append([]byte{ACETypeAccessAllowedCallback, 0, 0, 0, 0x10, 0, 0, 0}, MustSID("S-1-1-0").Bytes()...)
	cb = append(cb, 'a', 'r', 't', 'x')
	binary.LittleEndian.PutUint16(cb[2:], uint16(len(cb)))
	a, n, err = ParseACE(cb)
	if err != nil || n != len(cb) || string(a.Extra) != "artx" || !bytes.Equal(a.Bytes(), cb) {
		t.Fatalf("callback ACE: %v %x", err, a.Bytes())
	}
}

func BenchmarkSDRoundTrip(b *testing.B) {
	raw := readHex(b, filepath.Join("testdata", "sd", "user.hex"))
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		sd, err := ParseSecurityDescriptor(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sd.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}
