package cli

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCLILinksNoServerNoGraph: the operator and approver binary links
// neither the Temporal server nor the Graph SDK (size, cold build time, and
// no tenant credential code on approvers' machines). A new import that
// drags either in fails here, naming the path.
func TestCLILinksNoServerNoGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}", "github.com/ssprflow/ssprflow/starter").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, imp := range strings.Fields(imports) {
			for _, banned := range []string{"go.temporal.io/server", "github.com/microsoftgraph/msgraph-sdk-go", "github.com/ssprflow/ssprflow/internal/worker", "github.com/ssprflow/ssprflow/internal/localstack"} {
				if imp == banned || strings.HasPrefix(imp, banned+"/") {
					t.Errorf("%s imports %s: the ssprflow CLI must not link it (move the code to the worker or ssprflow-dev)", pkg, imp)
				}
			}
		}
	}
}
