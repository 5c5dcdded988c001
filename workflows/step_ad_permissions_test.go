package workflows

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A plan that grants on AdminSDHolder too gets the adapter's warning in the
// preflight's warnings and in the ad-permissions step's detail, which the
// events and the report carry.
func TestADPermissionsCarryScopeWarnings(t *testing.T) {
	for _, adminSDHolder := range []bool{false, true} {
		p := testPlan()
		p.Spec.Directory.AdminSDHolder = adminSDHolder
		h := newHarness(t)
		h.decide(time.Minute, approve("d1", "alice", "pilot"), false, t)
		st, err := h.run(t, p)
		if err != nil {
			t.Fatalf("adminSDHolder=%v: %v", adminSDHolder, err)
		}
		i := slices.IndexFunc(st.Steps, func(s Step) bool { return s.Name == StepADPermissions })
		if i < 0 {
			t.Fatal("no ad-permissions step")
		}
		inDetail := strings.Contains(st.Steps[i].Detail, "warning: granting on CN=AdminSDHolder")
		inPreflight := st.Preflight != nil && slices.ContainsFunc(st.Preflight.Warnings, func(w string) bool { return strings.Contains(w, "AdminSDHolder") })
		if inDetail != adminSDHolder || inPreflight != adminSDHolder {
			t.Errorf("adminSDHolder=%v: warning in step detail %v (%q), in preflight warnings %v", adminSDHolder, inDetail, st.Steps[i].Detail, inPreflight)
		}
	}
}
