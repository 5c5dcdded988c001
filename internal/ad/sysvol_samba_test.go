package ad_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/sambadc"
	"github.com/ssprflow/ssprflow/internal/sambadc/sambadctest"
)

// TestGPOMinimumPasswordAgeOverSMB reads the Default Domain Policy's
// GptTmpl.inf from a real DC's SYSVOL over SMB, written the way Windows
// writes it (UTF-16LE, BOM, CRLF).
func TestGPOMinimumPasswordAgeOverSMB(t *testing.T) {
	dc := sambadctest.NewWith(t, sambadc.Options{SMB: true})
	ctx := testCtx(t)
	admin, err := dc.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	req := ldap.NewModifyRequest(dc.BaseDN, nil)
	req.Replace("minPwdAge", []string{"0"})
	if err := dc.Modify(ctx, req); err != nil {
		t.Fatal(err)
	}
	smb := ad.SYSVOLConfig{Host: dc.IP, User: "Administrator", Password: dc.AdminPassword, Domain: sambadc.Domain}

	for _, tt := range []struct {
		days    string
		wantErr bool
	}{{"1", true}, {"0", false}} {
		tmpl := "[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nMinimumPasswordAge = " + tt.days +
			"\r\nMaximumPasswordAge = 42\r\n[Version]\r\nsignature=\"$CHICAGO$\"\r\nRevision=1\r\n"
		if err := dc.WriteGptTmpl(ad.DefaultDomainPolicyGUID, utf16LEBOM(tmpl)); err != nil {
			t.Fatal(err)
		}
		rep, err := admin.PasswordAge(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.DefaultDomainPolicy == nil {
			t.Fatal("no Default Domain Policy")
		}
		raw, err := ad.ReadGptTmpl(ctx, smb, *rep.DefaultDomainPolicy)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := ad.ParseGptTmpl(raw)
		if err != nil {
			t.Fatal(err)
		}
		rep.AddGptTmpl(parsed)
		err = rep.Verify()
		if !tt.wantErr {
			if err != nil {
				t.Errorf("MinimumPasswordAge 0: %v", err)
			}
			continue
		}
		var pe *ad.PasswordAgeError
		if !errors.As(err, &pe) || len(pe.Findings) != 1 || pe.Findings[0].Source != "gpo" {
			t.Fatalf("MinimumPasswordAge 1: Verify = %v", err)
		}
		for _, want := range []string{"Default Domain Policy", ad.DefaultDomainPolicyGUID, "MinimumPasswordAge = 1",
			`\MACHINE\Microsoft\Windows NT\SecEdit\GptTmpl.inf`, "gpmc.msc"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("GPO finding lacks %q: %v", want, err)
			}
		}
	}
	// A wrong password is reported, not retried forever.
	bad := smb
	bad.Password = "wrong-Passw0rd"
	rep, _ := admin.PasswordAge(ctx, nil)
	_, err = ad.ReadGptTmpl(ctx, bad, *rep.DefaultDomainPolicy)
	if err == nil || ad.IsRetryable(err) || strings.Contains(err.Error(), "wrong-Passw0rd") {
		t.Errorf("bad SMB password: %v", err)
	}
}

func utf16LEBOM(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}
