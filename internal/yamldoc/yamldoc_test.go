package yamldoc

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestParseExplains: each syntax mistake is reported at the line at fault
// (yaml.v3 names the line where the enclosing block starts) with a message
// about the document and a fix, and the parser's own error stays wrapped.
func TestParseExplains(t *testing.T) {
	tests := []struct {
		name, doc string
		line      int
		msg, fix  string
	}{
		{"tab cannot start a token", "a: 1\nmetadata:\n\tname: x\n", 3, "a tab indents this line; YAML indents with spaces only", "replace the tab with spaces"},
		{"tab after spaces", "metadata:\n  name: x\n  \ttenant: y\n", 3, "a tab indents this line", "replace the tab with spaces"},
		{"tab on the first line", "\tx: 1\n", 1, "a tab indents this line", "replace the tab with spaces"},
		{"tab in a block scalar", "a: 1\nb: |\n\tx\n", 3, "a tab indents this line", "replace the tab with spaces"},
		{"indented too far", "metadata:\n  name: x\n   tenant: y\n", 3, "indented further than the line above", "indent it by 2 spaces"},
		{"value with colon", "a: 1\nb: x: y\n", 2, `the value of "b" contains ": "`, `put the value in quotes: b: "..."`},
		{"list item value with colon", "a:\n  - name: x: y\n", 2, `the value of "name" contains ": "`, `name: "..."`},
		{"indented too little", "metadata:\n  name: x\n tenant: y\n", 3, "indented by 1 space, which lines up with no block", "indent it by 2 spaces to continue the block above, or by 0 spaces to end that block"},
		{"list item misaligned", "spec:\n  stages:\n    - name: a\n      all: true\n   - name: b\n", 5, "indented by 3 spaces", "indent it by 4 spaces to continue"},
		{"list item key misaligned", "spec:\n  stages:\n    - name: a\n     all: true\n", 4, "indented by 5 spaces", "indent it by 6 spaces to continue"},
		{"deeper block", "a:\n    b: 1\n  c: 2\n", 3, "indented by 2 spaces", "indent it by 4 spaces"},
		{"block scalar is not structure", "a: |\n    text\n    more\n  b: 1\n", 4, "indented by 2 spaces", "by 0 spaces"},
		{"list item among keys", "a:\n  b: 1\n  - x\n", 3, "a list item cannot stand among the keys of a mapping", "key of its own"},
		{"key among list items", "a:\n  - x\n  y: 1\n", 3, "a key cannot stand among the items of a list", `start the line with "- "`},
		{"no colon", "a: 1\nb\nc: 2\n", 2, `YAML expects "key: value" here`, `add ": "`},
		{"at sign", "a: 1\nb: @x\n", 2, `a value starting with "@"`, "put the value in quotes"},
		{"open list", "a: [1, 2\nb: 3\n", 1, "a [ list opened on this line is not closed", `close it with "]"`},
		{"open mapping", "a: 1\nb: {x: 1\nc: 3\n", 2, "a { mapping opened on this line is not closed", `close it with "}"`},
		{"open quote", "a: 1\nb: 'x\nc: 3\n", 2, "a quoted value opened on this line is not closed", "same quote"},
		{"second document", "a: 1\n---\nb: 2\n", 2, "a second YAML document starts here", `remove the second "---"`},
		{"empty second document", "a: 1\n---\n", 2, "a second YAML document", `remove the second "---"`},
		{"other syntax", "a: 1\n%%%\n", 2, "invalid YAML: ", GenericFix},
		{"CRLF line ends", "a: 1\r\nmetadata:\r\n\tname: x\r\n", 3, "a tab indents this line", "replace the tab with spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := Parse("doc.yaml", []byte(tt.doc))
			var e *Error
			if !errors.As(err, &e) || root != nil {
				t.Fatalf("Parse = %v, %v; want an *Error", root, err)
			}
			if e.File != "doc.yaml" || e.Line != tt.line || !strings.Contains(e.Message, tt.msg) || !strings.Contains(e.Fix, tt.fix) {
				t.Errorf("got line %d %q (fix: %q), want line %d %q (fix containing %q)", e.Line, e.Message, e.Fix, tt.line, tt.msg, tt.fix)
			}
			if !strings.HasPrefix(err.Error(), "doc.yaml:") || e.Err == nil || errors.Unwrap(err) != e.Err {
				t.Errorf("Error() = %q, Unwrap = %v", err, errors.Unwrap(err))
			}
		})
	}
}

func TestParseDocuments(t *testing.T) {
	for _, doc := range []string{"", "# only a comment\n", "---\n"} {
		if root, err := Parse("doc.yaml", []byte(doc)); root != nil || err != nil {
			t.Errorf("Parse(%q) = %v, %v; want nil, nil", doc, root, err)
		}
	}
	root, err := Parse("doc.yaml", []byte("a: 1\n"))
	if err != nil || root == nil || root.Kind != yaml.MappingNode {
		t.Fatalf("Parse = %v, %v; want the mapping", root, err)
	}
}

// TestParseNeverEchoesValues: a value may be a pasted secret; messages and
// fixes name keys only.
func TestParseNeverEchoesValues(t *testing.T) {
	const secret = "hunter2-Secret"
	for _, doc := range []string{
		"bindPassword: " + secret + ": x\n",
		"a:\n  name: " + secret + "\n   b: 1\n",
		"a: 1\nb: '" + secret + "\n",
	} {
		_, err := Parse("doc.yaml", []byte(doc))
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Parse(%q) = %v", doc, err)
		}
		if strings.Contains(e.Message+e.Fix, secret) {
			t.Errorf("Parse(%q) echoes the value: %v", doc, err)
		}
	}
}

type inner struct {
	Name string `yaml:"name"`
}

// selfDecoding checks its own keys; CheckKeys must not look inside.
type selfDecoding struct{ v string }

func (s *selfDecoding) UnmarshalYAML(n *yaml.Node) error { return n.Decode(&s.v) }

// KeySet is inlined into Outer, as config.KeySet is into its users.
type KeySet struct {
	Current string `yaml:"current"`
}

type outer struct {
	GraphURL string           `yaml:"graphURL"`
	Tenants  []inner          `yaml:"tenants"`
	Ptr      *inner           `yaml:"ptr,omitempty"`
	ByName   map[string]inner `yaml:"byName"`
	Secret   selfDecoding     `yaml:"secret"`
	Skipped  string           `yaml:"-"`
	KeySet   `yaml:",inline"`
}

func TestFields(t *testing.T) {
	got := Fields(reflect.TypeFor[outer]())
	want := map[string][]int{"graphURL": {0}, "tenants": {1}, "ptr": {2}, "byName": {3}, "secret": {4}, "current": {6, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
}

func TestCheckKeys(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string // each error, in order
	}{
		{"all known", "current: k\ngraphURL: x\ntenants: [{name: a}]\nptr: {name: b}\nbyName: {x: {name: c}}\nsecret: {anything: 1}\n", nil},
		{"typo in case", "graphUrl: x\n", []string{`doc.yaml:1: unknown field "graphUrl" at the top level; did you mean "graphURL"?`}},
		{"typo in list item", "tenants:\n  - name: a\n  - nmae: b\n", []string{`doc.yaml:3: unknown field "nmae" in tenants[1]; did you mean "name"?`}},
		{"behind a pointer", "ptr:\n  nam: b\n", []string{`doc.yaml:2: unknown field "nam" in ptr; did you mean "name"?`}},
		{"map values", "byName:\n  x:\n    colour: red\n", []string{`doc.yaml:3: unknown field "colour" in byName.x (fix: remove it; fields allowed here: name)`}},
		{"every one", "colour: red\ntenants: [{nme: a}]\n", []string{
			`doc.yaml:1: unknown field "colour" at the top level (fix: remove it; fields allowed here: byName, current, graphURL, ptr, secret, tenants)`,
			`doc.yaml:2: unknown field "nme" in tenants[0]; did you mean "name"?`}},
		{"merge key left to the decoder", "base: &b {name: a}\nptr:\n  <<: *b\n", []string{`doc.yaml:1: unknown field "base" at the top level (fix: remove it; fields allowed here: byName, current, graphURL, ptr, secret, tenants)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := Parse("doc.yaml", []byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			err = CheckKeys("doc.yaml", root, reflect.TypeFor[outer]())
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var ye *Error
					if !errors.As(e, &ye) {
						t.Errorf("%T is not an *Error", e)
					}
					got = append(got, e.Error())
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CheckKeys:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// FuzzParse: for any bytes Parse returns a node or an *Error with a message
// and a fix, never panics, and never reports a line the document lacks.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"a: 1\n", "a:\n\tb: 1\n", "a:\n  b: 1\n c: 2\n", "a: [1\n", "a: 'x\n", "a: 1\n---\nb: 2\n", "- a\nb: 1\n", "a: &a [*a]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse("fuzz.yaml", data)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error is %T, not *Error: %v", err, err)
		}
		if e.Message == "" || e.Fix == "" || e.File != "fuzz.yaml" || e.Err == nil {
			t.Fatalf("incomplete error %+v", e)
		}
		if lines := strings.Count(string(data), "\n") + 1; e.Line < 0 || e.Line > lines {
			t.Fatalf("line %d of a %d-line document", e.Line, lines)
		}
	})
}
