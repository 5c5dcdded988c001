package ad_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/sambadc/sambadctest"
)

func TestPasswordAgeAgainstSamba(t *testing.T) {
	dc := sambadctest.New(t)
	ctx := testCtx(t)
	admin, err := dc.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	setDomainMinAge := func(v string) {
		t.Helper()
		req := ldap.NewModifyRequest(dc.BaseDN, nil)
		req.Replace("minPwdAge", []string{v})
		if err := dc.Modify(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	pilot, err := dc.CreateGroup(ctx, "", "SSPR Pilot")
	if err != nil {
		t.Fatal(err)
	}
	finance, err := dc.CreateGroup(ctx, "", "Finance")
	if err != nil {
		t.Fatal(err)
	}

	// Domain policy of 1 day fails and says where to change it.
	setDomainMinAge("-864000000000")
	rep, err := admin.PasswordAge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = rep.Verify()
	var pe *ad.PasswordAgeError
	if !errors.As(err, &pe) || len(pe.Findings) != 1 || pe.Findings[0].Source != ad.SourceDomain {
		t.Fatalf("domain 1 day: Verify = %v", err)
	}
	for _, want := range []string{"1 day", "gpmc.msc", "Default Domain Policy", "{31B2F340-016D-11D2-945F-00C04FB984F9}", dc.BaseDN} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("domain finding lacks %q: %v", want, err)
		}
	}
	if rep.Effective.Source != ad.SourceDomain || rep.Effective.Value != 24*time.Hour {
		t.Errorf("effective %v, want 1 day from the domain object", rep.Effective)
	}
	// The Default Domain Policy is linked at the domain root; this DC
	// serves no SMB, so its GptTmpl.inf is reported unread, not skipped.
	if len(rep.GPOs) != 1 || rep.GPOs[0].GUID != ad.DefaultDomainPolicyGUID || rep.GPOs[0].Read ||
		!strings.Contains(rep.GPOs[0].GptTmplFile(), `\Policies\{31B2F340-016D-11D2-945F-00C04FB984F9}\MACHINE\`) {
		t.Errorf("domain GPOs: %+v", rep.GPOs)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "could not be read from SYSVOL") ||
		!strings.Contains(rep.Warnings[0], "445") || strings.Contains(rep.Warnings[0], dc.AdminPassword) {
		t.Errorf("warnings: %q", rep.Warnings)
	}

	// A PSO of 2 days on the pilot group and one of 1 day on Finance both
	// fail: the rollout's groups live in Entra, so every PSO counts.
	setDomainMinAge("0")
	for _, pso := range []struct{ name, precedence, age, group string }{
		{"PilotMinAge", "10", "2", "SSPR Pilot"}, {"FinanceMinAge", "20", "1", "Finance"}} {
		if _, err := dc.SambaTool(ctx, "domain", "passwordsettings", "pso", "create", pso.name, pso.precedence, "--min-pwd-age="+pso.age); err != nil {
			t.Fatal(err)
		}
		if _, err := dc.SambaTool(ctx, "domain", "passwordsettings", "pso", "apply", pso.name, pso.group); err != nil {
			t.Fatal(err)
		}
	}
	rep, err = admin.PasswordAge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = rep.Verify()
	if !errors.As(err, &pe) || len(pe.Findings) != 2 || pe.Findings[0].Name != "PilotMinAge" || pe.Findings[1].Name != "FinanceMinAge" {
		t.Fatalf("PSOs: Verify = %v", err)
	}
	for _, want := range []string{`"PilotMinAge"`, "2 days", "precedence 10", pilot, finance, "Set-ADFineGrainedPasswordPolicy"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("PSO findings lack %q: %v", want, err)
		}
	}

	// All zero passes.
	for _, pso := range []string{"PilotMinAge", "FinanceMinAge"} {
		if _, err := dc.SambaTool(ctx, "domain", "passwordsettings", "pso", "set", pso, "--min-pwd-age=0"); err != nil {
			t.Fatal(err)
		}
	}
	rep, err = admin.PasswordAge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Verify(); err != nil {
		t.Errorf("all zero: Verify = %v", err)
	}
	if len(rep.PSOs) != 2 || rep.DomainMinAge != 0 {
		t.Errorf("report: %+v", rep)
	}
}
