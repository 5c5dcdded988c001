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
