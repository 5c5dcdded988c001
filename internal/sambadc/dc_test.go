package sambadc_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/sambadc"
	"github.com/ssprflow/ssprflow/internal/sambadc/sambadctest"
)

func TestStartBindStop(t *testing.T) {
	if err := sambadc.Available(); err != nil {
		t.Skipf("SKIPPING REAL-DC TEST: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dc, err := sambadc.Start(ctx, sambadc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Stop() })
	if got, want := dc.URL(), "ldaps://"+dc.IP+":636"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	for _, user := range []string{dc.AdminUser, dc.AdminUPN, dc.AdminDN} {
		c, err := dc.DialAs(ctx, user, dc.AdminPassword)
		if err != nil {
			t.Errorf("bind as %s: %v", user, err)
			continue
		}
		if c.BaseDN() != dc.BaseDN {
			t.Errorf("BaseDN = %q", c.BaseDN())
		}
		c.Close()
	}
	out, err := dc.SambaTool(ctx, "dsacl", "get", "--objectdn="+dc.BaseDN)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "D:") {
		t.Errorf("dsacl get printed no DACL: %s", out)
	}
	pgid, dir := dc.PGID(), dc.Dir
	if err := dc.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := dc.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if dc.Running() {
		t.Errorf("samba process group %d still has processes after Stop", pgid)
	}
	if procs := sambaProcsInGroup(t, pgid); len(procs) > 0 {
		t.Errorf("processes left in group %d: %v", pgid, procs)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("DC directory %s not removed: %v", dir, err)
	}
}

// sambaProcsInGroup scans /proc independently of Running.
func sambaProcsInGroup(t *testing.T, pgid int) []string {
	t.Helper()
	entries, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(e)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			out = append(out, s[:i+1])
		}
	}
	return out
}

func TestParallelDCs(t *testing.T) {
	var wg sync.WaitGroup
	dcs := make([]*sambadc.DC, 2)
	for i := range dcs {
		wg.Go(func() { dcs[i] = sambadctest.New(t) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if dcs[0].IP == dcs[1].IP {
		t.Fatalf("two DCs share %s", dcs[0].IP)
	}
	ctx := context.Background()
	for _, dc := range dcs {
		if _, err := dc.CreateOU(ctx, "", "Pilot"); err != nil {
			t.Errorf("%s: %v", dc.IP, err)
		}
	}
}

func TestSMBDCStopsEverything(t *testing.T) {
	if err := sambadc.Available(); err != nil {
		t.Skipf("SKIPPING REAL-DC TEST: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dc, err := sambadc.Start(ctx, sambadc.Options{SMB: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Stop() })
	conf := dc.ConfFile
	// smbd and winbindd run with the DC's smb.conf on their command line.
	deadline := time.Now().Add(20 * time.Second)
	for !(hasProcessWith(conf, "smbd") && hasProcessWith(conf, "winbindd")) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !hasProcessWith(conf, "smbd") || !hasProcessWith(conf, "winbindd") {
		t.Fatal("smbd/winbindd did not start")
	}
	if err := dc.Stop(); err != nil {
		t.Fatal(err)
	}
	if hasProcessWith(conf, "") || dc.Running() {
		t.Error("SMB processes left after Stop")
	}
}

func hasProcessWith(s, prog string) bool {
	entries, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, e := range entries {
		if b, err := os.ReadFile(e); err == nil && strings.Contains(string(b), s) && strings.Contains(string(b), prog) {
			return true
		}
	}
	return false
}
