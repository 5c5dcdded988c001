package ad

import (
	"bytes"
	"path/filepath"
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
