package yamldoc

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// GenericFix is the fix for a syntax error no rule below explains.
const GenericFix = `correct the YAML syntax: indent with spaces, and quote values that contain ": " or start with a special character`

var (
	parserMsgRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)
	// twoKeysRE is a line whose value holds ": " (or ends with ":"), so YAML
	// reads a second key in it: "name: a: b".
	twoKeysRE = regexp.MustCompile(`^([^\s:#'"{\[][^:]*):\s+[^\s'"#].*:(\s|$)`)
	// blockScalarRE ends a line whose value is a block scalar (| or >).
	blockScalarRE = regexp.MustCompile(`:\s+[|>][-+0-9]*\s*(#.*)?$`)
)

// explain turns a parser error into an Error at the line at fault, saying
// what is wrong in terms of the document rather than of the parser.
func explain(file string, data []byte, err error) *Error {
	line, msg := parserMessage(err)
	e := &Error{File: file, Line: line, Err: err,
		Message: "invalid YAML: " + msg, Fix: GenericFix}
	src := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if n := locate(data, msg); n > 0 {
		e.Line = n
	}
	if e.Line < 1 || e.Line > len(src) {
		return e
	}
	indent, rest := splitIndent(src[e.Line-1])
	col := keyColumn(src[e.Line-1])
	switch {
	case strings.ContainsRune(indent, '\t'):
		e.Message = "a tab indents this line; YAML indents with spaces only"
		e.Fix = "replace the tab with spaces"
	case msg == "mapping values are not allowed in this context":
		content := strings.TrimLeft(rest[col-len(indent):], " ")
		if m := twoKeysRE.FindStringSubmatch(content); m != nil {
			key := Clip(strings.TrimSpace(m[1]))
			e.Message = fmt.Sprintf(`the value of %q contains ": ", which YAML reads as the start of another key`, key)
			e.Fix = fmt.Sprintf(`put the value in quotes: %s: "..."`, key)
			break
		}
		if prev := previousContent(src, e.Line); prev >= 0 && col > keyColumn(src[prev]) {
			e.Message = "this line is indented further than the line above, whose key already has a value, so YAML reads it as part of that value"
			e.Fix = fmt.Sprintf("indent it by %s to line up with the line above, or, if it belongs under that line's key, remove the value after that key", spaces(keyColumn(src[prev])))
		}
	case msg == "did not find expected key" || msg == "did not find expected '-' indicator":
		item := rest == "-" || strings.HasPrefix(rest, "- ")
		levels := openLevels(src, e.Line)
		w := len(indent)
		switch {
		case !slices.Contains(levels, w):
			e.Message = fmt.Sprintf("this line is indented by %s, which lines up with no block above it", spaces(w))
			e.Fix = realign(levels, w)
		case item && msg == "did not find expected key":
			e.Message = "a list item cannot stand among the keys of a mapping"
			e.Fix = `put the list under a key of its own (the key, then its items indented below it), or write this line as key: value`
		case !item && msg == "did not find expected '-' indicator":
			e.Message = "a key cannot stand among the items of a list"
			e.Fix = `start the line with "- " to add an item to the list, or indent it less to end the list`
		}
	case msg == "could not find expected ':'" && !strings.Contains(rest, ":"):
		e.Message = `YAML expects "key: value" here, but this line has no colon`
		e.Fix = `add ": " and the value after the key, or, if the line continues the value above, put that whole value in quotes`
	case msg == "found character that cannot start any token" && strings.ContainsAny(rest, "@`"):
		e.Message = "a value starting with \"@\" or \"`\" must be quoted"
		e.Fix = "put the value in quotes"
	case msg == "did not find expected ',' or ']'" && strings.Contains(rest, "["):
		e.Message = "a [ list opened on this line is not closed"
		e.Fix = `close it with "]", or write the list one item per line, each starting with "- "`
	case msg == "did not find expected ',' or '}'" && strings.Contains(rest, "{"):
		e.Message = "a { mapping opened on this line is not closed"
		e.Fix = `close it with "}", or write one key: value per line, indented below its key`
	case msg == "found unexpected end of stream" && strings.ContainsAny(rest, `'"`):
		e.Message = "a quoted value opened on this line is not closed"
		e.Fix = "end the value with the same quote it starts with"
	}
	return e
}

// parserMessage splits yaml.v3's "yaml: line N: message" into N (0 when
// absent) and message.
func parserMessage(err error) (int, string) {
	m := parserMsgRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, err.Error()
	}
	line, _ := strconv.Atoi(m[1])
	return line, m[2]
}

// locate returns the line whose addition first makes the document fail with
// msg, or 0. yaml.v3 reports the line where the enclosing block starts,
// often lines above the mistake, but the lines before the mistake still
// parse on their own. A binary search keeps the cost at a few parses even
// for a large document.
func locate(data []byte, msg string) int {
	var ends []int
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	fails := func(n int) bool {
		_, err := parse(data[:ends[n-1]])
		if err == nil {
			return false
		}
		_, m := parserMessage(err)
		return m == msg
	}
	lo, hi := 1, len(ends)
	if !fails(hi) {
		return 0
	}
	for lo < hi {
		if mid := (lo + hi) / 2; fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// splitIndent splits a line into its leading blanks and the rest.
func splitIndent(line string) (indent, rest string) {
	rest = strings.TrimLeft(line, " \t")
	return line[:len(line)-len(rest)], rest
}

// keyColumn is where a line's content starts, past its indentation and any
// list dashes ("  - name: a" has its key at 4).
func keyColumn(line string) int {
	indent, rest := splitIndent(line)
	col := len(indent)
	for strings.HasPrefix(rest, "- ") {
		trimmed := strings.TrimLeft(rest[1:], " ")
		col += len(rest) - len(trimmed)
		rest = trimmed
	}
	return col
}

// isContent reports whether a line holds more than blanks or a comment.
func isContent(line string) bool {
	_, rest := splitIndent(line)
	return rest != "" && !strings.HasPrefix(rest, "#")
}

// previousContent returns the index into src of the last content line
// before line n (1-based), or -1.
func previousContent(src []string, n int) int {
	for i := n - 2; i >= 0; i-- {
		if isContent(src[i]) {
			return i
		}
	}
	return -1
}

// openLevels returns the indentations at which blocks are open just before
// line n (1-based): each content line opens one at its indentation, a list
// item one more where its content starts, and a line less indented closes
// the deeper ones. Lines of a block scalar (| or >) are its value, not
// structure.
func openLevels(src []string, n int) []int {
	var stack []int
	scalar := -1 // the indentation of the key whose block scalar is being read
	for _, line := range src[:n-1] {
		if !isContent(line) {
			continue
		}
		indent, rest := splitIndent(line)
		w := len(indent)
		if scalar >= 0 {
			if w > scalar {
				continue
			}
			scalar = -1
		}
		for len(stack) > 0 && stack[len(stack)-1] > w {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 || stack[len(stack)-1] < w {
			stack = append(stack, w)
		}
		if col := keyColumn(line); col > w {
			stack = append(stack, col)
		}
		if blockScalarRE.MatchString(rest) {
			scalar = keyColumn(line)
		}
	}
	return stack
}

// realign says where a line indented by w, at none of levels, may go: the
// nearest level deeper continues the block above, the nearest shallower
// ends it.
func realign(levels []int, w int) string {
	deeper, shallower := -1, -1
	for _, l := range levels {
		if l > w && (deeper < 0 || l < deeper) {
			deeper = l
		}
		if l < w && l > shallower {
			shallower = l
		}
	}
	switch {
	case deeper >= 0 && shallower >= 0:
		return fmt.Sprintf("indent it by %s to continue the block above, or by %s to end that block", spaces(deeper), spaces(shallower))
	case deeper >= 0:
		return fmt.Sprintf("indent it by %s to continue the block above", spaces(deeper))
	case shallower >= 0:
		return fmt.Sprintf("indent it by %s to line up with the block above", spaces(shallower))
	}
	return GenericFix
}

func spaces(n int) string {
	if n == 1 {
		return "1 space"
	}
	return strconv.Itoa(n) + " spaces"
}
