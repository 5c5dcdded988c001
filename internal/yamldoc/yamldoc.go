// Package yamldoc reads the YAML documents people write for ssprflow, plans
// and worker configurations, and explains their mistakes: a syntax error
// names the line at fault and how to put it right (a tab, a line indented
// too far or not far enough, an unquoted ": "), and an unknown key comes
// with the nearest known one. yaml.v3's own messages name the line where the
// enclosing block starts and describe the parser's state, not the mistake.
package yamldoc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a mistake in a YAML document, located in its source. Its message
// never quotes a value from the document (a value may be a pasted secret),
// only keys.
type Error struct {
	// File is the name the document was read under, normally its path.
	File string
	// Line is 1-based; 0 when the mistake has no line.
	Line int
	// Message says what is wrong, Fix how to put it right (empty when the
	// message already asks "did you mean").
	Message, Fix string
	// Err is the parser's own error, if any.
	Err error
}

// Error formats e as "file:line: message (fix: fix)".
func (e *Error) Error() string { return Format(e.File, e.Line, 0, e.Message, e.Fix) }

// Unwrap returns the parser's error.
func (e *Error) Unwrap() error { return e.Err }

// Format is how a located problem in a document reads, for plans and
// configurations alike: "file:line:col: message (fix: fix)", leaving out
// what is zero or empty ("line N: " stands first without a file).
func Format(file string, line, col int, msg, fix string) string {
	var b strings.Builder
	switch {
	case file != "":
		b.WriteString(file)
		if line > 0 {
			fmt.Fprintf(&b, ":%d", line)
			if col > 0 {
				fmt.Fprintf(&b, ":%d", col)
			}
		}
		b.WriteString(": ")
	case line > 0:
		fmt.Fprintf(&b, "line %d: ", line)
	}
	b.WriteString(msg)
	if fix != "" {
		b.WriteString(" (fix: ")
		b.WriteString(fix)
		b.WriteString(")")
	}
	return b.String()
}

// Parse returns the root node of the one YAML document in data, or nil when
// the document is empty (nothing, only comments, or a null). Malformed YAML and a
// second document come back as an *Error naming file, the line at fault and
// the fix.
func Parse(file string, data []byte) (*yaml.Node, error) {
	root, err := parse(data)
	if err == nil {
		return root, nil
	}
	var second *secondDocError
	if errors.As(err, &second) {
		return nil, &Error{File: file, Line: second.line, Err: err,
			Message: "a second YAML document starts here; this file holds one document",
			Fix:     `remove the second "---" and what follows`}
	}
	return nil, explain(file, data, err)
}

// secondDocError is a document followed by another.
type secondDocError struct{ line int }

func (e *secondDocError) Error() string {
	return fmt.Sprintf("yaml: line %d: a second document", e.line)
}

func parse(data []byte) (root *yaml.Node, err error) {
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
		return nil, &secondDocError{line: extra.Line}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	if n := doc.Content[0]; n.Kind != yaml.ScalarNode || n.ShortTag() != "!!null" {
		return n, nil
	}
	return nil, nil // "---" or "~" alone: as empty as no text at all
}
