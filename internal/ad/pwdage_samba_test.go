package ad_test

import (
	"errors"
	"strings"
	"testing"

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
	rep, err := admin.PasswordAge(ctx, []string{"SSPR Pilot"})
	if err != nil {
		t.Fatal(err)
	}
	err = rep.Verify()
	var pe *ad.PasswordAgeError
	if !errors.As(err, &pe) || len(pe.Findings) != 1 || pe.Findings[0].Source != "domain" {
		t.Fatalf("domain 1 day: Verify = %v", err)
	}
	for _, want := range []string{"1 day", "gpmc.msc", "Default Domain Policy", "{31B2F340-016D-11D2-945F-00C04FB984F9}", dc.BaseDN} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("domain finding lacks %q: %v", want, err)
		}
	}
	if rep.DefaultDomainPolicy == nil || !strings.Contains(rep.DefaultDomainPolicy.GptTmplFile(), `\Policies\{31B2F340-016D-11D2-945F-00C04FB984F9}\MACHINE\`) {
		t.Errorf("Default Domain Policy not found: %+v", rep.DefaultDomainPolicy)
	}

	// A PSO of 2 days on the pilot group fails and names the PSO.
	setDomainMinAge("0")
	if _, err := dc.SambaTool(ctx, "domain", "passwordsettings", "pso", "create", "PilotMinAge", "10", "--min-pwd-age=2"); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.SambaTool(ctx, "domain", "passwordsettings", "pso", "apply", "PilotMinAge", "SSPR Pilot"); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.SambaTool(ctx, "domain", "passwordsettings", "pso", "create", "FinanceMinAge", "20", "--min-pwd-age=1"); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.SambaTool(ctx, "domain", "passwordsettings", "pso", "apply", "FinanceMinAge", "Finance"); err != nil {
		t.Fatal(err)
	}
	rep, err = admin.PasswordAge(ctx, []string{pilot})
	if err != nil {
		t.Fatal(err)
	}
	err = rep.Verify()
	if !errors.As(err, &pe) || len(pe.Findings) != 1 || pe.Findings[0].Name != "PilotMinAge" {
		t.Fatalf("PSO 2 days: Verify = %v", err)
	}
	for _, want := range []string{`"PilotMinAge"`, "2 days", "precedence 10", pilot, "Set-ADFineGrainedPasswordPolicy"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("PSO finding lacks %q: %v", want, err)
		}
	}
	if len(rep.Findings) != 2 {
		t.Errorf("want the Finance PSO reported out of scope too, got %d findings", len(rep.Findings))
	}
	// Without scope groups every PSO counts.
	rep, err = admin.PasswordAge(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Verify(); !errors.As(err, &pe) || len(pe.Findings) != 2 {
		t.Errorf("unscoped: Verify = %v", err)
	}
	_ = finance

	// All zero passes.
	for _, pso := range []string{"PilotMinAge", "FinanceMinAge"} {
		if _, err := dc.SambaTool(ctx, "domain", "passwordsettings", "pso", "set", pso, "--min-pwd-age=0"); err != nil {
			t.Fatal(err)
		}
	}
	rep, err = admin.PasswordAge(ctx, nil)
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
