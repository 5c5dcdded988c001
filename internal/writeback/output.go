package writeback

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// envelope is what every script prints (see scriptPrelude).
type envelope struct {
	OK    *bool           `json:"ok"`
	Data  json.RawMessage `json:"data"`
	Error *struct {
		Message       string `json:"message"`
		ErrorID       string `json:"errorId"`
		Category      string `json:"category"`
		ExceptionType string `json:"exceptionType"`
	} `json:"error"`
}

// ParseOutput turns a script's raw stdout/stderr and exit code into an Output
// or an error. It tolerates a UTF-8 or UTF-16 byte order mark, CRLF line ends,
// warnings or other text before and after the JSON, pretty-printed JSON, a
// single object where an array was expected, and Windows PowerShell 5.1's
// {"value":[...],"Count":n} array wrapping.
func ParseOutput(script string, stdout, stderr []byte, exitCode int) (Output, error) {
	text := normalizeText(stdout)
	errText := normalizeText(stderr)
	out := Output{Script: script, Stderr: errText, ExitCode: exitCode}

	env, raw, warnings, found := findJSON(text)
	out.Warnings = warnings

	if found && env != nil && env.OK != nil {
		if !*env.OK || exitCode != 0 {
			se := &ScriptError{Script: script, ExitCode: exitCode}
			if env.Error != nil {
				se.Message = env.Error.Message
				se.ErrorID = env.Error.ErrorID
				se.Category = env.Error.Category
				se.ExceptionType = env.Error.ExceptionType
			}
			fillFromStderr(se, errText)
			return out, se
		}
		out.Data = normalizeData(env.Data)
		return out, nil
	}
	if exitCode != 0 {
		se := &ScriptError{Script: script, ExitCode: exitCode}
		fillFromStderr(se, errText)
		if se.Message == "" && len(warnings) > 0 {
			se.Message = warnings[len(warnings)-1]
		}
		return out, se
	}
	if found {
		// Bare JSON without the envelope (a recorded cmdlet output).
		out.Data = normalizeData(raw)
		return out, nil
	}
	if strings.TrimSpace(text) == "" {
		// No output at all: nothing to return, but not an error record either.
		out.Data = json.RawMessage("[]")
		return out, nil
	}
	return out, fmt.Errorf("run %s: %w: no JSON in %d bytes of output", script, ErrBadOutput, len(stdout))
}

func normalizeText(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		b = decodeUTF16LE(b[2:])
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	// A BOM can also appear in the middle when PowerShell writes twice.
	s = strings.ReplaceAll(s, "\uFEFF", "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return s
}

func decodeUTF16LE(b []byte) []byte {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
	}
	return []byte(string(utf16.Decode(u)))
}

// findJSON looks for the script's JSON result: the first line starting with
// '{' or '[' from which a complete JSON value decodes, preferring an envelope.
func findJSON(text string) (env *envelope, raw json.RawMessage, warnings []string, found bool) {
	lines := strings.Split(text, "\n")
	offsets := make([]int, len(lines))
	pos := 0
	for i, l := range lines {
		offsets[i] = pos
		pos += len(l) + 1
	}
	var firstRaw json.RawMessage
	firstRawLine, firstRawEnd := -1, -1
	for i, l := range lines {
		t := strings.TrimLeft(l, " \t")
		if t == "" || (t[0] != '{' && t[0] != '[') {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(text[offsets[i]:]))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			continue
		}
		end := offsets[i] + int(dec.InputOffset())
		var e envelope
		if t[0] == '{' && json.Unmarshal(v, &e) == nil && e.OK != nil {
			return &e, v, collectWarnings(lines, offsets, i, end), true
		}
		if firstRaw == nil {
			firstRaw, firstRawLine, firstRawEnd = v, i, end
		}
	}
	if firstRaw != nil {
		return nil, firstRaw, collectWarnings(lines, offsets, firstRawLine, firstRawEnd), true
	}
	return nil, nil, collectWarnings(lines, offsets, len(lines), -1), false
}

// collectWarnings returns the non-empty lines outside [offsets[start], end).
func collectWarnings(lines []string, offsets []int, start, end int) []string {
	var w []string
	for i, l := range lines {
		if i >= start && offsets[i] < end {
			continue
		}
		if t := strings.TrimSpace(l); t != "" {
			w = append(w, t)
		}
	}
	return w
}

// normalizeData returns data as a JSON array.
func normalizeData(d json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(d)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return json.RawMessage("[]")
	}
	if t[0] == '[' {
		return json.RawMessage(t)
	}
	if t[0] == '{' {
		// Windows PowerShell 5.1 may serialise an array as {"value":[...],"Count":n}.
		var wrapped struct {
			Value json.RawMessage `json:"value"`
			Count *int            `json:"Count"`
		}
		if json.Unmarshal(t, &wrapped) == nil && wrapped.Count != nil && len(wrapped.Value) > 0 {
			var probe map[string]json.RawMessage
			if json.Unmarshal(t, &probe) == nil && len(probe) == 2 {
				return normalizeData(wrapped.Value)
			}
		}
	}
	out := make([]byte, 0, len(t)+2)
	out = append(out, '[')
	out = append(out, t...)
	out = append(out, ']')
	return out
}

var fqidRe = regexp.MustCompile(`(?m)^\s*\+\s*FullyQualifiedErrorId\s*:\s*(\S+)`)
var categoryRe = regexp.MustCompile(`(?m)^\s*\+\s*CategoryInfo\s*:\s*(\S+)`)

// fillFromStderr completes a ScriptError from PowerShell's error text on
// stderr (the classic "Cmdlet : message / + FullyQualifiedErrorId : id" form).
func fillFromStderr(se *ScriptError, stderr string) {
	if se.ErrorID == "" {
		if m := fqidRe.FindStringSubmatch(stderr); m != nil {
			se.ErrorID = m[1]
		}
	}
	if se.Category == "" {
		if m := categoryRe.FindStringSubmatch(stderr); m != nil {
			se.Category = m[1]
		}
	}
	if se.Message == "" {
		for _, l := range strings.Split(stderr, "\n") {
			t := strings.TrimSpace(l)
			if t == "" || strings.HasPrefix(t, "+") || strings.HasPrefix(t, "At line:") || strings.HasPrefix(t, "At ") && strings.Contains(t, " char:") {
				continue
			}
			se.Message = t
			break
		}
	}
}

// runList runs a script and decodes its data array into items of T; errors
// start with op.
func runList[T any](ctx context.Context, r Runner, op, script string, args map[string]string) ([]T, error) {
	out, err := r.Run(ctx, script, args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	items, err := decodeList[T](out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return items, nil
}

// decodeList decodes an Output's data array into items of T.
func decodeList[T any](out Output) ([]T, error) {
	var items []T
	data := out.Data
	if len(data) == 0 {
		data = json.RawMessage("[]")
	}
	if err := json.Unmarshal(normalizeData(data), &items); err != nil {
		return nil, fmt.Errorf("decode %s output: %w: %v", out.Script, ErrBadOutput, err)
	}
	return items, nil
}

// flexBool accepts true/false, "True"/"False", 1/0 and null (false, unset).
type flexBool struct {
	Value bool
	Set   bool
}

func (b *flexBool) UnmarshalJSON(d []byte) error {
	t := strings.Trim(strings.TrimSpace(string(d)), `"`)
	switch strings.ToLower(t) {
	case "null", "":
		*b = flexBool{}
	case "true", "1", "yes", "enabled":
		*b = flexBool{Value: true, Set: true}
	case "false", "0", "no", "disabled":
		*b = flexBool{Value: false, Set: true}
	default:
		return fmt.Errorf("not a boolean: %s", d)
	}
	return nil
}

func (b flexBool) MarshalJSON() ([]byte, error) {
	if !b.Set {
		return []byte("null"), nil
	}
	return json.Marshal(b.Value)
}

// flexTime accepts RFC 3339 / ISO 8601 strings and Windows PowerShell 5.1's
// "/Date(1732530000000)/" form.
type flexTime struct{ time.Time }

var msDateRe = regexp.MustCompile(`^/Date\((-?\d+)([+-]\d{4})?\)/$`)

func (t *flexTime) UnmarshalJSON(d []byte) error {
	var s string
	if err := json.Unmarshal(d, &s); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	if m := msDateRe.FindStringSubmatch(s); m != nil {
		ms, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return fmt.Errorf("time %q: %w", s, err)
		}
		t.Time = time.UnixMilli(ms).UTC()
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02 15:04:05"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("time %q: unknown format", s)
}

func (t flexTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}
