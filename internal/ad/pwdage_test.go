package ad

import (
	"encoding/binary"
	"errors"
	"slices"
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

// TestPasswordAgeEffective: which setting is effective, and which fail
// verification, for the combinations of domain object, GPOs and PSOs.
func TestPasswordAgeEffective(t *testing.T) {
	days := func(n int) *int { return &n }
	ddp := func(v *int) GPO {
		return GPO{DN: "CN=" + DefaultDomainPolicyGUID + ",CN=Policies,CN=System,DC=example,DC=test", GUID: DefaultDomainPolicyGUID,
			DisplayName: "Default Domain Policy", FileSysPath: `\\example.test\sysvol\example.test\Policies\` + DefaultDomainPolicyGUID,
			Read: true, MinimumPasswordAgeDays: v}
	}
	strict := GPO{DN: "CN={AB},CN=Policies,CN=System,DC=example,DC=test", GUID: "{AB}", DisplayName: "Strict", Read: true}
	pso := func(name string, age time.Duration, appliesTo ...string) PSO {
		return PSO{DN: "CN=" + name + ",CN=Password Settings Container,CN=System,DC=example,DC=test", Name: name, Precedence: 5,
			MinAge: age, AppliesTo: appliesTo}
	}
	pilot := "CN=SSPR Pilot,OU=Groups,DC=example,DC=test"
	tests := []struct {
		name      string
		domain    time.Duration
		gpos      []GPO
		psos      []PSO
		effective string   // Effective.String()
		findings  []string // each finding's source and a phrase of its remediation
	}{
		{"all zero", 0, []GPO{ddp(nil)}, []PSO{pso("Zero", 0, pilot), pso("Nobody", 48*time.Hour)},
			"0 days, from minPwdAge on DC=example,DC=test", nil},
		{"GPO 1 day not applied yet", 0, []GPO{ddp(days(1))}, nil,
			`1 day, from GptTmpl.inf of GPO "Default Domain Policy" (\\example.test\sysvol\example.test\Policies\{31B2F340-016D-11D2-945F-00C04FB984F9}\MACHINE\Microsoft\Windows NT\SecEdit\GptTmpl.inf)`,
			[]string{"gpo: MinimumPasswordAge = 1 in [System Access]"}},
		{"GPO 1 day applied", 24 * time.Hour, []GPO{ddp(days(1))}, nil,
			`1 day, from GptTmpl.inf of GPO "Default Domain Policy"`, []string{"gpo: samba-tool gpo manage security set"}},
		{"GPO 0, domain not refreshed", 24 * time.Hour, []GPO{ddp(days(0))}, nil,
			`0 days, from GptTmpl.inf of GPO "Default Domain Policy"`, []string{"domain: apply the GPO at their next policy refresh"}},
		{"no GPO sets it", 24 * time.Hour, []GPO{ddp(nil)}, nil,
			"1 day, from minPwdAge on DC=example,DC=test", []string{"domain: set by GPO \"Default Domain Policy\" " + DefaultDomainPolicyGUID}},
		{"higher GPO wins", 0, []GPO{func() GPO { g := strict; g.MinimumPasswordAgeDays = days(0); return g }(), ddp(days(3))}, nil,
			`0 days, from GptTmpl.inf of GPO "Strict"`, nil},
		{"PSO on the pilot", 0, []GPO{ddp(nil)}, []PSO{pso("Pilot2d", 48*time.Hour, pilot)},
			"0 days, from minPwdAge on DC=example,DC=test",
			[]string{`pso: Set-ADFineGrainedPasswordPolicy -Identity "Pilot2d" -MinPasswordAge 0`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := PasswordAgeReport{DomainDN: "DC=example,DC=test", DomainMinAge: tt.domain, GPOs: tt.gpos, PSOs: tt.psos}
			r.evaluate()
			if got := r.Effective.String(); !strings.HasPrefix(got, tt.effective) {
				t.Errorf("effective %q, want %q", got, tt.effective)
			}
			err := r.Verify()
			if len(tt.findings) == 0 {
				if err != nil {
					t.Errorf("Verify = %v", err)
				}
				return
			}
			var pe *PasswordAgeError
			if !errors.As(err, &pe) || len(pe.Findings) != len(tt.findings) {
				t.Fatalf("Verify = %v, want %d finding(s)", err, len(tt.findings))
			}
			for i, want := range tt.findings {
				src, phrase, _ := strings.Cut(want, ": ")
				if f := pe.Findings[i]; string(f.Source) != src || !strings.Contains(f.Remediation, phrase) || !strings.Contains(f.Remediation, "gpmc.msc") && f.Source != SourcePSO {
					t.Errorf("finding %d = %s: %s, want %s with %q", i, f.Source, f.Remediation, src, phrase)
				}
			}
		})
	}
}

func TestParseGPLink(t *testing.T) {
	ddp := "cn={31B2F340-016D-11D2-945F-00C04FB984F9},cn=policies,cn=system,DC=example,DC=test"
	other := "cn={AB},cn=policies,cn=system,DC=example,DC=test"
	tests := []struct {
		in   string
		want []GPLink
		err  bool
	}{
		{"", nil, false},
		{"[LDAP://" + ddp + ";0]", []GPLink{{ddp, 0}}, false},
		// The last entry has link order 1.
		{"[LDAP://" + other + ";1][ldap://" + ddp + ";2]", []GPLink{{ddp, 2}, {other, 1}}, false},
		{"[LDAP://" + ddp + "]", nil, true},
		{"[LDAP://" + ddp + ";x]", nil, true},
		{"LDAP://" + ddp + ";0", nil, true},
		{"[LDAP://" + ddp + ";0", nil, true},
		{"[CN=x;0]", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseGPLink(tt.in)
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("ParseGPLink(%q) = %v, %v; want %v (error %t)", tt.in, got, err, tt.want, tt.err)
		}
	}
	if l := (GPLink{Options: 3}); !l.Disabled() {
		t.Error("options 3: not disabled")
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
