package ad

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

func utf16LE(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = []byte{0xFF, 0xFE}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// windowsTmpl is GptTmpl.inf as Windows writes it for the Default Domain Policy.
const windowsTmpl = "[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nMinimumPasswordAge = 1\r\nMaximumPasswordAge = 42\r\n" +
	"MinimumPasswordLength = 7\r\nPasswordComplexity = 1\r\nPasswordHistorySize = 24\r\nLockoutBadCount = 0\r\n" +
	"RequireLogonToChangePassword = 0\r\nForceLogoffWhenHourExpire = 0\r\nClearTextPassword = 0\r\nLSAAnonymousNameLookup = 0\r\n" +
	"[Kerberos Policy]\r\nMaxTicketAge = 10\r\n[Version]\r\nsignature=\"$CHICAGO$\"\r\nRevision=1\r\n"

func TestParseGptTmpl(t *testing.T) {
	one, zero, fourteen := 1, 0, 14
	tests := []struct {
		name string
		data []byte
		want *int
		err  string
	}{
		{"windows utf16 bom crlf", utf16LE(windowsTmpl, true), &one, ""},
		{"utf16 without bom", utf16LE(windowsTmpl, false), &one, ""},
		{"samba ascii lf", []byte("[System Access]\nMinimumPasswordAge = 0\nMaximumPasswordAge = 42\n"), &zero, ""},
		{"utf8 bom", append([]byte{0xEF, 0xBB, 0xBF}, "[System Access]\r\nMinimumPasswordAge=14\r\n"...), &fourteen, ""},
		{"case and spaces", []byte("  [system access]  \n  minimumpasswordage   =   14  \n"), &fourteen, ""},
		{"other section only", []byte("[Kerberos Policy]\nMinimumPasswordAge = 3\n"), nil, ""},
		{"not set", []byte("[System Access]\nMaximumPasswordAge = 42\n; comment\n"), nil, ""},
		{"empty", nil, nil, ""},
		{"bad value", []byte("[System Access]\nMinimumPasswordAge = one\n"), nil, "line 2"},
		{"negative", []byte("[System Access]\nMinimumPasswordAge = -1\n"), nil, "0-999"},
		{"no equals", []byte("[System Access]\nMinimumPasswordAge\n"), nil, "key = value"},
		{"unterminated section", []byte("[System Access\n"), nil, "unterminated"},
		{"odd utf16", append(utf16LE("[System Access]", true), 0x41), nil, "odd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseGptTmpl(tt.data)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got.MinimumPasswordAge == nil) != (tt.want == nil) || (tt.want != nil && *got.MinimumPasswordAge != *tt.want) {
				t.Errorf("MinimumPasswordAge = %v, want %v", got.MinimumPasswordAge, tt.want)
			}
		})
	}
}

func TestFromADInterval(t *testing.T) {
	tests := map[string]time.Duration{
		"0":                    0,
		"-864000000000":        24 * time.Hour,
		"-1728000000000":       48 * time.Hour,
		"-36000000000":         time.Hour,
		"-9223372036854775808": time.Duration(1<<63 - 1),
	}
	for in, want := range tests {
		got, err := FromADInterval(in)
		if err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	if _, err := FromADInterval("1 day"); err == nil {
		t.Error("non-number accepted")
	}
}

func TestPasswordAgeVerifyMessages(t *testing.T) {
	r := PasswordAgeReport{DomainDN: "DC=example,DC=test", DomainMinAge: 24 * time.Hour,
		PSOs: []PSO{
			{DN: "CN=Pilot2d,CN=Password Settings Container,CN=System,DC=example,DC=test", Name: "Pilot2d", Precedence: 5,
				MinAge: 48 * time.Hour, AppliesTo: []string{"CN=SSPR Pilot,OU=Groups,DC=example,DC=test"}},
			{Name: "Other", MinAge: 24 * time.Hour, AppliesTo: []string{"CN=Finance,DC=example,DC=test"}},
			{Name: "Zero", AppliesTo: []string{"CN=SSPR Pilot,OU=Groups,DC=example,DC=test"}},
		},
		ScopeGroups: []string{"cn=sspr pilot,ou=groups,dc=example,dc=test"}}
	r.findings()
	r.AddGptTmpl(GptTmpl{MinimumPasswordAge: func() *int { v := 1; return &v }()})
	err := r.Verify()
	var pe *PasswordAgeError
	if !errors.As(err, &pe) || len(pe.Findings) != 3 {
		t.Fatalf("Verify = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"1 day", "gpmc.msc", "Default Domain Policy", DefaultDomainPolicyGUID,
		`Set-ADFineGrainedPasswordPolicy -Identity "Pilot2d" -MinPasswordAge 0`, "2 days", "precedence 5",
		"MinimumPasswordAge = 1", "samba-tool domain passwordsettings set --min-pwd-age=0"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, `"Other"`) {
		t.Errorf("out-of-scope PSO fails verification:\n%s", msg)
	}
	if (PasswordAgeReport{DomainDN: "DC=example,DC=test"}).Verify() != nil {
		t.Error("all-zero report fails")
	}
}

// FuzzParseGptTmpl: never panics; a parsed MinimumPasswordAge survives a
// Windows-style re-encoding.
func FuzzParseGptTmpl(f *testing.F) {
	f.Add(utf16LE(windowsTmpl, true))
	f.Add([]byte("[System Access]\nMinimumPasswordAge = 0\n"))
	f.Add([]byte("[Unicode]\nUnicode=yes\n[System Access]\nMinimumPasswordAge=998\n"))
	f.Add([]byte{0xFF, 0xFE, 0x5B, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseGptTmpl(data)
		if err != nil || got.MinimumPasswordAge == nil {
			return
		}
		again, err := ParseGptTmpl(utf16LE("[System Access]\r\nMinimumPasswordAge = "+
			strconv.Itoa(*got.MinimumPasswordAge)+"\r\n", true))
		if err != nil || again.MinimumPasswordAge == nil || *again.MinimumPasswordAge != *got.MinimumPasswordAge {
			t.Fatalf("re-encoded value differs: %v %v", again.MinimumPasswordAge, err)
		}
	})
}
