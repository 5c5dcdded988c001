package plan

import (
	"errors"
	"strings"
	"testing"
)

// A wave inserted before "all", selecting members one way or another.
func withWave(t *testing.T, sel string) string {
	return edit(t, "    - name: all\n", "    - name: wave\n      select: "+sel+"\n    - name: all\n")
}

func TestSelectValid(t *testing.T) {
	for _, sel := range []string{
		`{groups: [All-Sales, "Sales 'EU'"]}`,
		`{file: waves/hr-wave.csv}`,
		`{filter: "department eq 'Engineering' and country eq 'O''Neill'"}`,
		`{percent: 25}`,
	} {
		t.Run(sel, func(t *testing.T) {
			p, err := Load("plan.yaml", []byte(withWave(t, sel)))
			if err != nil {
				t.Fatal(err)
			}
			if !p.Spec.Stages[1].Selects() {
				t.Error("the wave selects nobody")
			}
		})
	}
	p, err := Load("plan.yaml", []byte(edit(t, "  missingMembers: stop\n", "  missingMembers: stop\n  exclude: {groups: [Break-Glass], admins: true}\n")))
	if err != nil {
		t.Fatal(err)
	}
	if ex := p.Spec.Exclude; !ex.ExcludeAdmins() || !ex.ExcludeGuests() || !ex.ExcludeDisabled() || ex.Groups[0] != "Break-Glass" {
		t.Errorf("exclude %+v: admins as written, guests and disabled by default", ex)
	}
}

func TestSelectRefused(t *testing.T) {
	for _, tc := range []struct{ sel, field, says string }{
		{`{groups: [A], percent: 5}`, "spec.stages[1].select", "exactly one"},
		{`{}`, "spec.stages[1].select", "exactly one"},
		{`{groups: [A, a]}`, "spec.stages[1].select.groups[1]", "twice"},
		{`{file: /etc/passwd.csv}`, "spec.stages[1].select.file", "inside the plan's directory"},
		{`{file: ../../secrets.csv}`, "spec.stages[1].select.file", "inside the plan's directory"},
		{`{file: waves/hr.xlsx}`, "spec.stages[1].select.file", ".csv or .txt"},
		{`{filter: "department eq 'Sales"}`, "spec.stages[1].select.filter", "unclosed quote"},
		{`{percent: 150}`, "spec.stages[1].select.percent", "at most 100"},
		{`{percent: -1}`, "spec.stages[1].select.percent", "more than 0"},
	} {
		t.Run(tc.sel, func(t *testing.T) {
			_, err := Load("plan.yaml", []byte(withWave(t, tc.sel)))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load = %v, want a ValidationError", err)
			}
			for _, pr := range ve.Problems {
				if pr.Field == tc.field && strings.Contains(err.Error(), tc.says) {
					return
				}
			}
			t.Fatalf("Load = %v, want %s: ...%s...", err, tc.field, tc.says)
		})
	}
}
