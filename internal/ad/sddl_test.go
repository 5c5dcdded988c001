package ad

import (
	"bytes"
	"testing"
)

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
