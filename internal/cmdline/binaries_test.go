package cmdline_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinariesLinkOnlyWhatTheirAudienceNeeds: the operator and approver
// binary links neither the Temporal server nor the Graph SDK (size, cold
// build time, and no tenant credential code on approvers' machines); the
// production worker links no simulator and no local-stack code, so no flag
// can point it at one. A new import that drags any in fails here, naming
// the path.
func TestBinariesLinkOnlyWhatTheirAudienceNeeds(t *testing.T) {
	const mod = "github.com/ssprflow/ssprflow/"
	local := []string{mod + "internal/localstack", mod + "internal/entrasim", mod + "internal/writebacksim",
		mod + "internal/sambadc", mod + "internal/devstack", "go.temporal.io/server"}
	for _, tc := range []struct {
		binary, pkg string
		banned      []string
	}{
		{"ssprflow", mod + "starter", append([]string{"github.com/microsoftgraph/msgraph-sdk-go", mod + "internal/worker"}, local...)},
		{"ssprflow-worker", mod + "worker", local},
	} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}", tc.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			pkg, imports, _ := strings.Cut(line, ": ")
			for _, imp := range strings.Fields(imports) {
				for _, banned := range tc.banned {
					if imp == banned || strings.HasPrefix(imp, banned+"/") {
						t.Errorf("%s: %s imports %s, which %s must not link", tc.binary, pkg, imp, tc.binary)
					}
				}
			}
		}
	}
}
