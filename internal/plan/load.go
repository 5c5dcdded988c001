package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// LoadFile reads, validates and defaults the plan at path. Problems in the
// plan come back together as a *ValidationError naming path; for an
// unreadable file the error wraps the *fs.PathError (errors.Is(err,
// fs.ErrNotExist) works).
func LoadFile(path string) (*Rollout, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	return Load(path, data)
}

// Load parses data as a plan document, reports every problem at once, and
// returns the Rollout with the portal's defaults filled in. name is used only
// in messages, normally the file's path. Any error is a *ValidationError;
// when the YAML itself is malformed, it unwraps to the parser's error
// prefixed with name.
func Load(name string, data []byte) (*Rollout, error) {
	d := &decoder{file: name, pos: map[string]pos{}, keyPos: map[string]pos{}, bad: map[string]bool{}}
	root, err := parseDocument(data)
	if err != nil {
		return nil, d.syntaxError(err)
	}
	if root == nil {
		d.problem("", pos{1, 1}, "the plan is empty", "start from examples/pilot.yaml: apiVersion: ssprflow/v1, kind: Rollout, metadata and spec")
		return nil, newValidationError(d.problems, nil)
	}
	var r Rollout
	d.decode(root, reflect.ValueOf(&r).Elem(), "")
	// Validate the defaulted plan: an omitted field takes the portal's value,
	// and the rules must hold for what will actually be applied.
	v := validator{file: name, pos: d.pos, keyPos: d.keyPos, bad: d.bad, problems: d.problems, loaded: true}
	v.check(r.WithDefaults())
	if len(v.problems) > 0 {
		return nil, newValidationError(v.problems, nil)
	}
	return r.WithDefaults(), nil
}

// parseDocument returns the plan's root node, nil for an empty document. A
// second document is refused rather than silently ignored.
func parseDocument(data []byte) (root *yaml.Node, err error) {
	// The parser is third-party code fed untrusted bytes; a panic in it must
	// not take the caller (a worker, the CLI) down with it.
	defer func() {
		if p := recover(); p != nil {
			root, err = nil, fmt.Errorf("yaml: parser failed: %v", p)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, err
	default:
		return nil, fmt.Errorf("yaml: line %d: a plan file holds one document; remove the second \"---\" and what follows", extra.Line)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// pos is a 1-based position in the YAML source.
type pos struct{ line, col int }

func nodePos(n *yaml.Node) pos { return pos{n.Line, n.Column} }

// decoder walks the YAML node tree alongside the Go types, so each type
// mismatch or unknown key is reported with its position and path and the
// walk goes on to find the rest.
type decoder struct {
	file     string
	problems []Problem
	// pos holds each decoded field's value position, keyPos its key's.
	pos, keyPos map[string]pos
	// bad marks paths already reported, so validation does not pile a
	// second, derived complaint on top.
	bad map[string]bool
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (d *decoder) syntaxError(err error) *ValidationError {
	p := Problem{File: d.file, Message: err.Error(),
		Fix: "correct the YAML syntax: indent with spaces, and quote values that contain \": \" or start with a special character"}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Message = m[2]
	}
	p.Message = "invalid YAML: " + strings.TrimPrefix(p.Message, "yaml: ")
	return newValidationError([]Problem{p}, fmt.Errorf("%s: %w", d.file, err))
}

func (d *decoder) problem(path string, at pos, msg, fix string) {
	d.problems = append(d.problems, Problem{File: d.file, Line: at.line, Column: at.col, Field: path, Message: msg, Fix: fix})
	d.bad[path] = true
}

var durationType = reflect.TypeOf(Duration(0))

// decode stores n into v (a settable value), reporting instead of failing.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	at := nodePos(n)
	d.pos[path] = at
	if n.Kind == yaml.AliasNode {
		d.problem(path, at, "YAML aliases (*name) are not supported in plans", "write the value out in full instead of referring to an anchor")
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value means "omitted": the default applies
	}
	t := v.Type()
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.problem(path, at, "must be a duration with a unit, got "+describe(n), `write it as a string with a unit, such as "90s", "30m", "72h" or "7d"`)
			return
		}
		dur, err := ParseDuration(n.Value)
		if err != nil {
			d.problem(path, at, err.Error(), `use a number and a unit: "90s", "30m", "72h" or "7d"`)
			return
		}
		v.Set(reflect.ValueOf(dur))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem := reflect.New(t.Elem())
		d.decode(n, elem.Elem(), path)
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.problem(path, at, "must be a list, got "+describe(n), "write one item per line, each starting with \"- \"")
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || !plainTag(n) {
			d.problem(path, at, "must be a string, got "+describe(n), "write a single value on the same line as the key")
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.problem(path, at, "must be a whole number, got "+describe(n), "write a whole number without quotes, such as 1")
			return
		}
		if i == 0 && path == "spec.methodsRequired" {
			// Omitted means the portal's default of 1, but an explicit 0 is
			// a mistake, not a request for the default.
			d.problem(path, at, "must be 1 or 2, got 0", "set methodsRequired to 1 or 2")
			return
		}
		v.SetInt(int64(i))
	case reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil {
			d.problem(path, at, "must be a number, got "+describe(n), "write a number without quotes, such as 60")
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.problem(path, at, "must be true or false, got "+describe(n), "write true or false without quotes")
			return
		}
		v.SetBool(b)
	default:
		// Unreachable for the plan's types; kept so a new field type fails loudly in tests.
		d.problem(path, at, "field type "+t.String()+" is not supported by the plan loader", "report this as a bug in ssprflow")
	}
}

// plainTag reports whether a scalar may be read as a string: YAML's own
// scalar types are, but custom tags (!foo, !!binary) are refused.
func plainTag(n *yaml.Node) bool {
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
		return true
	}
	return false
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	at := nodePos(n)
	if n.Kind != yaml.MappingNode {
		d.problem(path, at, "must be a mapping of fields, got "+describe(n), "write its fields indented on the lines below the key")
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.problem(path, nodePos(k), "a key must be a plain name, got "+describe(k), "use a field name such as \"name\" as the key")
			continue
		}
		fp := joinPath(path, k.Value)
		if r, ok := workerOnlyFields[fp]; ok {
			// Never echo the value: a bindPassword may be the password itself.
			d.problem(fp, nodePos(k), r.msg, r.fix)
			continue
		}
		idx, ok := fields[k.Value]
		if !ok {
			d.unknownField(fp, k, fields)
			continue
		}
		if seen[k.Value] {
			d.problem(fp, nodePos(k), fmt.Sprintf("%q is set twice", k.Value), "keep one of the two entries and delete the other")
			continue
		}
		seen[k.Value] = true
		d.keyPos[fp] = nodePos(k)
		d.decode(val, v.Field(idx), fp)
	}
}

// refusal is why a field is refused, and what to do instead.
type refusal struct{ msg, fix string }

// fixDirectoryProfile is the fix for every connection, identity or secret
// field of spec.directory.
const fixDirectoryProfile = "move it to a directory profile in the worker configuration (directories: - profile: NAME ...) and name the profile here: directory: {profile: NAME}"

// workerOnlyFields are settings that belong to the worker, not the plan:
// a plan that could name them would choose where the worker connects, as
// whom, and which of the worker's files or variables it sends there. Older
// plans had them, so each gets its own message and fix rather than
// "unknown field".
var workerOnlyFields = func() map[string]refusal {
	m := map[string]refusal{
		"spec.allowSelfApproval": {"self-approval is the worker's policy (policy.allowSelfApproval in the worker configuration), not the plan's",
			"remove allowSelfApproval from the plan; the worker's administrator sets policy.allowSelfApproval"},
	}
	for _, f := range []struct{ key, what string }{
		{"url", "which domain controller the worker connects to"},
		{"urls", "which domain controllers the worker connects to"},
		{"caFile", "which file the worker trusts to verify the domain controller"},
		{"serverName", "which certificate name the worker accepts from the domain controller"},
		{"insecure", "whether the worker sends its bind password without TLS"},
		{"allowPlainLDAP", "whether the worker sends its bind password without TLS"},
		{"bindUser", "which identity the worker binds as"},
		{"bindPassword", "which of the worker's secrets it sends to the domain controller"},
		{"connectorAccount", "which account receives the writeback rights"},
	} {
		m["spec.directory."+f.key] = refusal{
			fmt.Sprintf("%s is not a plan setting: a plan never chooses %s", f.key, f.what), fixDirectoryProfile}
	}
	return m
}()

func (d *decoder) unknownField(fp string, k *yaml.Node, fields map[string]int) {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	key := clip(k.Value)
	msg := fmt.Sprintf("unknown field %q", key)
	fix := "remove it; fields allowed here: " + strings.Join(names, ", ")
	if homes := fieldHomes()[k.Value]; len(homes) > 0 {
		// A known field at the wrong level, usually wrong indentation.
		fix = fmt.Sprintf("move it under %s; check its indentation", strings.Join(homes, " or "))
		msg += " here"
	} else if s := suggest(k.Value, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
		fix = fmt.Sprintf("rename %q to %q", key, s)
		// The misspelt field is most likely the one reported as missing
		// later; one complaint is enough.
		d.bad[joinPath(parentPath(fp), s)] = true
	}
	d.problem(fp, nodePos(k), msg, fix)
}

// yamlFields maps the YAML keys of struct type t to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		m[name] = i
	}
	return m
}

// describe names a node's type for messages, without quoting long values.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!str":
			return "the string " + strconv.Quote(clip(n.Value))
		case "!!bool", "!!int", "!!float":
			return clip(n.Value)
		default:
			return "a value tagged " + clip(n.ShortTag())
		}
	}
	return "an unexpected node"
}

// clip shortens a value quoted back in a message so a fuzzed or pasted blob
// does not flood the terminal.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "..."
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// parentPath strips the last ".key" or "[i]" from a field path.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// suggest returns the candidate closest to s when it is close enough to be a
// typo, or "".
func suggest(s string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		if strings.EqualFold(s, c) {
			return c
		}
		limit := 2
		if len(c) >= 12 {
			limit = 3
		}
		if len(s) > len(c)+limit || len(c) > len(s)+limit {
			continue // cannot be within limit; skip the quadratic work
		}
		dist := levenshtein(strings.ToLower(s), strings.ToLower(c))
		if dist <= limit && (bestDist < 0 || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 100 || len(rb) > 100 {
		return 1 << 30 // no typo is that long; keep the cost bounded
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func newValidationError(ps []Problem, cause error) *ValidationError {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
	return &ValidationError{Problems: ps, cause: cause}
}

// fieldHomes maps each YAML key of the plan to the paths where it is allowed
// ("stages" to "spec"), to tell someone whose indentation is off where a
// field belongs.
var fieldHomes = sync.OnceValue(func() map[string][]string {
	homes := map[string][]string{}
	var walk func(t reflect.Type, where string, depth int)
	walk = func(t reflect.Type, where string, depth int) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			if t.Kind() == reflect.Slice {
				where += "[]"
			}
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || depth > 8 {
			return
		}
		fields := yamlFields(t)
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			home := where
			if home == "" {
				home = "the top level"
			}
			homes[k] = append(homes[k], home)
			walk(t.Field(fields[k]).Type, joinPath(where, k), depth+1)
		}
	}
	walk(reflect.TypeOf(Rollout{}), "", 0)
	return homes
})
