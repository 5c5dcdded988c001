package ad_test

import (
	"fmt"

	"github.com/ssprflow/ssprflow/internal/ad"
)

// The ACEs Set-ADSyncPasswordWritebackPermissions grants, as SDDL.
func ExampleWritebackACEs() {
	connector := ad.MustSID("S-1-5-21-1004336348-1177238915-682003330-1105")
	for _, ace := range ad.WritebackACEs(connector, ad.Rights{}) {
		fmt.Println(ad.ACESDDL(ace, nil))
	}
	// Output:
	// (OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1004336348-1177238915-682003330-1105)
	// (OA;CIIO;WP;28630ebf-41d5-11d1-a9c1-0000f80367c1;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1004336348-1177238915-682003330-1105)
	// (OA;CIIO;WP;bf967a0a-0de6-11d0-a285-00aa003049e2;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1004336348-1177238915-682003330-1105)
}

// Minimum password age from a Default Domain Policy template.
func ExampleParseGptTmpl() {
	t, err := ad.ParseGptTmpl([]byte("[System Access]\nMinimumPasswordAge = 1\n"))
	if err != nil {
		panic(err)
	}
	fmt.Println(*t.MinimumPasswordAge)
	// Output: 1
}
