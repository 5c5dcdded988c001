package ad_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ssprflow/ssprflow/internal/sambadc/sambadctest"
)

func TestCoverageAgainstSamba(t *testing.T) {
	d := newDirectory(t)
	ctx := testCtx(t)
	admin := d.admin(t)
	rep, err := admin.Coverage(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep.Summary())
	unreachable := map[string]string{}
	for _, e := range rep.Unreachable {
		unreachable[strings.ToLower(e.DN)] = e.BlockedBy
		if e.Remediation == "" {
			t.Errorf("%s has no remediation", e.DN)
		}
	}
	if b, ok := unreachable[strings.ToLower(d.bob)]; !ok || !strings.EqualFold(b, d.legacyOU) {
		t.Errorf("bob (below %s) not reported as blocked by it: %v", d.legacyOU, unreachable)
	}
	if _, ok := unreachable[strings.ToLower(d.carol)]; !ok {
		t.Errorf("carol (protected DACL) not reported: %v", unreachable)
	}
	if _, ok := unreachable[strings.ToLower(d.alice)]; ok {
		t.Errorf("alice reported unreachable")
	}
	disabled := map[string]bool{}
	for _, e := range rep.InheritanceDisabled {
		disabled[strings.ToLower(e.DN)] = true
	}
	if !disabled[strings.ToLower(d.legacyOU)] || !disabled[strings.ToLower(d.carol)] {
		t.Errorf("inheritance-disabled list lacks Legacy OU or carol: %v", disabled)
	}
	var admins []string
	for _, e := range rep.AdminCount {
		admins = append(admins, e.SAM)
	}
	if !strings.Contains(strings.Join(admins, ","), "Administrator") {
		t.Errorf("adminCount=1 list lacks Administrator: %v", admins)
	}
	if rep.UsersScanned < 5 {
		t.Errorf("scanned %d users", rep.UsersScanned)
	}
	// Scoped to OU=Staff: bob is out of scope, carol still reported.
	rep, err = admin.Coverage(ctx, []string{d.staffOU})
	if err != nil {
		t.Fatal(err)
	}
	if rep.UsersScanned != 2 || len(rep.Unreachable) != 1 || !strings.EqualFold(rep.Unreachable[0].DN, d.carol) {
		t.Errorf("Staff scope: %+v", rep)
	}
}

// BenchmarkCoverageScan scans a directory of SSPRFLOW_BENCH_USERS users
// (default 2000; 20000 for the scale check) in OUs of 500, one OU in ten
// with inheritance disabled. Population is not timed.
func BenchmarkCoverageScan(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("SSPRFLOW_BENCH_USERS")); err == nil && v > 0 {
		n = v
	}
	dc := sambadctest.New(b)
	ctx := context.Background()
	const perOU = 500
	var ous []string
	for i := 0; i*perOU < n; i++ {
		ou, err := dc.CreateOU(ctx, "", fmt.Sprintf("Bench%03d", i))
		if err != nil {
			b.Fatal(err)
		}
		ous = append(ous, ou)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			c, err := dc.Admin(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := w; i < n; i += 4 {
				req := ldap.NewAddRequest(fmt.Sprintf("CN=u%05d,%s", i, ous[i/perOU]), nil)
				req.Attribute("objectClass", []string{"user"})
				req.Attribute("sAMAccountName", []string{fmt.Sprintf("u%05d", i)})
				if err := c.LDAP().Add(req); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	for i := 0; i < len(ous); i += 10 {
		if err := dc.SetProtected(ctx, ous[i]); err != nil {
			b.Fatal(err)
		}
	}
	admin, err := dc.Admin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	b.ResetTimer()
	for b.Loop() {
		rep, err := admin.Coverage(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if rep.UsersScanned < n {
			b.Fatalf("scanned %d users, want >= %d", rep.UsersScanned, n)
		}
	}
	b.ReportMetric(float64(n), "users")

	// The same search with OpenLDAP's ldapsearch, in the same run: the
	// floor for fetching these entries over LDAPS with paging.
	b.StopTimer()
	if _, err := exec.LookPath("ldapsearch"); err != nil {
		b.Logf("ldapsearch not installed: no baseline")
		return
	}
	pw := filepath.Join(b.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(dc.AdminPassword), 0o600); err != nil {
		b.Fatal(err)
	}
	const runs = 3
	t0 := time.Now()
	for range runs {
		cmd := exec.Command("ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-H", dc.URL(), "-x", "-D", dc.AdminDN, "-y", pw,
			"-b", dc.BaseDN, "-E", "pr=1000/noprompt", "-E", "!1.2.840.113556.1.4.801=::MAMCAQQ=",
			"(|(&(objectCategory=person)(objectClass=user))(objectClass=organizationalUnit)(objectClass=container))",
			"nTSecurityDescriptor", "sAMAccountName", "adminCount", "objectClass")
		cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+dc.CAFile)
		cmd.Stdout = io.Discard
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			b.Fatalf("ldapsearch: %v: %s", err, errb.String())
		}
	}
	perScan := time.Since(t0) / runs
	b.ReportMetric(perScan.Seconds(), "ldapsearch-s/scan")
	if ns := b.Elapsed().Nanoseconds(); b.N > 0 && ns > 0 {
		b.ReportMetric(float64(ns)/float64(b.N)/float64(perScan.Nanoseconds()), "ratio-vs-ldapsearch")
	}
}
