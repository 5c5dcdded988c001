package writeback

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"
)

func TestParseOutput(t *testing.T) {
	tests := []struct {
		name     string
		stdout   string
		stderr   string
		exit     int
		wantData string
		wantWarn int
		wantErr  error
		wantMsg  string
	}{
		{name: "envelope", stdout: `{"ok":true,"data":[{"a":1}]}`, wantData: `[{"a":1}]`},
		{name: "single object", stdout: `{"ok":true,"data":{"a":1}}`, wantData: `[{"a":1}]`},
		{name: "null data", stdout: `{"ok":true,"data":null}`, wantData: `[]`},
		{name: "bom crlf warnings", stdout: "\uFEFFWARNING: module is old\r\nWARNING: again\r\n{\"ok\":true,\"data\":[1]}\r\n", wantData: `[1]`, wantWarn: 2},
		{name: "utf16 bom", stdout: "\xff\xfe{\x00\"\x00o\x00k\x00\"\x00:\x00t\x00r\x00u\x00e\x00,\x00\"\x00d\x00a\x00t\x00a\x00\"\x00:\x00[\x002\x00]\x00}\x00", wantData: `[2]`},
		{name: "pretty", stdout: "{\r\n    \"ok\":  true,\r\n    \"data\":  [\r\n        3\r\n    ]\r\n}\r\n", wantData: "[\n        3\n    ]"},
		{name: "ps51 array wrap", stdout: `{"ok":true,"data":{"value":[{"a":1},{"a":2}],"Count":2}}`, wantData: `[{"a":1},{"a":2}]`},
		{name: "bare json", stdout: "[{\"a\":1}]\r\n", wantData: `[{"a":1}]`},
		{name: "brace in warning", stdout: "{not json\n{\"ok\":true,\"data\":[4]}", wantData: `[4]`, wantWarn: 1},
		{name: "text after", stdout: "{\"ok\":true,\"data\":[5]}\nVERBOSE: done", wantData: `[5]`, wantWarn: 1},
		{name: "empty", stdout: "", wantData: `[]`},
		{name: "error envelope", stdout: `{"ok":false,"error":{"message":"boom","errorId":"X"}}`, exit: 1, wantErr: &ScriptError{}, wantMsg: "boom"},
		{name: "ok envelope but exit 1", stdout: `{"ok":true,"data":[]}`, stderr: "something broke", exit: 1, wantErr: &ScriptError{}, wantMsg: "something broke"},
		{name: "stderr only", stderr: readFile(t, "../writebacksim/recorded/stderr-module-missing.txt"), exit: 1, wantErr: ErrModuleMissing,
			wantMsg: "Import-Module : The specified module 'ADSync' was not loaded because no valid module file was found in any module"},
		{name: "garbage", stdout: "WARNING: reset\n{\"ok\":tr", wantErr: ErrBadOutput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ParseOutput("test", []byte(tt.stdout), []byte(tt.stderr), tt.exit)
			if tt.wantErr != nil {
				if se, ok := tt.wantErr.(*ScriptError); ok {
					if !errors.As(err, &se) {
						t.Fatalf("err = %v, want *ScriptError", err)
					}
					if se.Message != tt.wantMsg {
						t.Errorf("message = %q, want %q", se.Message, tt.wantMsg)
					}
					return
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				var se *ScriptError
				if tt.wantMsg != "" && (!errors.As(err, &se) || se.Message != tt.wantMsg) {
					t.Errorf("message = %+v, want %q", se, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if string(out.Data) != tt.wantData {
				t.Errorf("data = %s, want %s", out.Data, tt.wantData)
			}
			if len(out.Warnings) != tt.wantWarn {
				t.Errorf("warnings = %q, want %d", out.Warnings, tt.wantWarn)
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFlexValues(t *testing.T) {
	var b struct {
		A, B, C, D flexBool
	}
	if err := json.Unmarshal([]byte(`{"A":true,"B":"False","C":1,"D":null}`), &b); err != nil {
		t.Fatal(err)
	}
	if !b.A.Value || b.B.Value || !b.B.Set || !b.C.Value || b.D.Set {
		t.Errorf("flexBool = %+v", b)
	}
	want := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for _, s := range []string{`"2026-11-25T09:00:00.0000000Z"`, `"/Date(1795597200000)/"`, `"2026-11-25T10:00:00+01:00"`} {
		var ft flexTime
		if err := json.Unmarshal([]byte(s), &ft); err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if !ft.Equal(want) {
			t.Errorf("%s = %v, want %v", s, ft.Time, want)
		}
	}
}

func TestScriptErrorClassification(t *testing.T) {
	tests := []struct {
		file string
		want error
		typ  string
	}{
		{"error-module-missing.json", ErrModuleMissing, ErrTypeModuleMissing},
		{"error-not-recognized.json", ErrCmdletNotRecognized, ErrTypeCmdletNotRecognized},
		{"error-access-denied.json", ErrAccessDenied, ErrTypeAccessDenied},
	}
	for _, tt := range tests {
		_, err := ParseOutput("x", []byte(readFile(t, "../writebacksim/recorded/"+tt.file)), nil, 1)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.file, err, tt.want)
		}
		if got := permanentType(err); got != tt.typ {
			t.Errorf("%s: type = %q, want %q", tt.file, got, tt.typ)
		}
	}
}

func FuzzParseOutput(f *testing.F) {
	f.Add([]byte(`{"ok":true,"data":[{"a":1}]}`), []byte(""), 0)
	f.Add([]byte("\uFEFFWARNING: x\r\n{\"ok\":true,\"data\":{\"value\":[1],\"Count\":1}}"), []byte(""), 0)
	f.Add([]byte(`{"ok":false,"error":{"message":"m"}}`), []byte("+ FullyQualifiedErrorId : X"), 1)
	f.Add([]byte("\xff\xfe{\x00"), []byte(""), 0)
	f.Fuzz(func(t *testing.T, stdout, stderr []byte, exit int) {
		out, err := ParseOutput("fuzz", stdout, stderr, exit)
		if err != nil {
			return
		}
		if !json.Valid(out.Data) || out.Data[0] != '[' {
			t.Fatalf("data not a JSON array: %q", out.Data)
		}
		if _, err := decodeList[json.RawMessage](out); err != nil {
			t.Fatalf("decodeList: %v", err)
		}
	})
}
