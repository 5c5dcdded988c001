package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// TestPlanValidateWarnings: risky but valid settings are printed as
// warnings, with file, line and fix, in text and in JSON, and exit 0;
// errors still exit 1.
func TestPlanValidateWarnings(t *testing.T) {
	pilot, err := os.ReadFile("../../examples/pilot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const soak, percent = "        soak: 10s\n", "        minRegistrationPercent: 60\n"
	if !bytes.Contains(pilot, []byte(soak)) || !bytes.Contains(pilot, []byte(percent)) {
		t.Fatal("examples/pilot.yaml no longer has the pilot gate this test edits")
	}
	doc := strings.Replace(string(pilot), percent, "        minRegistrationPercent: 0.6\n", 1)
	lineOf := func(doc, s string) int { return strings.Count(doc[:strings.Index(doc, s)], "\n") + 1 }
	tab := strings.Replace(string(pilot), "    mode: portal-api\n", "\tmode: portal-api\n", 1)
	for _, tc := range []struct {
		name, doc string
		args      []string
		code      int
		want      []string // each in the output
	}{
		{"text", doc, nil, 0, []string{
			fmt.Sprintf(":%d:15: warning: spec.stages[0].gate.soak: a soak of 10s is shorter than an hour", lineOf(doc, soak)),
			fmt.Sprintf(":%d:33: warning: spec.stages[0].gate.minRegistrationPercent: 0.6 looks like a fraction", lineOf(doc, "0.6")),
			"(fix: write 60 for 60 percent)",
			"plan.yaml: valid, 2 warning(s)\n"}},
		{"json", doc, []string{"--output", "json"}, 0, []string{`"valid": true`, `"warnings": [`, `"field": "spec.stages[0].gate.soak"`, `"warning": true`}},
		{"errors still exit 1", tab, nil, 1, []string{
			fmt.Sprintf("plan.yaml:%d: a tab indents this line; YAML indents with spaces only (fix: replace the tab with spaces)", lineOf(tab, "\tmode")),
			"plan.yaml: 1 problem(s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "plan.yaml")
			if err := os.WriteFile(file, []byte(tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			if code := Main(context.Background(), append([]string{"plan", "validate", file}, tc.args...), &out, &errb); code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tc.name == "json" {
				var res []struct {
					Valid    bool
					Warnings []struct {
						File, Field, Message, Fix string
						Line                      int
						Warning                   bool
					}
				}
				if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res) != 1 || !res[0].Valid || len(res[0].Warnings) != 2 {
					t.Fatalf("JSON %v: %s", err, out.String())
				}
				for _, w := range res[0].Warnings {
					if w.File != file || w.Line == 0 || w.Field == "" || w.Fix == "" || !w.Warning {
						t.Errorf("incomplete warning %+v", w)
					}
				}
			}
		})
	}
}
