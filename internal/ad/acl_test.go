package ad

import (
	"bytes"
	"strings"
	"testing"
)

func aceList(t *testing.T, sddlSIDs ...string) []ACE {
	var out []ACE
	for _, s := range sddlSIDs {
		out = append(out, ACE{Type: ACETypeAccessAllowed, Mask: RightReadProperty, SID: MustSID(s)})
	}
	return out
}

func TestAddRemoveACEs(t *testing.T) {
	sid := MustSID("S-1-5-21-1-2-3-1103")
	grant := WritebackACEs(sid, Rights{})
	parsed, err := parseACEList(grant)
	if err != nil {
		t.Fatal(err)
	}
	inherited := ACE{Type: ACETypeAccessAllowed, Flags: ACEFlagInherited, Mask: RightReadProperty, SID: MustSID("S-1-5-11")}
	deny := ACE{Type: ACETypeAccessDenied, Mask: RightWriteProperty, SID: MustSID("S-1-1-0")}
	dacl := &ACL{Revision: ACLRevision, ACEs: append(append([]ACE{deny}, aceList(t, "S-1-5-18")...), inherited)}
	orig := dacl.Bytes()

	added := AddACEs(dacl, parsed)
	if len(added) != 3 || dacl.Revision != ACLRevisionDS {
		t.Fatalf("added %d, revision %d", len(added), dacl.Revision)
	}
	// Explicit deny, explicit allow, ours, then inherited.
	if !dacl.ACEs[5].Inherited() || !bytes.Equal(dacl.ACEs[2].Bytes(), grant[0]) || !bytes.Equal(dacl.ACEs[3].Bytes(), grant[1]) {
		t.Errorf("not canonical: %s", dacl.SDDL(nil))
	}
	if again := AddACEs(dacl, parsed); len(again) != 0 {
		t.Errorf("second add added %d", len(again))
	}
	// An administrator's copy of one ACE and an unrelated ACE.
	dacl.ACEs = append([]ACE{parsed[0]}, dacl.ACEs...)
	if n := RemoveACEs(dacl, added); n != 3 {
		t.Errorf("removed %d", n)
	}
	if got := dacl.SDDL(nil); !strings.HasPrefix(got, parsed[0].SDDL(nil)) {
		t.Errorf("administrator's copy removed: %s", got)
	}
	dacl.ACEs = dacl.ACEs[1:]
	dacl.Revision = ACLRevision
	if !bytes.Equal(dacl.Bytes(), orig) {
		t.Errorf("not restored:\n %x\n %x", orig, dacl.Bytes())
	}
	// Inherited copies are never removed.
	inh := parsed[0]
	inh.Flags |= ACEFlagInherited
	d2 := &ACL{Revision: ACLRevisionDS, ACEs: []ACE{inh}}
	if n := RemoveACEs(d2, [][]byte{inh.Bytes()}); n != 0 {
		t.Error("removed an inherited ACE")
	}
	// Duplicates in the request are added once.
	d3 := &ACL{Revision: ACLRevisionDS}
	if got := AddACEs(d3, append(parsed, parsed...)); len(got) != 3 || len(d3.ACEs) != 3 {
		t.Errorf("duplicates: %d %d", len(got), len(d3.ACEs))
	}
}
