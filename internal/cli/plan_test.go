package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPlanValidateRefusesWorkerSettings: `ssprflow plan validate` exits 1
// on a plan that names the DC, the bind identity, a secret of the worker or
// the self-approval policy, and says where each setting belongs.
func TestPlanValidateRefusesWorkerSettings(t *testing.T) {
	pilot, err := os.ReadFile("../../examples/pilot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const profile = "    profile: lab\n"
	if !bytes.Contains(pilot, []byte(profile)) {
		t.Fatal("examples/pilot.yaml does not name the lab profile")
	}
	for _, tc := range []struct {
		name, insert, field, fix string
	}{
		{"bindPassword", "    bindPassword: {env: SSPRFLOW_NATS_PASSWORD}\n", "spec.directory.bindPassword", "directories: - profile: NAME"},
		{"url", "    url: ldap://attacker.example:389\n", "spec.directory.url", "directories: - profile: NAME"},
		{"insecure", "    insecure: true\n", "spec.directory.insecure", "directories: - profile: NAME"},
		{"caFile", "    caFile: /etc/ssprflow/ca.pem\n", "spec.directory.caFile", "directories: - profile: NAME"},
		{"allowSelfApproval", "  allowSelfApproval: true\n", "spec.allowSelfApproval", "policy.allowSelfApproval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := string(pilot)
			if strings.HasPrefix(tc.insert, "    ") {
				doc = strings.Replace(doc, profile, profile+tc.insert, 1)
			} else {
				doc = strings.Replace(doc, "  failurePolicy:", tc.insert+"  failurePolicy:", 1)
			}
			line := strings.Count(doc[:strings.Index(doc, tc.insert)], "\n") + 1
			file := filepath.Join(t.TempDir(), "plan.yaml")
			if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			code := Main(context.Background(), []string{"plan", "validate", file}, &out, &errb)
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
			}
			want := file + ":" + strconv.Itoa(line) + ":"
			got := out.String()
			if !strings.Contains(got, want) || !strings.Contains(got, tc.field+": ") || !strings.Contains(got, tc.fix) {
				t.Errorf("output does not name %s%s with the fix %q:\n%s", want, tc.field, tc.fix, got)
			}
			if strings.Contains(got, "SSPRFLOW_NATS_PASSWORD") || strings.Contains(got, "attacker.example") {
				t.Errorf("output echoes the refused value:\n%s", got)
			}
		})
	}
	t.Run("the example is valid", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), []string{"plan", "validate", "../../examples/pilot.yaml", "../../examples/waves.yaml"}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
		}
	})
}
