// Package roster is the stored form of a stage's resolved members: who the
// stage adds, who already was a member, who was named but does not exist,
// and who its exclusions kept out. A roster is written once when the stage
// starts, stored by digest (internal/blob), and read by the add, the
// compensation and the report, so all three act on the same people however
// many there are.
//
// The format is text, one entry per line after a header:
//
//	ssprflow-roster v1
//	+ <object id> <upn>            to add
//	= <object id> <upn>            already a member
//	? <key>                        named but not in the tenant
//	- <object id> <upn> <reason>   excluded (admin, guest, disabled, group:<name>)
//
// UPNs and object ids hold no spaces; a group name in a reason may.
package roster

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Header is a roster's first line.
const Header = "ssprflow-roster v1"

// Mark says what an entry is.
type Mark byte

// Entry marks.
const (
	Add      Mark = '+'
	Member   Mark = '='
	Missing  Mark = '?'
	Excluded Mark = '-'
)

// Entry is one line of a roster.
type Entry struct {
	Mark Mark
	ID   string // object id; the key as written for Missing
	UPN  string
	// Reason is why an Excluded entry was left out.
	Reason string
}

// Counts are a roster's entries by mark.
type Counts struct {
	Add, Member, Missing, Excluded int
}

// Writer writes a roster.
type Writer struct {
	w      *bufio.Writer
	Counts Counts
}

// NewWriter writes the header to w and returns a Writer; call Flush at the
// end.
func NewWriter(w io.Writer) (*Writer, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(Header + "\n"); err != nil {
		return nil, err
	}
	return &Writer{w: bw}, nil
}

// Write adds one entry.
func (w *Writer) Write(e Entry) error {
	if e.ID == "" || strings.ContainsAny(e.ID+e.UPN, " \t\r\n") || strings.ContainsAny(e.Reason, "\r\n") {
		return fmt.Errorf("roster: entry %q %q cannot be written (empty id, or white space in id or UPN)", e.ID, e.UPN)
	}
	var line string
	switch e.Mark {
	case Add, Member:
		line = fmt.Sprintf("%c %s %s\n", e.Mark, e.ID, e.UPN)
	case Missing:
		line = fmt.Sprintf("? %s\n", e.ID)
	case Excluded:
		line = fmt.Sprintf("- %s %s %s\n", e.ID, e.UPN, e.Reason)
	default:
		return fmt.Errorf("roster: unknown mark %q", e.Mark)
	}
	if _, err := w.w.WriteString(line); err != nil {
		return err
	}
	switch e.Mark {
	case Add:
		w.Counts.Add++
	case Member:
		w.Counts.Member++
	case Missing:
		w.Counts.Missing++
	case Excluded:
		w.Counts.Excluded++
	}
	return nil
}

// Flush writes what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }

// ErrFormat is wrapped by every error about a malformed roster.
var ErrFormat = errors.New("malformed roster")

// Read calls fn for every entry of the roster r holds, in order.
func Read(r io.Reader, fn func(Entry) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			if text != Header {
				return fmt.Errorf("%w: line 1 is %q, want %q", ErrFormat, text, Header)
			}
			continue
		}
		e, err := parseLine(text)
		if err != nil {
			return fmt.Errorf("%w: line %d: %w", ErrFormat, line, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("roster: read: %w", err)
	}
	if line == 0 {
		return fmt.Errorf("%w: empty (no header)", ErrFormat)
	}
	return nil
}

func parseLine(s string) (Entry, error) {
	if len(s) < 3 || s[1] != ' ' {
		return Entry{}, fmt.Errorf("%q is not an entry", s)
	}
	e := Entry{Mark: Mark(s[0])}
	f := strings.SplitN(s[2:], " ", 3)
	switch e.Mark {
	case Add, Member:
		if len(f) != 2 || f[0] == "" || f[1] == "" {
			return Entry{}, fmt.Errorf("%q: want \"%c <id> <upn>\"", s, e.Mark)
		}
		e.ID, e.UPN = f[0], f[1]
	case Missing:
		if len(f) != 1 || f[0] == "" {
			return Entry{}, fmt.Errorf("%q: want \"? <key>\"", s)
		}
		e.ID = f[0]
	case Excluded:
		if len(f) != 3 || f[0] == "" || f[2] == "" {
			return Entry{}, fmt.Errorf("%q: want \"- <id> <upn> <reason>\"", s)
		}
		e.ID, e.UPN, e.Reason = f[0], f[1], f[2]
	default:
		return Entry{}, fmt.Errorf("unknown mark %q", s[0])
	}
	return e, nil
}
