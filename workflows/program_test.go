package workflows

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ssprflow/ssprflow/internal/plan"
)

// The program is what a recorded history replays against: its order is
// fixed, and the table in program.go must keep producing it.
func TestProgramOrder(t *testing.T) {
	withWave := func(p *plan.Rollout) {
		p.Spec.Stages = slices.Insert(p.Spec.Stages, 1, plan.Stage{Name: "wave-1", Members: []string{"carol@contoso.onmicrosoft.com"}})
	}
	for _, tc := range []struct {
		name string
		edit func(*plan.Rollout)
		want []string
	}{
		{"no directory", func(p *plan.Rollout) { p.Spec.Directory = nil }, []string{
			"preflight/validate-plan", "preflight/tenant-preflight",
			"pilot/sspr-group", "pilot/members", "pilot/methods", "pilot/registration", "pilot/notifications", "pilot/helpdesk",
			"pilot/scope", "pilot/verify", "pilot/gate", "all/scope", "all/verify", "all/coverage"}},
		{"directory, writeback and a wave", func(p *plan.Rollout) { p.Spec.Writeback.Mode = plan.WritebackConnect; withWave(p) }, []string{
			"preflight/validate-plan", "preflight/tenant-preflight", "preflight/directory-preflight",
			"pilot/sspr-group", "pilot/members", "pilot/methods", "pilot/registration", "pilot/notifications", "pilot/helpdesk",
			"pilot/ad-permissions", "pilot/password-age", "pilot/writeback", "pilot/scope", "pilot/verify", "pilot/gate",
			"wave-1/members", "wave-1/verify", "wave-1/gate", "all/scope", "all/verify", "all/coverage"}},
		{"a single all stage", func(p *plan.Rollout) {
			p.Spec.Directory = nil
			p.Spec.Stages = []plan.Stage{{Name: "all", All: true, Group: p.Spec.Stages[0].Group}}
		}, []string{"preflight/validate-plan", "preflight/tenant-preflight",
			"all/sspr-group", "all/methods", "all/registration", "all/notifications", "all/helpdesk", "all/scope", "all/verify", "all/coverage"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPlan()
			tc.edit(&p)
			var got []string
			for _, o := range program(&p) {
				got = append(got, fmt.Sprintf("%s/%s", o.stage, nameOf(o)))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("program\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}
