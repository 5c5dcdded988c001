package plan

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/didyoumean"
	"github.com/ssprflow/ssprflow/internal/yamldoc"
)

// LoadFile reads, validates and defaults the plan at path. Problems in the
// plan come back together as a *ValidationError naming path; for an
// unreadable file the error wraps the *fs.PathError (errors.Is(err,
// fs.ErrNotExist) works).
func LoadFile(path string) (*Rollout, error) {
	r, _, err := CheckFile(path)
	return r, err
}

// Load parses data as a plan document, reports every problem at once, and
// returns the Rollout with the portal's defaults filled in. name is used only
// in messages, normally the file's path. Any error is a *ValidationError;
// when the YAML itself is malformed, it unwraps to the parser's error
// prefixed with name.
func Load(name string, data []byte) (*Rollout, error) {
	r, _, err := Check(name, data)
	return r, err
}

// CheckFile is LoadFile that also returns the plan's warnings (see Check).
func CheckFile(path string) (*Rollout, []Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read plan: %w", err)
	}
	return Check(path, data)
}

// Check is Load that also returns the plan's warnings: settings that are
// valid but that an identity engineer would question before a rollout, each
// a Problem with Warning set, sorted by position. Warnings are given for a
// valid plan only; while it has errors, those come first.
func Check(name string, data []byte) (*Rollout, []Problem, error) {
	d := &decoder{file: name, pos: map[string]pos{}, keyPos: map[string]pos{}, bad: map[string]bool{}}
	root, err := yamldoc.Parse(name, data)
	if err != nil {
		return nil, nil, d.syntaxError(err)
	}
	if root == nil {
		d.problem("", pos{1, 1}, "the plan is empty", "start from examples/pilot.yaml: apiVersion: ssprflow/v1, kind: Rollout, metadata and spec")
		return nil, nil, newValidationError(d.problems, nil)
	}
	var r Rollout
	d.decode(root, reflect.ValueOf(&r).Elem(), "")
	// Validate the defaulted plan: an omitted field takes the portal's value,
	// and the rules must hold for what will actually be applied.
	v := validator{file: name, pos: d.pos, keyPos: d.keyPos, bad: d.bad, problems: d.problems, loaded: true}
	r2 := r.WithDefaults()
	v.check(r2)
	if len(v.problems) > 0 {
		return nil, nil, newValidationError(v.problems, nil)
	}
	return r2, v.warnings(r2), nil
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

// syntaxError reports YAML that does not parse. The cause is the parser's
// own error prefixed with the file name.
func (d *decoder) syntaxError(err error) *ValidationError {
	p := Problem{File: d.file, Message: "invalid YAML: " + err.Error(), Fix: yamldoc.GenericFix}
	cause := err
	var e *yamldoc.Error
	if errors.As(err, &e) {
		p.Line, p.Message, p.Fix = e.Line, e.Message, e.Fix
		cause = e.Err
	}
	return newValidationError([]Problem{p}, fmt.Errorf("%s: %w", d.file, cause))
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
	fields := yamldoc.Fields(v.Type())
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
		if r, ok := workerOnlyKeys[v.Type()][k.Value]; ok {
			d.problem(fp, nodePos(k), r.msg, r.fix)
			if r.covers != "" {
				// The stage's missing members are this mistake, not a second one.
				d.bad[joinPath(path, r.covers)] = true
			}
			continue
		}
		if v.Type() == groupRefType && groupIDKeys[k.Value] {
			d.problem(fp, nodePos(k), fmt.Sprintf("a group is named, not given by id: ssprflow finds the SSPR group by its display name, and %s is not a group setting", k.Value),
				"write group: {name: DISPLAY-NAME} with the group's display name as Entra ID > Groups shows it; add create: false if the group must already exist")
			// The missing name is this mistake, not a second one.
			d.bad[joinPath(path, "name")] = true
			continue
		}
		idx, ok := fields[k.Value]
		if !ok {
			d.unknownField(fp, k, v.Type())
			continue
		}
		if seen[k.Value] {
			d.problem(fp, nodePos(k), fmt.Sprintf("%q is set twice", k.Value), "keep one of the two entries and delete the other")
			continue
		}
		seen[k.Value] = true
		d.keyPos[fp] = nodePos(k)
		d.decode(val, v.FieldByIndex(idx), fp)
	}
}

var groupRefType = reflect.TypeFor[GroupRef]()

// workerOnlyKeys are fields the worker fills in when it accepts a plan
// (yaml:"-"): a plan that wrote one would hand the worker a member list it
// never checked, so each is refused with its own fix rather than "unknown
// field" (or a did-you-mean "members").
var workerOnlyKeys = map[reflect.Type]map[string]refusal{
	reflect.TypeFor[Stage](): {
		"memberList": {msg: "memberList is the worker's: it stores the stage's inline members or selected file when it accepts the plan, and a plan cannot name a stored list",
			fix: "list the users under members:, or name a file with select: {file: waves/list.csv}", covers: "members"},
	},
}

// groupIDKeys are the ways people write a group's object id. Graph finds
// the group by displayName only (and creates one by that name), so an id
// has nowhere to go; "unknown field" would point at spec.approvers[].id.
var groupIDKeys = map[string]bool{"id": true, "objectId": true, "groupId": true}

// refusal is why a field is refused, and what to do instead.
type refusal struct {
	msg, fix string
	// covers is a sibling field whose absence the refusal explains.
	covers string
}

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
		"spec.allowSelfApproval": {msg: "self-approval is the worker's policy (policy.allowSelfApproval in the worker configuration), not the plan's",
			fix: "remove allowSelfApproval from the plan; the worker's administrator sets policy.allowSelfApproval"},
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
			msg: fmt.Sprintf("%s is not a plan setting: a plan never chooses %s", f.key, f.what), fix: fixDirectoryProfile}
	}
	return m
}()

func (d *decoder) unknownField(fp string, k *yaml.Node, t reflect.Type) {
	names := yamldoc.Keys(t)
	key := yamldoc.Clip(k.Value)
	msg := fmt.Sprintf("unknown field %q", key)
	fix := "remove it; fields allowed here: " + strings.Join(names, ", ")
	if homes := fieldHomes()[k.Value]; len(homes) > 0 {
		// A known field at the wrong level, usually wrong indentation.
		fix = fmt.Sprintf("move it under %s; check its indentation", strings.Join(homes, " or "))
		msg += " here"
	} else if s := didyoumean.Suggest(k.Value, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
		fix = fmt.Sprintf("rename %q to %q", key, s)
		// The misspelt field is most likely the one reported as missing
		// later; one complaint is enough.
		d.bad[joinPath(parentPath(fp), s)] = true
	}
	d.problem(fp, nodePos(k), msg, fix)
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
			return "the string " + strconv.Quote(yamldoc.Clip(n.Value))
		case "!!bool", "!!int", "!!float":
			return yamldoc.Clip(n.Value)
		default:
			return "a value tagged " + yamldoc.Clip(n.ShortTag())
		}
	}
	return "an unexpected node"
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

func newValidationError(ps []Problem, cause error) *ValidationError {
	sortProblems(ps)
	return &ValidationError{Problems: ps, cause: cause}
}

// sortProblems orders ps by position, keeping the order of those at one.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
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
		fields := yamldoc.Fields(t)
		for _, k := range yamldoc.Keys(t) {
			home := where
			if home == "" {
				home = "the top level"
			}
			homes[k] = append(homes[k], home)
			walk(t.FieldByIndex(fields[k]).Type, joinPath(where, k), depth+1)
		}
	}
	walk(reflect.TypeOf(Rollout{}), "", 0)
	return homes
})
