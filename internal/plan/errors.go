package plan

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a plan, located so an editor can jump to it.
type Problem struct {
	// File is the name the plan was loaded under (usually its path).
	File string `json:"file,omitempty"`
	// Line and Column are 1-based; 0 when the problem has no position (a
	// Rollout built in code rather than loaded from YAML).
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Field is the path of the offending field, such as
	// "spec.stages[1].gate.approvals"; empty for YAML syntax errors.
	Field string `json:"field,omitempty"`
	// Message says what is wrong. It never contains a secret value.
	Message string `json:"message"`
	// Fix says how to put it right.
	Fix string `json:"fix,omitempty"`
}

// String formats p as "file:line:col: field: message (fix: fix)", leaving out
// the parts p does not have.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Column > 0 {
				fmt.Fprintf(&b, ":%d", p.Column)
			}
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Fix != "" {
		b.WriteString(" (fix: ")
		b.WriteString(p.Fix)
		b.WriteString(")")
	}
	return b.String()
}

// ValidationError reports every problem found in a plan at once, so an
// operator fixes them in one pass instead of one per run. Load, LoadFile and
// Validate return it; match it with errors.As.
type ValidationError struct {
	// Problems are sorted by position.
	Problems []Problem
	// cause is the YAML parser's error, wrapped with the file name, when the
	// document could not be parsed at all.
	cause error
}

// Error prints one line per problem.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the YAML syntax error, wrapped with the file name, when the
// plan could not be parsed; nil otherwise.
func (e *ValidationError) Unwrap() error { return e.cause }
