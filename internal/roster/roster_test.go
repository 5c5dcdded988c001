package roster_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ssprflow/ssprflow/internal/roster"
)

func TestRoundTrip(t *testing.T) {
	in := []roster.Entry{
		{Mark: roster.Add, ID: "0b8f6b2e-0000-4000-8000-000000000001", UPN: "o'brien@contoso.com"},
		{Mark: roster.Member, ID: "0b8f6b2e-0000-4000-8000-000000000002", UPN: "alice@contoso.com"},
		{Mark: roster.Missing, ID: "ghost@contoso.com"},
		{Mark: roster.Excluded, ID: "0b8f6b2e-0000-4000-8000-000000000003", UPN: "bg1@contoso.com", Reason: "group:Break Glass"},
	}
	var buf bytes.Buffer
	w, err := roster.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range in {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Counts != (roster.Counts{Add: 1, Member: 1, Missing: 1, Excluded: 1}) {
		t.Fatalf("counts %+v", w.Counts)
	}
	var out []roster.Entry
	if err := roster.Read(&buf, func(e roster.Entry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("read back\n%+v\nwant\n%+v", out, in)
	}
}

func TestReadRefusesMalformed(t *testing.T) {
	for name, text := range map[string]string{
		"empty":        "",
		"no header":    "+ id upn\n",
		"bad mark":     roster.Header + "\n* id upn\n",
		"add no upn":   roster.Header + "\n+ id\n",
		"exclude bare": roster.Header + "\n- id upn\n",
		"no space":     roster.Header + "\n+id upn\n",
	} {
		t.Run(name, func(t *testing.T) {
			err := roster.Read(strings.NewReader(text), func(roster.Entry) error { return nil })
			if !errors.Is(err, roster.ErrFormat) {
				t.Fatalf("got %v, want ErrFormat", err)
			}
		})
	}
}

func TestWriteRefusesSpaces(t *testing.T) {
	w, _ := roster.NewWriter(&bytes.Buffer{})
	if err := w.Write(roster.Entry{Mark: roster.Add, ID: "a b", UPN: "x@y"}); err == nil {
		t.Fatal("an id with a space was written")
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(roster.Header + "\n+ a b\n= c d\n? e\n- f g h i\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var entries []roster.Entry
		if roster.Read(bytes.NewReader(data), func(e roster.Entry) error { entries = append(entries, e); return nil }) != nil {
			return
		}
		// What was read writes back and reads the same.
		var buf bytes.Buffer
		w, _ := roster.NewWriter(&buf)
		for _, e := range entries {
			if err := w.Write(e); err != nil {
				return
			}
		}
		_ = w.Flush()
		var again []roster.Entry
		if err := roster.Read(&buf, func(e roster.Entry) error { again = append(again, e); return nil }); err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if !reflect.DeepEqual(entries, again) {
			t.Fatalf("round trip changed entries")
		}
	})
}
