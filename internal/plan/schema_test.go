package plan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/yamldoc"
)

type jsonSchema = map[string]any

func loadSchema(t *testing.T) jsonSchema {
	t.Helper()
	var s jsonSchema
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatalf("schema.json is not JSON: %v", err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", s["$schema"])
	}
	return s
}

// resolve follows a local "$ref" to its definition.
func resolve(t *testing.T, root, s jsonSchema) jsonSchema {
	t.Helper()
	ref, ok := s["$ref"].(string)
	if !ok {
		return s
	}
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	defs, _ := root["$defs"].(map[string]any)
	def, found := defs[name].(map[string]any)
	if !ok || !found {
		t.Fatalf("unresolvable $ref %q", ref)
	}
	return resolve(t, root, def)
}

func properties(t *testing.T, root, s jsonSchema, where string) map[string]any {
	t.Helper()
	props, ok := resolve(t, root, s)["properties"].(map[string]any)
	if !ok {
		t.Fatalf("schema at %s has no properties", where)
	}
	return props
}

// TestSchemaCoversTypes checks that schema.json and the Go types name the
// same keys at every level, so neither drifts when a field is added.
func TestSchemaCoversTypes(t *testing.T) {
	root := loadSchema(t)
	var walk func(typ reflect.Type, s jsonSchema, where string)
	walk = func(typ reflect.Type, s jsonSchema, where string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			if typ.Kind() == reflect.Slice {
				items, ok := resolve(t, root, s)["items"].(map[string]any)
				if !ok {
					t.Errorf("schema at %s is not an array with items", where)
					return
				}
				s = items
				where += "[]"
			}
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct {
			return
		}
		props := properties(t, root, s, where)
		fields := yamldoc.Fields(typ)
		for key, idx := range fields {
			sub, ok := props[key].(map[string]any)
			if !ok {
				t.Errorf("schema lacks %s", joinPath(where, key))
				continue
			}
			walk(typ.FieldByIndex(idx).Type, sub, joinPath(where, key))
		}
		for key := range props {
			if _, ok := fields[key]; !ok {
				t.Errorf("schema has %s, which the Go types do not", joinPath(where, key))
			}
		}
	}
	walk(reflect.TypeOf(Rollout{}), root, "")
}

// TestExampleKeysKnown checks every key the examples use against the schema.
func TestExampleKeysKnown(t *testing.T) {
	root := loadSchema(t)
	var walk func(n *yaml.Node, s jsonSchema, where string)
	walk = func(n *yaml.Node, s jsonSchema, where string) {
		switch n.Kind {
		case yaml.MappingNode:
			props := properties(t, root, s, where)
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				sub, ok := props[key].(map[string]any)
				if !ok {
					t.Errorf("line %d: %s is not in the schema", n.Content[i].Line, joinPath(where, key))
					continue
				}
				walk(n.Content[i+1], sub, joinPath(where, key))
			}
		case yaml.SequenceNode:
			items, _ := resolve(t, root, s)["items"].(map[string]any)
			for _, c := range n.Content {
				if c.Kind == yaml.MappingNode && items == nil {
					t.Errorf("schema at %s has no items", where)
					continue
				}
				walk(c, items, where+"[]")
			}
		}
	}
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) < 2 {
		t.Fatalf("found %d examples, want at least 2", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		walk(doc.Content[0], root, "")
	}
}

// TestSchemaEnumsMatchGo keeps the schema's method list in step with AllMethods.
func TestSchemaEnumsMatchGo(t *testing.T) {
	root := loadSchema(t)
	def := resolve(t, root, jsonSchema{"$ref": "#/$defs/method"})
	var got []string
	for _, v := range def["enum"].([]any) {
		got = append(got, v.(string))
	}
	var want []string
	for _, m := range AllMethods {
		want = append(want, string(m))
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("schema methods %v, Go methods %v", got, want)
	}
}

// TestSchemaSelectFile: every select.file the loader accepts, the schema's
// pattern accepts too (the schema is weaker: it cannot see "..").
func TestSchemaSelectFile(t *testing.T) {
	root := loadSchema(t)
	stage := resolve(t, root, jsonSchema{"$ref": "#/$defs/stage"})
	sel := stage["properties"].(map[string]any)["select"].(map[string]any)
	pattern := sel["properties"].(map[string]any)["file"].(map[string]any)["pattern"].(string)
	re := regexp.MustCompile(pattern)
	for _, f := range []string{"waves/hr-wave.csv", "HR.TXT", "./lists/Sales EU.Csv", "a/../b.csv", "/etc/x.csv", `C:\x.csv`, "x.xlsx", "x.csv.bak"} {
		if msg, _ := fileProblem(f); msg == "" && !re.MatchString(f) {
			t.Errorf("%q: the loader accepts it, the schema pattern %q does not", f, pattern)
		}
	}
}
