package memberlist

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// collect parses doc and returns the entries as "line:kind:key".
func collect(t *testing.T, doc string) ([]string, Stats, error) {
	t.Helper()
	var got []string
	st, err := Parse("waves/hr.csv", strings.NewReader(doc), func(e Entry) error {
		got = append(got, fmt.Sprintf("%d:%s:%s", e.Line, e.Kind, e.Key))
		return nil
	})
	return got, st, err
}

const guid = "6E0A4C52-9B3D-4F1E-8A7C-1D2E3F405162"

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		want  []string
		stats Stats
	}{
		{"one per line", "alice@contoso.com\nBob@Contoso.com\n", []string{"1:upn:alice@contoso.com", "2:upn:bob@contoso.com"}, Stats{Entries: 2}},
		{"no final newline", "alice@contoso.com", []string{"1:upn:alice@contoso.com"}, Stats{Entries: 1}},
		{"object ids", guid + "\n" + strings.ToLower(guid) + "\n", []string{"1:objectId:" + strings.ToLower(guid)}, Stats{Entries: 1, Duplicates: 1}},
		{"mixed kinds headerless", "alice@contoso.com\n" + guid + "\n", []string{"1:upn:alice@contoso.com", "2:objectId:" + strings.ToLower(guid)}, Stats{Entries: 2}},
		{"apostrophe", "o'brien@contoso.com\nO'Brien@contoso.com\n", []string{"1:upn:o'brien@contoso.com"}, Stats{Entries: 1, Duplicates: 1}},
		{"guest upn", "user0001_fabrikam.com#EXT#@contoso.onmicrosoft.com\n", []string{"1:upn:user0001_fabrikam.com#ext#@contoso.onmicrosoft.com"}, Stats{Entries: 1}},
		{"trimmed", "  alice@contoso.com \t\n", []string{"1:upn:alice@contoso.com"}, Stats{Entries: 1}},
		{"blank lines and comments", "# HR wave, March\n\nalice@contoso.com\n   \n  # a note with \"quotes\"\nbob@contoso.com\n", []string{"3:upn:alice@contoso.com", "6:upn:bob@contoso.com"}, Stats{Entries: 2, Skipped: 4}},
		{"BOM", "\xEF\xBB\xBFalice@contoso.com\n", []string{"1:upn:alice@contoso.com"}, Stats{Entries: 1}},
		{"BOM before header", "\xEF\xBB\xBFuserPrincipalName\nalice@contoso.com\n", []string{"2:upn:alice@contoso.com"}, Stats{Entries: 1, Skipped: 1}},
		{"CRLF", "userPrincipalName,displayName\r\nalice@contoso.com,Alice\r\n\r\nbob@contoso.com,Bob\r\n", []string{"2:upn:alice@contoso.com", "4:upn:bob@contoso.com"}, Stats{Entries: 2, Skipped: 2}},
		{"quoted fields", "\"displayName\",\"userPrincipalName\"\n\"Smith, Bob\",\"bob@contoso.com\"\n\"O'Brien, \"\"Pat\"\"\",\"o'brien@contoso.com\"\n",
			[]string{"2:upn:bob@contoso.com", "3:upn:o'brien@contoso.com"}, Stats{Entries: 2, Skipped: 1}},
		{"quoted field spanning lines", "userPrincipalName,streetAddress\nalice@contoso.com,\"1 Main St\n\n# not a comment\nSpringfield\"\nbob@contoso.com,x\n",
			[]string{"2:upn:alice@contoso.com", "6:upn:bob@contoso.com"}, Stats{Entries: 2, Skipped: 1}},
		{"header UPN", "UPN\nalice@contoso.com\n", []string{"2:upn:alice@contoso.com"}, Stats{Entries: 1, Skipped: 1}},
		{"header with spaces", "Display name,User principal name\nAlice,alice@contoso.com\n", []string{"2:upn:alice@contoso.com"}, Stats{Entries: 1, Skipped: 1}},
		{"header id", "id,displayName\n" + guid + ",Alice\n", []string{"2:objectId:" + strings.ToLower(guid)}, Stats{Entries: 1, Skipped: 1}},
		{"header Object ID", "Object ID,Name\n" + guid + ",Alice\n", []string{"2:objectId:" + strings.ToLower(guid)}, Stats{Entries: 1, Skipped: 1}},
		{"header objectId", "objectId\n" + guid + "\n", []string{"2:objectId:" + strings.ToLower(guid)}, Stats{Entries: 1, Skipped: 1}},
		{"UPN preferred over id", "objectId,userPrincipalName\n" + guid + ",alice@contoso.com\n", []string{"2:upn:alice@contoso.com"}, Stats{Entries: 1, Skipped: 1}},
		{"id where the UPN is empty", "userPrincipalName,id\n," + guid + "\n", []string{"2:objectId:" + strings.ToLower(guid)}, Stats{Entries: 1, Skipped: 1}},
		{"Entra download users", "userPrincipalName,displayName,surname,mail,givenName,objectId,userType,jobTitle,department,accountEnabled\n" +
			"alice@contoso.com,Alice Vance,Vance,alice@contoso.com,Alice," + guid + ",Member,,Sales,True\n",
			[]string{"2:upn:alice@contoso.com"}, Stats{Entries: 1, Skipped: 1}},
		{"bulk import template", "version:v1.0\nMember object ID or user principal name [memberObjectIdOrUpn] Required\nalice@contoso.com\n" + guid + "\n",
			[]string{"3:upn:alice@contoso.com", "4:objectId:" + strings.ToLower(guid)}, Stats{Entries: 2, Skipped: 2}},
		{"empty rows of a spreadsheet", "userPrincipalName,department\nalice@contoso.com,Sales\n,\n,,\n", []string{"2:upn:alice@contoso.com"}, Stats{Entries: 1, Skipped: 3}},
		{"duplicates across columns kinds", "userPrincipalName\nalice@contoso.com\nALICE@contoso.com\nbob@contoso.com\nalice@contoso.com\n",
			[]string{"2:upn:alice@contoso.com", "4:upn:bob@contoso.com"}, Stats{Entries: 2, Duplicates: 2, Skipped: 1}},
		{"trailing comma without header", "alice@contoso.com,\nbob@contoso.com,,\n", []string{"1:upn:alice@contoso.com", "2:upn:bob@contoso.com"}, Stats{Entries: 2}},
		{"leading space before quote", "userPrincipalName, displayName\n\"alice@contoso.com\", \"Vance, Alice\"\n", []string{"2:upn:alice@contoso.com"}, Stats{Entries: 1, Skipped: 1}},
		{"empty", "", nil, Stats{}},
		{"only comments", "# nothing yet\n\n", nil, Stats{Skipped: 2}},
		{"header only", "userPrincipalName\n", nil, Stats{Skipped: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st, err := collect(t, tt.doc)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("entries = %q, want %q", got, tt.want)
			}
			if st != tt.stats {
				t.Errorf("stats = %+v, want %+v", st, tt.stats)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("a", MaxLineBytes-len("@contoso.com")+1) + "@contoso.com"
	tests := []struct {
		name     string
		doc      string
		sentinel error
		want     string // the whole Error()
		entries  int    // passed to fn before the error
	}{
		{"not a member", "alice@contoso.com\nbob@contoso.com\n\nbob smith\n", ErrInvalidEntry,
			`waves/hr.csv:4: "bob smith" is neither a UPN (name@domain) nor an object id (GUID); fix or delete the line`, 2},
		{"first line not a member", "alice\n", ErrInvalidEntry,
			`waves/hr.csv:1: "alice" is neither a UPN (name@domain) nor an object id (GUID); fix or delete the line, or name the column userPrincipalName or id if this is a header`, 0},
		{"accent", "alice@contoso.com\njosé@contoso.com\n", ErrInvalidEntry,
			`waves/hr.csv:2: "josé@contoso.com" has a character Entra does not allow in a UPN before the @ (only letters A-Z, digits and ' . - _ ! # ^ ~); fix or delete the line`, 1},
		{"display name and address", "userPrincipalName\n\"Bob Smith <bob@contoso.com>\"\n", ErrInvalidEntry,
			`waves/hr.csv:2: "Bob Smith <bob@contoso.com>" has a character Entra does not allow in a UPN before the @ (only letters A-Z, digits and ' . - _ ! # ^ ~); fix or delete the line`, 0},
		{"two at signs", "a@b@contoso.com\n", ErrInvalidEntry, `waves/hr.csv:1: "a@b@contoso.com" has more than one @, so it is not a UPN (name@domain); fix or delete the line`, 0},
		{"no domain", "userPrincipalName\nalice@contoso\n", ErrInvalidEntry,
			`waves/hr.csv:2: "alice@contoso" does not end in a domain name after the @ (such as contoso.com), so it is not a UPN; fix or delete the line`, 0},
		{"dot before at", "alice.@contoso.com\n", ErrInvalidEntry, `waves/hr.csv:1: "alice.@contoso.com" has a . right before the @, which Entra does not allow in a UPN; fix or delete the line`, 0},
		{"too long for a UPN", "userPrincipalName\n" + strings.Repeat("a", 65) + "@contoso.com\n", ErrInvalidEntry, "", 0},
		{"empty member cell", "userPrincipalName,displayName\nalice@contoso.com,Alice\n,Bob\n", ErrInvalidEntry,
			`waves/hr.csv:3: this row has no value in the "userPrincipalName" column; fill it in or delete the line`, 1},
		{"empty cells of both columns", "User principal name,Object ID,Name\n,,Bob\n", ErrInvalidEntry,
			`waves/hr.csv:2: this row has no value in the "User principal name" or "Object ID" column; fill it in or delete the line`, 0},
		{"no member column", "Name,Email\nBob,bob@contoso.com\n", ErrFormat,
			`waves/hr.csv:1: the first row ("Name", "Email") names no member column and does not start with a UPN or object id; add a header row naming the member column userPrincipalName (or UPN) or id (or objectId), or rename the column that holds them`, 0},
		{"several values without a header", "alice@contoso.com\nbob@contoso.com,carol@contoso.com\n", ErrFormat,
			`waves/hr.csv:2: this line holds more than one value ("bob@contoso.com" and "carol@contoso.com"); put one UPN or object id on each line, or add a header row that names the member column (userPrincipalName or id)`, 1},
		{"semicolons", "userPrincipalName;displayName\nalice@contoso.com;Alice\n", ErrFormat,
			`waves/hr.csv:1: the first row ("userPrincipalName;displayName") separates its values with semicolons or tabs, not commas; save it as CSV with commas (Excel: Save As > CSV UTF-8 (Comma delimited)), or put one UPN or object id on each line`, 0},
		{"bare quote", "userPrincipalName,displayName\nalice@contoso.com,Alice \"Al\" Vance\n", ErrFormat,
			`waves/hr.csv:2: a double quote (") in the middle of a value; remove the quote, or put the whole value in quotes and double each quote inside it ("...""...")`, 0},
		{"unclosed quote", "userPrincipalName,displayName\nalice@contoso.com,Alice\nbob@contoso.com,\"Bob\n\ncarol@contoso.com,Carol\n", ErrFormat,
			`waves/hr.csv:3: a quoted value is not closed, or has text after its closing quote; end the quoted value with a quote followed by a comma or the end of the line, and double each quote inside it`, 1},
		{"invalid UTF-8", "alice@contoso.com\nbob\xff@contoso.com\n", ErrEncoding,
			`waves/hr.csv:2: the line is not valid UTF-8; save the file as UTF-8 (Excel: Save As > CSV UTF-8; PowerShell: Export-Csv -Encoding utf8)`, 1},
		{"invalid UTF-8 in a comment", "# caf\xe9\nalice@contoso.com\n", ErrEncoding, "", 0},
		{"UTF-16", "\xFF\xFEa\x00@\x00", ErrEncoding,
			`waves/hr.csv:1: the file is UTF-16, not UTF-8; save it as UTF-8 (Excel: Save As > CSV UTF-8; PowerShell: Export-Csv -Encoding utf8)`, 0},
		{"line too long", "alice@contoso.com\n" + long + "\n", ErrLimit,
			fmt.Sprintf("waves/hr.csv:2: the line is longer than %d bytes; put one member on each line, or remove the columns the list does not need", MaxLineBytes), 1},
		{"line far too long", "alice@contoso.com\nbob@contoso.com\n" + strings.Repeat("x", 100_000), ErrLimit,
			fmt.Sprintf("waves/hr.csv:3: the line is longer than %d bytes; put one member on each line, or remove the columns the list does not need", MaxLineBytes), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := collect(t, tt.doc)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tt.sentinel) {
				t.Fatalf("Parse = %v, want an *Error wrapping %v", err, tt.sentinel)
			}
			if e.File != "waves/hr.csv" || e.Line == 0 || e.Fix == "" {
				t.Errorf("error lacks file, line or fix: %+v", e)
			}
			if tt.want != "" && err.Error() != tt.want {
				t.Errorf("Error() =\n%s\nwant\n%s", err, tt.want)
			}
			if len(got) != tt.entries {
				t.Errorf("%d entries before the error, want %d: %q", len(got), tt.entries, got)
			}
		})
	}
}

// TestParseLinePositions: a line just at the limit is fine, and lines are
// counted the same whatever comes before (BOM, CRLF, quoted newlines).
func TestParseLinePositions(t *testing.T) {
	ok := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 44) + ".co"
	doc := "\xEF\xBB\xBF# list\r\nUPN,note\r\n" + ok + "," + strings.Repeat("x", MaxLineBytes-len(ok)-1) + "\r\n"
	got, _, err := collect(t, doc)
	if err != nil || len(got) != 1 || !strings.HasPrefix(got[0], "3:upn:") {
		t.Fatalf("Parse = %q, %v; want one entry at line 3", got, err)
	}
}

func TestParseLimitEntries(t *testing.T) {
	doc := "a@contoso.com\nb@contoso.com\na@contoso.com\nc@contoso.com\nd@contoso.com\n"
	n := 0
	_, err := parse("big.txt", strings.NewReader(doc), func(Entry) error { n++; return nil }, 3)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrLimit) || e.Line != 5 || n != 3 {
		t.Fatalf("parse = %v after %d entries, want ErrLimit at line 5 after 3", err, n)
	}
	if want := "big.txt:5: the list has more than 3 members; split the list into several files, one per wave"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

func TestParseCallbackError(t *testing.T) {
	stop := errors.New("stop here")
	st, err := Parse("list.txt", strings.NewReader("a@contoso.com\nb@contoso.com\nc@contoso.com\n"), func(e Entry) error {
		if e.Key == "b@contoso.com" {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || err.Error() != "list.txt:2: stop here" || st.Entries != 2 {
		t.Fatalf("Parse = %+v, %v; want the callback's error at line 2", st, err)
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestParseReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader("a@contoso.com\n"), failingReader{boom})
	st, err := Parse("list.txt", r, func(Entry) error { return nil })
	var e *Error
	if !errors.Is(err, boom) || errors.As(err, &e) || !strings.HasPrefix(err.Error(), "read list.txt: ") || st.Entries != 1 {
		t.Fatalf("Parse = %+v, %v; want the read error wrapped with the file name", st, err)
	}
}

// TestParseLarge: 500,000 Entra-export rows (about 20 MB) stream through,
// generated on the fly so the test itself holds no file.
func TestParseLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	const n = 500_000
	r := &generator{n: n, header: "userPrincipalName,displayName,department\n",
		row: func(i int) string {
			return fmt.Sprintf("user%06d@contoso.onmicrosoft.com,User %06d,Department %d\n", i, i, i%40)
		}}
	last := 0
	st, err := Parse("big.csv", r, func(e Entry) error {
		if e.Line != last+1 && last != 0 || e.Kind != UPN {
			return fmt.Errorf("entry %+v after line %d", e, last)
		}
		last = e.Line
		return nil
	})
	if err != nil || st != (Stats{Entries: n, Skipped: 1}) || last != n+1 {
		t.Fatalf("Parse = %+v, %v (last line %d)", st, err, last)
	}
	if r.bytes < 20_000_000 {
		t.Errorf("generated %d bytes, want about 20 MB", r.bytes)
	}
}

// generator is an io.Reader that writes a header and n rows.
type generator struct {
	n, i   int
	header string
	row    func(int) string
	buf    []byte
	bytes  int
}

func (g *generator) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		switch {
		case g.header != "":
			g.buf, g.header = []byte(g.header), ""
		case g.i < g.n:
			g.i++
			g.buf = []byte(g.row(g.i))
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	g.bytes += n
	return n, nil
}

func TestClassify(t *testing.T) {
	tests := []struct {
		in, key string
		kind    Kind
		ok      bool
	}{
		{"Alice@Contoso.com", "alice@contoso.com", UPN, true},
		{" o'brien@contoso.com ", "o'brien@contoso.com", UPN, true},
		{"a.b-c_d!e#f^g~h@sub.contoso.co.uk", "a.b-c_d!e#f^g~h@sub.contoso.co.uk", UPN, true},
		{guid, strings.ToLower(guid), ObjectID, true},
		{"{" + guid + "}", "", 0, false},
		{"6E0A4C52-9B3D-4F1E-8A7C-1D2E3F40516", "", 0, false},
		{"6E0A4C52x9B3D-4F1E-8A7C-1D2E3F405162", "", 0, false},
		{"alice@-contoso.com", "", 0, false},
		{"alice@contoso..com", "", 0, false},
		{"alice@contoso.com.", "", 0, false},
		{"@contoso.com", "", 0, false},
		{"alice@", "", 0, false},
		{"alice smith@contoso.com", "", 0, false},
		{"", "", 0, false},
	}
	for _, tt := range tests {
		key, kind, ok := Classify(tt.in)
		if key != tt.key || kind != tt.kind || ok != tt.ok {
			t.Errorf("Classify(%q) = %q, %v, %v; want %q, %v, %v", tt.in, key, kind, ok, tt.key, tt.kind, tt.ok)
		}
	}
	if UPN.String() != "upn" || ObjectID.String() != "objectId" || Kind(0).String() != "unknown" {
		t.Errorf("Kind.String: %s %s %s", UPN, ObjectID, Kind(0))
	}
}

// TestExampleFiles: the member files the example plans select parse, and
// the HR wave's apostrophe survives.
func TestExampleFiles(t *testing.T) {
	files, err := filepath.Glob("../../examples/waves/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example member files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			var keys []string
			st, err := Parse(f, r, func(e Entry) error { keys = append(keys, e.Key); return nil })
			if err != nil || st.Entries == 0 || st.Duplicates != 0 {
				t.Fatalf("Parse = %+v, %v", st, err)
			}
			if filepath.Base(f) == "hr-wave.csv" && !slices.Contains(keys, "o'brien@contoso.onmicrosoft.com") {
				t.Errorf("hr-wave.csv lost o'brien: %q", keys)
			}
		})
	}
}
