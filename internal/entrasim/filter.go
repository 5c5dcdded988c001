package entrasim

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// A small OData $filter compiler for the clauses Graph supports on the
// simulated resources: eq/ne on booleans and strings, startsWith, "in", the
// lambda any(x: x eq 'v') on string collections, combined with and/or and
// parentheses. Anything else is an unsupported query (400), as in Graph.

// fieldKind is the type a filterable property has.
type fieldKind int

const (
	kindBool fieldKind = iota
	kindString
	kindStrings // collection of strings, for any()
)

// field is a filterable property of T.
type field[T any] struct {
	kind fieldKind
	b    func(T) bool
	s    func(T) string
	ss   func(T) []string
	// ops lists what Graph supports on the property: "eq", "ne", "startsWith", "in", "any".
	ops []string
}

func (f field[T]) allows(op string) bool {
	for _, o := range f.ops {
		if strings.EqualFold(o, op) {
			return true
		}
	}
	return false
}

// errUnsupportedFilter is wrapped by every compile error.
var errUnsupportedFilter = errors.New("unsupported filter")

type token struct {
	kind byte // 'i' ident, 's' string, '(' ')' ',' ':'
	text string
}

func lexFilter(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')' || c == ',' || c == ':':
			out = append(out, token{kind: c})
			i++
		case c == '\'':
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("%w: unterminated string", errUnsupportedFilter)
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			out = append(out, token{kind: 's', text: b.String()})
		default:
			j := i
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || strings.IndexByte("/._-", s[j]) >= 0) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("%w: unexpected character %q", errUnsupportedFilter, c)
			}
			out = append(out, token{kind: 'i', text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

type filterParser[T any] struct {
	toks   []token
	pos    int
	fields map[string]field[T]
}

// compileFilter compiles expr against fields (keys lower-case).
func compileFilter[T any](expr string, fields map[string]field[T]) (func(T) bool, error) {
	if strings.TrimSpace(expr) == "" {
		return func(T) bool { return true }, nil
	}
	toks, err := lexFilter(expr)
	if err != nil {
		return nil, err
	}
	p := &filterParser[T]{toks: toks, fields: fields}
	fn, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("%w: unexpected %q", errUnsupportedFilter, p.toks[p.pos].text)
	}
	return fn, nil
}

func (p *filterParser[T]) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

func (p *filterParser[T]) keyword(word string) bool {
	t, ok := p.peek()
	if ok && t.kind == 'i' && strings.EqualFold(t.text, word) {
		p.pos++
		return true
	}
	return false
}

func (p *filterParser[T]) expect(kind byte) (token, error) {
	t, ok := p.peek()
	if !ok || t.kind != kind {
		return token{}, fmt.Errorf("%w: expected %q", errUnsupportedFilter, string(kind))
	}
	p.pos++
	return t, nil
}

func (p *filterParser[T]) or() (func(T) bool, error) {
	return p.chain("or", p.and, func(a, b func(T) bool) func(T) bool { return func(x T) bool { return a(x) || b(x) } })
}

func (p *filterParser[T]) and() (func(T) bool, error) {
	return p.chain("and", p.term, func(a, b func(T) bool) func(T) bool { return func(x T) bool { return a(x) && b(x) } })
}

// chain parses next (word next)* and joins the operands left to right.
func (p *filterParser[T]) chain(word string, next func() (func(T) bool, error), join func(a, b func(T) bool) func(T) bool) (func(T) bool, error) {
	l, err := next()
	if err != nil {
		return nil, err
	}
	for p.keyword(word) {
		r, err := next()
		if err != nil {
			return nil, err
		}
		l = join(l, r)
	}
	return l, nil
}

func (p *filterParser[T]) field(name, op string) (field[T], error) {
	f, ok := p.fields[strings.ToLower(name)]
	if !ok {
		return f, fmt.Errorf("%w: property '%s' cannot be filtered", errUnsupportedFilter, name)
	}
	if !f.allows(op) {
		return f, fmt.Errorf("%w: operator '%s' is not supported on property '%s'", errUnsupportedFilter, op, name)
	}
	return f, nil
}

func (p *filterParser[T]) term() (func(T) bool, error) {
	t, ok := p.peek()
	if !ok {
		return nil, fmt.Errorf("%w: unexpected end of expression", errUnsupportedFilter)
	}
	if t.kind == '(' {
		p.pos++
		fn, err := p.or()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
		return fn, nil
	}
	if t.kind != 'i' {
		return nil, fmt.Errorf("%w: unexpected %q", errUnsupportedFilter, t.text)
	}
	p.pos++
	if strings.EqualFold(t.text, "not") {
		return nil, fmt.Errorf("%w: 'not' is not supported", errUnsupportedFilter)
	}
	if strings.EqualFold(t.text, "startsWith") {
		return p.startsWith()
	}
	if name, ok := strings.CutSuffix(t.text, "/any"); ok || strings.HasSuffix(strings.ToLower(t.text), "/any") {
		if !ok {
			name = t.text[:len(t.text)-4]
		}
		return p.any(name)
	}
	// property op value
	opTok, err := p.expect('i')
	if err != nil {
		return nil, err
	}
	op := strings.ToLower(opTok.text)
	switch op {
	case "eq", "ne":
		f, err := p.field(t.text, op)
		if err != nil {
			return nil, err
		}
		cmp, err := p.value(f, t.text)
		if err != nil {
			return nil, err
		}
		if op == "ne" {
			return func(x T) bool { return !cmp(x) }, nil
		}
		return cmp, nil
	case "in":
		f, err := p.field(t.text, "in")
		if err != nil {
			return nil, err
		}
		if f.kind != kindString {
			return nil, fmt.Errorf("%w: 'in' needs a string property", errUnsupportedFilter)
		}
		if _, err := p.expect('('); err != nil {
			return nil, err
		}
		set := map[string]bool{}
		for {
			v, err := p.expect('s')
			if err != nil {
				return nil, err
			}
			set[strings.ToLower(v.text)] = true
			if _, err := p.expect(','); err != nil {
				break
			}
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
		get := f.s
		return func(x T) bool { return set[strings.ToLower(get(x))] }, nil
	}
	return nil, fmt.Errorf("%w: operator '%s' is not supported", errUnsupportedFilter, opTok.text)
}

// value parses the literal after eq and returns the comparison.
func (p *filterParser[T]) value(f field[T], name string) (func(T) bool, error) {
	v, ok := p.peek()
	if !ok {
		return nil, fmt.Errorf("%w: missing value for '%s'", errUnsupportedFilter, name)
	}
	p.pos++
	switch f.kind {
	case kindBool:
		if v.kind != 'i' || (!strings.EqualFold(v.text, "true") && !strings.EqualFold(v.text, "false")) {
			return nil, fmt.Errorf("%w: '%s' needs true or false", errUnsupportedFilter, name)
		}
		want, get := strings.EqualFold(v.text, "true"), f.b
		return func(x T) bool { return get(x) == want }, nil
	case kindString:
		if v.kind != 's' {
			return nil, fmt.Errorf("%w: '%s' needs a quoted string", errUnsupportedFilter, name)
		}
		want, get := v.text, f.s
		return func(x T) bool { return strings.EqualFold(get(x), want) }, nil
	}
	return nil, fmt.Errorf("%w: '%s' cannot be compared with eq", errUnsupportedFilter, name)
}

func (p *filterParser[T]) startsWith() (func(T) bool, error) {
	open, err := p.expectAll("(i")
	if err != nil {
		return nil, err
	}
	f, err := p.field(open[1].text, "startsWith")
	if err != nil {
		return nil, err
	}
	rest, err := p.expectAll(",s)")
	if err != nil {
		return nil, err
	}
	prefix, get := strings.ToLower(rest[1].text), f.s
	return func(x T) bool {
		s := get(x)
		return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
	}, nil
}

// expectAll consumes one token of each kind in order.
func (p *filterParser[T]) expectAll(kinds string) ([]token, error) {
	toks := make([]token, 0, len(kinds))
	for i := 0; i < len(kinds); i++ {
		t, err := p.expect(kinds[i])
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
	}
	return toks, nil
}

// any parses "(m: m eq 'v')" after "prop/any".
func (p *filterParser[T]) any(name string) (func(T) bool, error) {
	f, err := p.field(name, "any")
	if err != nil {
		return nil, err
	}
	lambda, err := p.expectAll("(i:i")
	if err != nil {
		return nil, err
	}
	if lambda[1].text != lambda[3].text {
		return nil, fmt.Errorf("%w: lambda variable mismatch", errUnsupportedFilter)
	}
	if !p.keyword("eq") {
		return nil, fmt.Errorf("%w: only eq is supported inside any()", errUnsupportedFilter)
	}
	val, err := p.expectAll("s)")
	if err != nil {
		return nil, err
	}
	want, get := val[0].text, f.ss
	return func(x T) bool {
		for _, s := range get(x) {
			if strings.EqualFold(s, want) {
				return true
			}
		}
		return false
	}, nil
}
