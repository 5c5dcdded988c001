// Package memberlist reads the member files a rollout wave selects from:
// lists that people write by hand (one UPN or object id per line) and CSV
// files exported from HR systems or from Entra ID (Users > Download users,
// the group bulk-import template), with or without a header row.
//
// Parse streams: it holds one line at a time, plus the set of keys seen so
// far to skip duplicates, so a list of hundreds of thousands of users reads
// in a few megabytes. It refuses anything it cannot read unambiguously and
// says where and how to fix it, rather than guessing which users were meant.
package memberlist

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits Parse enforces.
const (
	// MaxLineBytes is the longest line accepted, without its line ending.
	// An Entra "Download users" row is a few hundred bytes; a longer line
	// is not a member list.
	MaxLineBytes = 1024
	// MaxEntries is the most distinct members one file may hold: a wave of
	// two million users is already several days of Graph writes.
	MaxEntries = 2_000_000
)

// Errors that an *Error wraps, for errors.Is.
var (
	// ErrInvalidEntry: a value is neither a UPN nor an object id, or a row
	// lacks its member value.
	ErrInvalidEntry = errors.New("invalid member entry")
	// ErrFormat: the file is not a member list Parse can read: no member
	// column, unbalanced quotes, several values on a line without a header.
	ErrFormat = errors.New("unreadable member list")
	// ErrEncoding: the file is not UTF-8.
	ErrEncoding = errors.New("member list is not UTF-8")
	// ErrLimit: a line or the number of entries exceeds MaxLineBytes or
	// MaxEntries.
	ErrLimit = errors.New("member list too large")
)

// Error is a problem in a member list. Its text names the file and line,
// says what is wrong and how to fix it:
//
//	waves/hr.csv:17: "bob smith" is neither a UPN (name@domain) nor an object id (GUID); fix or delete the line
type Error struct {
	File string
	// Line is 1-based.
	Line    int
	Message string
	Fix     string
	// Err is one of ErrInvalidEntry, ErrFormat, ErrEncoding or ErrLimit.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Unwrap returns the sentinel (ErrInvalidEntry, ErrFormat, ...) the error is.
func (e *Error) Unwrap() error { return e.Err }

// Stats counts what Parse read.
type Stats struct {
	// Entries is the number of distinct members passed to fn.
	Entries int
	// Duplicates is the number of entries skipped because the same key
	// came earlier in the file.
	Duplicates int
	// Skipped is the number of lines and rows that hold no member: blank
	// lines, comments (#), the header row, the bulk template's version row
	// and rows whose every cell is empty.
	Skipped int
}

// Parse reads the member list r, calling fn once per distinct member in
// file order, and returns what it counted. name is the file's name, used
// only in messages.
//
// A file is one UPN or object id per line, or CSV. A header row is
// optional: a first row whose first value is a UPN or an object id is data
// (and then every row holds one value), otherwise the first row must name
// the member column: userPrincipalName, UPN, "User principal name", id,
// objectId or "Object ID" (case and spaces ignored; a bulk template's
// "... [memberObjectIdOrUpn] Required" counts by its bracketed name). With
// both a UPN and an id column, the UPN is used and the id only where the
// UPN cell is empty. Values are trimmed; UPNs and object ids are compared
// without regard to case. Blank lines and lines starting with # are
// skipped, a UTF-8 byte order mark and CRLF line endings are fine, and
// quoted fields follow RFC 4180 (a field may span lines).
//
// Parse stops at the first problem and returns it as an *Error (the
// entries before it have been passed to fn). An error from fn stops Parse
// too and is returned wrapped with the file and line; an error reading r is
// returned wrapped with the file name.
func Parse(name string, r io.Reader, fn func(Entry) error) (Stats, error) {
	return parse(name, r, fn, MaxEntries)
}

// parse is Parse with the entry limit as a parameter, for tests.
func parse(name string, r io.Reader, fn func(Entry) error, maxEntries int) (Stats, error) {
	p := &parser{name: name, seen: newKeySet(), maxEntries: maxEntries}
	p.lines = &lineReader{p: p, br: bufio.NewReaderSize(r, 4096)}
	cr := csv.NewReader(p.lines)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true // `alice@contoso.com, "bob@contoso.com"`
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return p.stats, nil
		}
		if err != nil {
			return p.stats, p.readError(err)
		}
		if err := p.record(cr, rec, fn); err != nil {
			return p.stats, err
		}
	}
}

// parser holds Parse's state between records.
type parser struct {
	name       string
	maxEntries int
	lines      *lineReader
	stats      Stats
	seen       *keySet
	// started is set once the header (or the first data row) is read;
	// cols are then the member columns in order of preference, and
	// headerless says the file has no header (one value per row).
	started    bool
	versionRow bool
	cols       []int
	colNames   string
	headerless bool
}

func (p *parser) errorf(line int, sentinel error, fix, format string, args ...any) *Error {
	return &Error{File: p.name, Line: line, Message: fmt.Sprintf(format, args...), Fix: fix, Err: sentinel}
}

func (p *parser) record(cr *csv.Reader, rec []string, fn func(Entry) error) error {
	line, _ := cr.FieldPos(0)
	if blankRow(rec) {
		p.stats.Skipped++
		return nil
	}
	if !p.started {
		return p.first(cr, rec, line, fn)
	}
	col := -1
	for _, c := range p.cols {
		if c < len(rec) && strings.TrimSpace(rec[c]) != "" {
			col = c
			break
		}
	}
	if col < 0 {
		return p.errorf(line, ErrInvalidEntry, "fill it in or delete the line", "this row has no value in the %s column", p.colNames)
	}
	if p.headerless {
		for i, v := range rec {
			if i != col && strings.TrimSpace(v) != "" {
				return p.errorf(line, ErrFormat, "put one UPN or object id on each line, or add a header row that names the member column (userPrincipalName or id)",
					"this line holds more than one value (%s and %s)", clip(rec[col]), clip(v))
			}
		}
	}
	at, _ := cr.FieldPos(col)
	return p.entry(at, rec[col], len(rec) > 1, fn)
}

// first handles the first row that is not blank: the bulk template's
// version row, a header, or the first entry of a headerless list.
func (p *parser) first(cr *csv.Reader, rec []string, line int, fn func(Entry) error) error {
	c0 := strings.TrimSpace(rec[0])
	if !p.versionRow && strings.HasPrefix(strings.ToLower(c0), "version:") {
		// The Entra bulk-import template starts with "version:v1.0".
		p.versionRow = true
		p.stats.Skipped++
		return nil
	}
	if cols, names := headerColumns(rec); len(cols) > 0 {
		p.started, p.cols, p.colNames = true, cols, names
		p.stats.Skipped++
		return nil
	}
	if _, _, ok := Classify(c0); ok {
		p.started, p.cols, p.colNames, p.headerless = true, []int{0}, "first", true
		return p.record(cr, rec, fn)
	}
	if len(rec) == 1 && strings.ContainsAny(c0, ";\t") {
		return p.errorf(line, ErrFormat, "save it as CSV with commas (Excel: Save As > CSV UTF-8 (Comma delimited)), or put one UPN or object id on each line",
			"the first row (%s) separates its values with semicolons or tabs, not commas", clip(c0))
	}
	if len(rec) == 1 {
		_, _, why := classify(c0)
		fix := "fix or delete the line"
		if !strings.Contains(c0, "@") {
			// It may be meant as a header.
			fix += ", or name the column userPrincipalName or id if this is a header"
		}
		return p.errorf(line, ErrInvalidEntry, fix, "%s %s", clip(c0), why)
	}
	return p.errorf(line, ErrFormat, "add a header row naming the member column userPrincipalName (or UPN) or id (or objectId), or rename the column that holds them",
		"the first row (%s) names no member column and does not start with a UPN or object id", clipRow(rec))
}

// entry classifies one value and passes it on unless it is a duplicate.
// clone copies the key out of the record's memory, which a multi-column
// row shares with its other fields, so a caller that keeps keys does not
// keep whole rows.
func (p *parser) entry(line int, v string, clone bool, fn func(Entry) error) error {
	key, kind, why := classify(v)
	if why != "" {
		return p.errorf(line, ErrInvalidEntry, "fix or delete the line", "%s %s", clip(v), why)
	}
	if !p.seen.add(key) {
		p.stats.Duplicates++
		return nil
	}
	if p.stats.Entries == p.maxEntries {
		return p.errorf(line, ErrLimit, "split the list into several files, one per wave",
			"the list has more than %d members", p.maxEntries)
	}
	p.stats.Entries++
	if clone {
		key = strings.Clone(key)
	}
	if err := fn(Entry{Line: line, Key: key, Kind: kind}); err != nil {
		return fmt.Errorf("%s:%d: %w", p.name, line, err)
	}
	return nil
}

// readError turns what csv.Reader returned into Parse's error: the line
// reader's own *Error, a quoting mistake, or a read error.
func (p *parser) readError(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrBareQuote):
			return p.errorf(pe.Line, ErrFormat, `remove the quote, or put the whole value in quotes and double each quote inside it ("...""...")`,
				"a double quote (\") in the middle of a value")
		case errors.Is(pe.Err, csv.ErrQuote):
			return p.errorf(pe.StartLine, ErrFormat, `end the quoted value with a quote followed by a comma or the end of the line, and double each quote inside it`,
				"a quoted value is not closed, or has text after its closing quote")
		}
		return p.errorf(pe.Line, ErrFormat, "save the file as plain CSV", "%v", pe.Err)
	}
	return fmt.Errorf("read %s: %w", p.name, err)
}

// Header names of the member column, normalized (lower case, no spaces).
var (
	upnHeaders = map[string]bool{"userprincipalname": true, "upn": true}
	idHeaders  = map[string]bool{"id": true, "objectid": true}
	// The group bulk-import template's column takes either.
	eitherHeaders = map[string]bool{"memberobjectidorupn": true}
)

// headerColumns returns the member columns rec names, UPN columns first,
// and their names for messages; none when rec is not a header.
func headerColumns(rec []string) ([]int, string) {
	var upn, id, either []int
	for i, h := range rec {
		switch n := normalizeHeader(h); {
		case upnHeaders[n]:
			upn = append(upn, i)
		case idHeaders[n]:
			id = append(id, i)
		case eitherHeaders[n]:
			either = append(either, i)
		}
	}
	// One column of each kind: a second UPN column would be ambiguous,
	// and the first is the one an export has.
	var cols []int
	var names []string
	for _, set := range [][]int{upn, either, id} {
		if len(set) > 0 {
			cols = append(cols, set[0])
			names = append(names, strconv.Quote(strings.TrimSpace(rec[set[0]])))
		}
	}
	return cols, strings.Join(names, " or ")
}

// normalizeHeader lower-cases h and drops its spaces; a template heading
// such as "Member object ID or user principal name [memberObjectIdOrUpn]
// Required" becomes its bracketed property name.
func normalizeHeader(h string) string {
	if i := strings.IndexByte(h, '['); i >= 0 {
		if j := strings.IndexByte(h[i:], ']'); j > 0 {
			h = h[i+1 : i+j]
		}
	}
	h = strings.ToLower(h)
	return strings.Map(func(r rune) rune {
		if r == ' ' {
			return -1
		}
		return r
	}, h)
}

func blankRow(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// clip quotes a value for a message, shortened so a long line stays readable.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 80 {
		cut := 77
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return strconv.Quote(s)
}

func clipRow(rec []string) string {
	var parts []string
	for i, v := range rec {
		if i == 4 {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, clip(v))
	}
	return strings.Join(parts, ", ")
}

// keySet remembers the keys seen, to skip duplicates. It stores 128 bits
// of two seeded hashes per key instead of the key itself: a pointer-free
// map of 16-byte keys costs about 20 bytes a member (40 MB at MaxEntries)
// and nothing for the garbage collector to scan, where a map of strings
// would hold every key and cost two to three times as much. The seeds are
// random per Parse, so no file can be built to collide; by chance two
// different members collide with probability about n²/2¹²⁹ (10⁻²⁶ at two
// million), far below any other failure.
type keySet struct {
	s1, s2 maphash.Seed
	m      map[[2]uint64]struct{}
}

func newKeySet() *keySet {
	return &keySet{s1: maphash.MakeSeed(), s2: maphash.MakeSeed(), m: map[[2]uint64]struct{}{}}
}

// add reports whether key is new.
func (k *keySet) add(key string) bool {
	h := [2]uint64{maphash.String(k.s1, key), maphash.String(k.s2, key)}
	if _, ok := k.m[h]; ok {
		return false
	}
	k.m[h] = struct{}{}
	return true
}

// lineReader feeds csv.Reader one physical line at a time. On the way it
// enforces MaxLineBytes and UTF-8, drops a byte order mark, and turns blank
// and comment lines outside a quoted field into empty lines, which
// csv.Reader skips while still counting them, so line numbers stay those
// of the file.
type lineReader struct {
	p   *parser
	br  *bufio.Reader
	n   int    // lines read
	cur []byte // what is left of the current line
	// inQuote is set while a quoted field continues onto the next line:
	// an odd number of quotes so far (RFC 4180 doubles a quote inside a
	// field; a stray one is csv.Reader's error before it matters here).
	inQuote bool
	err     error
}

var newline = []byte{'\n'}

func (l *lineReader) Read(b []byte) (int, error) {
	for len(l.cur) == 0 {
		if l.err != nil {
			return 0, l.err
		}
		l.next()
	}
	n := copy(b, l.cur)
	l.cur = l.cur[n:]
	return n, nil
}

func (l *lineReader) next() {
	line, err := l.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		l.err = l.tooLong(l.n + 1)
		return
	case err != nil && err != io.EOF:
		l.err = err
		// A partial line before a read error is not worth reading.
		return
	case err == io.EOF:
		l.err = io.EOF
		if len(line) == 0 {
			return
		}
	}
	l.n++
	if l.n == 1 {
		if bytes.HasPrefix(line, []byte{0xFF, 0xFE}) || bytes.HasPrefix(line, []byte{0xFE, 0xFF}) {
			l.err = l.p.errorf(1, ErrEncoding, "save it as UTF-8 (Excel: Save As > CSV UTF-8; PowerShell: Export-Csv -Encoding utf8)", "the file is UTF-16, not UTF-8")
			return
		}
		line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
	}
	content := bytes.TrimSuffix(bytes.TrimSuffix(line, newline), []byte{'\r'})
	if len(content) > MaxLineBytes {
		l.err = l.tooLong(l.n)
		return
	}
	if !utf8.Valid(content) {
		l.err = l.p.errorf(l.n, ErrEncoding, "save the file as UTF-8 (Excel: Save As > CSV UTF-8; PowerShell: Export-Csv -Encoding utf8)", "the line is not valid UTF-8")
		return
	}
	if !l.inQuote {
		if t := bytes.TrimSpace(content); len(t) == 0 || t[0] == '#' {
			l.p.stats.Skipped++
			if len(content) < len(line) {
				l.cur = newline
			}
			return
		}
	}
	if bytes.Count(content, []byte{'"'})%2 == 1 {
		l.inQuote = !l.inQuote
	}
	l.cur = line
}

func (l *lineReader) tooLong(line int) *Error {
	return l.p.errorf(line, ErrLimit, "put one member on each line, or remove the columns the list does not need",
		"the line is longer than %d bytes", MaxLineBytes)
}
