package ad

import (
	"encoding/hex"
	"testing"
)

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
}

func TestTargets(t *testing.T) {
	dns, warn := Targets("DC=example,DC=test", nil, false)
	if len(dns) != 1 || dns[0] != "DC=example,DC=test" || len(warn) != 0 {
		t.Errorf("default: %v %v", dns, warn)
	}
	dns, warn = Targets("DC=example,DC=test", []string{"OU=A,DC=example,DC=test"}, true)
	if len(dns) != 2 || dns[1] != "CN=AdminSDHolder,CN=System,DC=example,DC=test" || len(warn) != 1 {
		t.Errorf("adminSDHolder: %v %v", dns, warn)
	}
}
