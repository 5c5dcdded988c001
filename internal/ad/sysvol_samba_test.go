package ad_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/sambadc"
	"github.com/ssprflow/ssprflow/internal/sambadc/sambadctest"
)

// TestGPOMinimumPasswordAgeOverSMB: PasswordAge reads the Default Domain
// Policy's GptTmpl.inf from a real DC's SYSVOL over SMB, written the way
// Windows writes it (UTF-16LE, BOM, CRLF), as the bind identity, and a
// MinimumPasswordAge of 1 there fails verification although the domain
// object's minPwdAge is 0.
func TestGPOMinimumPasswordAgeOverSMB(t *testing.T) {
	dc := sambadctest.NewWith(t, sambadc.Options{SMB: true})
	ctx := testCtx(t)
	req := ldap.NewModifyRequest(dc.BaseDN, nil)
	req.Replace("minPwdAge", []string{"0"})
	if err := dc.Modify(ctx, req); err != nil {
		t.Fatal(err)
	}
	// NTLM needs DOMAIN and name: each form of the bind user gets there
	// (Administrator's UPN is implicit: no attribute holds it).
	// Provisioning writes no GptTmpl.inf: read, and nothing set.
	for _, user := range []string{dc.AdminUser, dc.AdminDN, dc.AdminUPN} {
		c, err := dc.DialAs(ctx, user, dc.AdminPassword)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := c.PasswordAge(ctx)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Warnings) != 0 || len(rep.GPOs) != 1 || !rep.GPOs[0].Read || rep.GPOs[0].MinimumPasswordAgeDays != nil ||
			rep.Effective.Source != ad.SourceDomain || rep.Verify() != nil {
			t.Fatalf("bound as %s, no template: %+v", user, rep)
		}
	}
	admin, err := dc.DialAs(ctx, dc.AdminUPN, dc.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, tt := range []struct {
		days    string
		wantErr bool
	}{{"1", true}, {"0", false}} {
		tmpl := "[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nMinimumPasswordAge = " + tt.days +
			"\r\nMaximumPasswordAge = 42\r\n[Version]\r\nsignature=\"$CHICAGO$\"\r\nRevision=1\r\n"
		if err := dc.WriteGptTmpl(ad.DefaultDomainPolicyGUID, tmpl); err != nil {
			t.Fatal(err)
		}
		rep, err := admin.PasswordAge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Warnings) != 0 {
			t.Errorf("MinimumPasswordAge %s: warnings %q", tt.days, rep.Warnings)
		}
		if e := rep.Effective; e.Source != ad.SourceGPO || e.Name != "Default Domain Policy" ||
			formatDays(e.Value) != tt.days || !strings.HasSuffix(e.File, `\MACHINE\Microsoft\Windows NT\SecEdit\GptTmpl.inf`) {
			t.Errorf("MinimumPasswordAge %s: effective %v", tt.days, e)
		}
		err = rep.Verify()
		if !tt.wantErr {
			if err != nil {
				t.Errorf("MinimumPasswordAge 0: %v", err)
			}
			continue
		}
		var pe *ad.PasswordAgeError
		if !errors.As(err, &pe) || len(pe.Findings) != 1 || pe.Findings[0].Source != ad.SourceGPO {
			t.Fatalf("MinimumPasswordAge 1: Verify = %v", err)
		}
		for _, want := range []string{"Default Domain Policy", ad.DefaultDomainPolicyGUID, "MinimumPasswordAge = 1",
			`\MACHINE\Microsoft\Windows NT\SecEdit\GptTmpl.inf`, "gpmc.msc"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("GPO finding lacks %q: %v", want, err)
			}
		}
	}
}

func formatDays(d time.Duration) string { return strconv.Itoa(int(d / (24 * time.Hour))) }
