package memberlist

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; every entry it passes on is a valid,
// normalized UPN or object id, distinct, in line order; every error is a
// located *Error with a fix; and a list written from its entries, one per
// line, parses to the same entries.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"alice@contoso.com\nbob@contoso.com\n",
		"\xEF\xBB\xBFuserPrincipalName,id\r\no'brien@contoso.com," + guid + "\r\n",
		"version:v1.0\nMember object ID or user principal name [memberObjectIdOrUpn] Required\n" + guid + "\n",
		"displayName,UPN\n\"Smith, Bob\",bob@contoso.com\n\"multi\nline\",carol@contoso.com\n",
		"# comment\n\n  \nALICE@Contoso.com\nalice@contoso.com\n",
		"userPrincipalName\n\"unclosed\n",
		"a@b\"c@d.com\n",
		"\xFF\xFE",
		"user0001_fabrikam.com#EXT#@contoso.onmicrosoft.com",
		",,\n,\n",
	} {
		f.Add([]byte(seed))
	}
	const name = "fuzz.csv"
	f.Fuzz(func(t *testing.T, data []byte) {
		var entries []Entry
		seen := map[string]bool{}
		st, err := Parse(name, bytes.NewReader(data), func(e Entry) error {
			key, kind, ok := Classify(e.Key)
			if !ok || key != e.Key || kind != e.Kind {
				t.Fatalf("entry %+v is not a normalized UPN or object id (Classify: %q %v %v)", e, key, kind, ok)
			}
			if seen[e.Key] {
				t.Fatalf("duplicate entry %+v passed on", e)
			}
			if n := len(entries); e.Line < 1 || n > 0 && e.Line <= entries[n-1].Line {
				t.Fatalf("entry %+v out of line order", e)
			}
			seen[e.Key] = true
			entries = append(entries, e)
			return nil
		})
		if st.Entries != len(entries) || st.Duplicates < 0 || st.Skipped < 0 {
			t.Fatalf("stats %+v for %d entries", st, len(entries))
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.File != name || e.Line < 1 || e.Message == "" || e.Fix == "" ||
				!strings.HasPrefix(err.Error(), fmt.Sprintf("%s:%d: ", name, e.Line)) {
				t.Fatalf("error %v (%#v) is not a located *Error with a fix", err, e)
			}
			return
		}
		var out strings.Builder
		for _, e := range entries {
			out.WriteString(e.Key)
			out.WriteByte('\n')
		}
		var again []Entry
		st2, err := Parse(name, strings.NewReader(out.String()), func(e Entry) error {
			again = append(again, e)
			return nil
		})
		if err != nil || st2 != (Stats{Entries: len(entries)}) || len(again) != len(entries) {
			t.Fatalf("re-parse of %q = %+v, %v", out.String(), st2, err)
		}
		for i, e := range again {
			if e.Key != entries[i].Key || e.Kind != entries[i].Kind || e.Line != i+1 {
				t.Fatalf("re-parse entry %d = %+v, want %+v at line %d", i, e, entries[i], i+1)
			}
		}
	})
}

// BenchmarkParse reads a 50,000-row export (UPN, display name, object id,
// department) and reports MB/s.
func BenchmarkParse(b *testing.B) {
	var doc bytes.Buffer
	doc.WriteString("\xEF\xBB\xBFuserPrincipalName,displayName,objectId,department\r\n")
	for i := range 50_000 {
		fmt.Fprintf(&doc, "User%05d@Contoso.onmicrosoft.com,\"User %05d, Test\",%08x-9b3d-4f1e-8a7c-1d2e3f405162,Sales\r\n", i, i, i)
	}
	data := doc.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		st, err := Parse("bench.csv", bytes.NewReader(data), func(Entry) error { return nil })
		if err != nil || st.Entries != 50_000 {
			b.Fatalf("Parse = %+v, %v", st, err)
		}
	}
}
