package memberlist

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse: untrusted member files never panic the parser, every entry it
// yields is a valid UPN or object id, and its keys written one per line
// parse back to the same keys.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"alice@contoso.com\n", "\xEF\xBB\xBFuserPrincipalName,id\r\n\"o'brien@contoso.com\",x\r\n",
		"id\n0b8f6b2e-0000-4000-8000-000000000001\n", "# c\n\n\"a\nb\"@c.com\n", "a@b@c\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var keys []string
		_, err := Parse("f.csv", bytes.NewReader(data), func(e Entry) error {
			if _, kind, ok := Classify(e.Key); !ok || kind != e.Kind {
				t.Fatalf("entry %q (%v) is not a valid key", e.Key, e.Kind)
			}
			keys = append(keys, e.Key)
			return nil
		})
		if err != nil {
			return
		}
		var again []string
		if _, err := Parse("g.csv", strings.NewReader(strings.Join(keys, "\n")+"\n"), func(e Entry) error {
			again = append(again, e.Key)
			return nil
		}); err != nil && len(keys) > 0 {
			t.Fatalf("keys do not parse back: %v", err)
		}
		if len(keys) > 0 && !reflect.DeepEqual(keys, again) {
			t.Fatalf("keys changed on the way back: %q -> %q", keys, again)
		}
	})
}
