package yamldoc

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/didyoumean"
)

// Fields maps the YAML keys of struct type t to their fields' index paths
// (for reflect.Value.FieldByIndex), the keys of ",inline" structs included.
func Fields(t reflect.Type) map[string][]int {
	m := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" && slices.Contains(strings.Split(opts, ","), "inline") && f.Type.Kind() == reflect.Struct {
			for k, idx := range Fields(f.Type) {
				m[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name != "" {
			m[name] = []int{i}
		}
	}
	return m
}

// Keys returns the YAML keys of struct type t, sorted.
func Keys(t reflect.Type) []string {
	fields := Fields(t)
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// CheckKeys reports every key of the document under root that the Go type
// t does not have, with the nearest known key when it is close enough to be
// a typo. The error joins one *Error per unknown key, in document order;
// nil when all keys are known. Types that decode themselves (a
// yaml.Unmarshaler) check their own keys, and aliases and merge keys are
// left to the decoder.
func CheckKeys(file string, root *yaml.Node, t reflect.Type) error {
	var errs []error
	var walk func(n *yaml.Node, t reflect.Type, path string)
	walk = func(n *yaml.Node, t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if reflect.PointerTo(t).Implements(unmarshalerType) {
			return
		}
		switch {
		case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
			fields := Fields(t)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || k.Value == "<<" {
					continue
				}
				idx, ok := fields[k.Value]
				if !ok {
					errs = append(errs, unknownKey(file, k, path, Keys(t)))
					continue
				}
				walk(n.Content[i+1], t.FieldByIndex(idx).Type, join(path, k.Value))
			}
		case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
			}
		case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && n.Kind == yaml.SequenceNode:
			for i, item := range n.Content {
				walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(root, t, "")
	return errors.Join(errs...)
}

func unknownKey(file string, k *yaml.Node, path string, known []string) *Error {
	where := "at the top level"
	if path != "" {
		where = "in " + path
	}
	e := &Error{File: file, Line: k.Line, Message: fmt.Sprintf("unknown field %q %s", Clip(k.Value), where)}
	if s := didyoumean.Suggest(k.Value, known); s != "" {
		e.Message += fmt.Sprintf("; did you mean %q?", s)
	} else {
		e.Fix = "remove it; fields allowed here: " + strings.Join(known, ", ")
	}
	return e
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// Clip shortens text quoted back in a message so a fuzzed or pasted blob
// does not flood the terminal.
func Clip(s string) string {
	const max = 64
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "..."
}
