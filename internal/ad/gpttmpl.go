package ad

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
)

// GptTmplPath is GptTmpl.inf's path inside a GPO's gPCFileSysPath.
const GptTmplPath = `MACHINE\Microsoft\Windows NT\SecEdit\GptTmpl.inf`

// GptTmpl is what ssprflow reads from a GPO's GptTmpl.inf.
type GptTmpl struct {
	// MinimumPasswordAge is [System Access] MinimumPasswordAge in days,
	// nil when the GPO does not set it.
	MinimumPasswordAge *int
}

// ParseGptTmpl parses a GptTmpl.inf security template: UTF-16LE with BOM and
// CRLF as Windows writes it, or ASCII/UTF-8 with LF as samba-tool does.
func ParseGptTmpl(data []byte) (GptTmpl, error) {
	text, err := decodeINF(data)
	if err != nil {
		return GptTmpl{}, err
	}
	var t GptTmpl
	section := ""
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return GptTmpl{}, fmt.Errorf("GptTmpl.inf line %d: unterminated section header %q", n+1, line)
			}
			section = strings.TrimSpace(line[1:end])
			continue
		}
		if !strings.EqualFold(section, "System Access") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return GptTmpl{}, fmt.Errorf("GptTmpl.inf line %d: %q is not key = value", n+1, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if strings.EqualFold(k, "MinimumPasswordAge") {
			days, err := strconv.Atoi(v)
			if err != nil || days < 0 || days > 999 {
				return GptTmpl{}, fmt.Errorf("GptTmpl.inf line %d: MinimumPasswordAge %q is not 0-999 days", n+1, v)
			}
			t.MinimumPasswordAge = &days
		}
	}
	return t, nil
}

func decodeINF(b []byte) (string, error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return decodeUTF16LE(b[2:])
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return string(b[3:]), nil
	case len(b) >= 2 && b[0] != 0 && b[1] == 0:
		// UTF-16LE without BOM.
		return decodeUTF16LE(b)
	}
	return string(b), nil
}

func decodeUTF16LE(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", errors.New("GptTmpl.inf: UTF-16 text has an odd number of bytes")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u)), nil
}
