package plan

import (
	"strings"

	"github.com/ssprflow/ssprflow/internal/yamldoc"
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
	// Warning marks a setting that is valid but risky (see Check): the plan
	// still loads.
	Warning bool `json:"warning,omitempty"`
}

// String formats p as "file:line:col: field: message (fix: fix)", leaving out
// the parts p does not have; a warning has "warning: " before the field.
func (p Problem) String() string {
	msg := p.Message
	if p.Field != "" {
		msg = p.Field + ": " + msg
	}
	if p.Warning {
		msg = "warning: " + msg
	}
	return yamldoc.Format(p.File, p.Line, p.Column, msg, p.Fix)
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
