package plan

import (
	"errors"
	"fmt"
	"slices"
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

// TestSelectRules: each malformed selection, exclusion or worker-only field
// is one problem, located at its field and line, with a fix.
func TestSelectRules(t *testing.T) {
	long := strings.Repeat("a", MaxFilterBytes-len("department eq ''")+1)
	tests := []struct {
		name     string
		doc      string
		field    string // the one problem's field...
		at       string // ...on the first line containing this
		msg, fix string // ...whose message and fix contain these
	}{
		{"all stage selects", edit(t, "      all: true\n", "      all: true\n      select: {percent: 10}\n"), "spec.stages[1].select", "select: {percent: 10}", "it selects no one", "remove select"},
		{"members and select", edit(t, "    - name: all\n", "    - name: wave\n      members: [bob@contoso.onmicrosoft.com]\n      select: {percent: 10}\n    - name: all\n"),
			"spec.stages[1].select", "select: {percent: 10}", "members or selects them, not both", "split them into two stages"},
		{"nothing selected", withWave(t, "{}"), "spec.stages[1].select", "select: {}", "exactly one of groups, file, filter and percent, got none", "{percent: 25}"},
		{"percent zero is nothing", withWave(t, "{percent: 0}"), "spec.stages[1].select", "select: {percent: 0}", "got none", "{groups: [All-Sales]}"},
		{"two ways", withWave(t, `{file: a.csv, filter: "city eq 'Oslo'"}`), "spec.stages[1].select", "select: {file", "got file and filter", "one stage per way"},
		{"empty group list", withWave(t, "{groups: []}"), "spec.stages[1].select.groups", "select: {groups: []}", "the list is empty", "display name"},
		{"empty group name", withWave(t, `{groups: [A, " "]}`), "spec.stages[1].select.groups[1]", "select: {groups", "empty group name", "display name"},
		{"group twice", withWave(t, `{groups: [All-Sales, " all-sales"]}`), "spec.stages[1].select.groups[1]", "select: {groups", `" all-sales" is listed twice (also spec.stages[1].select.groups[0])`, "once"},
		{"absolute file", withWave(t, "{file: /home/op/hr.csv}"), "spec.stages[1].select.file", "/home/op", "absolute path", "relative to the plan file"},
		{"drive letter", withWave(t, `{file: 'C:\hr\wave.csv'}`), "spec.stages[1].select.file", "C:", "absolute path", "relative to the plan file"},
		{"escaping file", withWave(t, "{file: waves/../../hr.csv}"), "spec.stages[1].select.file", "waves/..", "leaves the plan's directory", "inside its directory"},
		{"escaping with backslashes", withWave(t, `{file: '..\hr.csv'}`), "spec.stages[1].select.file", `..\hr`, "leaves the plan's directory", "inside its directory"},
		{"NUL in file", withWave(t, `{file: "hr\0.csv"}`), "spec.stages[1].select.file", "hr\\0", "NUL", "relative"},
		{"spreadsheet", withWave(t, "{file: waves/hr.xlsx}"), "spec.stages[1].select.file", "hr.xlsx", "not a .csv or .txt file", "CSV UTF-8"},
		{"file with spaces around", withWave(t, `{file: " hr.csv"}`), "spec.stages[1].select.file", "hr.csv", "starts or ends with a space", "remove the spaces"},
		{"blank filter", withWave(t, `{filter: "  "}`), "spec.stages[1].select.filter", "filter:", "the filter is empty", "department eq"},
		{"filter too long", withWave(t, `{filter: "department eq '`+long+`'"}`), "spec.stages[1].select.filter", "filter:", "more than 4096", "group"},
		{"filter with $filter=", withWave(t, `{filter: "$filter=department eq 'Sales'"}`), "spec.stages[1].select.filter", "$filter=", "expression only", "what follows $filter="},
		{"unclosed literal", withWave(t, `{filter: "surname eq 'O'Brien'"}`), "spec.stages[1].select.filter", "O'Brien", "unclosed quote", "'O''Brien'"},
		{"close before open", withWave(t, `{filter: "(city eq 'Oslo'))("}`), "spec.stages[1].select.filter", "Oslo", "closes a parenthesis it never opened", "every )"},
		{"open paren", withWave(t, `{filter: "(city eq 'Oslo'"}`), "spec.stages[1].select.filter", "Oslo", "unbalanced parentheses", "close every ("},
		{"control character", withWave(t, `{filter: "city eq 'Oslo'\x01"}`), "spec.stages[1].select.filter", "Oslo", "control character", "one line"},
		{"percent over 100", withWave(t, "{percent: 100.5}"), "spec.stages[1].select.percent", "100.5", "at most 100, got 100.5", "percent: 25"},
		{"percent NaN", withWave(t, "{percent: .nan}"), "spec.stages[1].select.percent", ".nan", "more than 0", "percent: 25"},
		{"percent as string", withWave(t, `{percent: "25%"}`), "spec.stages[1].select.percent", "25%", "must be a number", "60"},
		{"memberList written", edit(t, "      members:\n        - alice@contoso.onmicrosoft.com\n", "      memberList: {digest: \"sha256:00\", count: 1}\n"),
			"spec.stages[0].memberList", "memberList:", "memberList is the worker's", "select: {file:"},
		{"exclude empty name", edit(t, "  missingMembers: stop\n", "  missingMembers: stop\n  exclude: {groups: [\"\"]}\n"), "spec.exclude.groups[0]", "exclude:", "empty group name", "Break-Glass"},
		{"exclude group twice", edit(t, "  missingMembers: stop\n", "  missingMembers: stop\n  exclude: {groups: [Break-Glass, BREAK-GLASS]}\n"), "spec.exclude.groups[1]", "exclude:", "listed twice", "once"},
		{"exclude unknown key", edit(t, "  missingMembers: stop\n", "  missingMembers: stop\n  exclude: {guest: true}\n"), "spec.exclude.guest", "guest: true", `did you mean "guests"?`, "guests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("case.yaml", []byte(tt.doc))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load = %v, want a *ValidationError", err)
			}
			if len(ve.Problems) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(ve.Problems), err)
			}
			p := ve.Problems[0]
			if p.Field != tt.field || p.Line != lineOf(t, tt.doc, tt.at) || p.Column == 0 || p.File != "case.yaml" {
				t.Errorf("problem at %s line %d col %d, want %s at line %d:\n%v", p.Field, p.Line, p.Column, tt.field, lineOf(t, tt.doc, tt.at), err)
			}
			if !strings.Contains(p.Message, tt.msg) || !strings.Contains(p.Fix, tt.fix) {
				t.Errorf("problem %q (fix %q), want it to contain %q (fix %q)", p.Message, p.Fix, tt.msg, tt.fix)
			}
		})
	}
}

// TestSelectFilterSyntax: the light $filter check passes what OData allows.
func TestSelectFilterSyntax(t *testing.T) {
	for _, f := range []string{
		"department eq 'Engineering'",
		"surname eq 'O''Brien'",
		"department eq 'R&D (EU'",
		"(department eq 'Sales' or department eq 'Marketing') and accountEnabled eq true",
		"startsWith(displayName,'a)')",
		"endsWith(mail,'@contoso.com')",
		"''''",
		"city eq 'Oslo'\n",
	} {
		if msg, fix := filterProblem(f); msg != "" {
			t.Errorf("filterProblem(%q) = %q (%s), want none", f, msg, fix)
		}
	}
}

// TestSelectFirstStage: the pilot may select its members too.
func TestSelectFirstStage(t *testing.T) {
	doc := edit(t, "      members:\n        - alice@contoso.onmicrosoft.com\n", "      select: {groups: [IT-Pilot]}\n")
	p, err := Load("case.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Spec.Stages[0]; st.Select.Kind() != SelectGroups || !st.Selects() || st.Group.Name != "SSPR-Pilot" {
		t.Errorf("pilot = %+v", st)
	}
}

// TestMemberListInCode: a plan the worker accepted carries member lists
// instead of members; Validate (which the worker runs again) takes them
// where they stand for inline members or a file, and refuses the rest.
func TestMemberListInCode(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	accepted := func(mutate func(s []Stage)) *Rollout {
		r := &Rollout{APIVersion: APIVersion, Kind: Kind, Metadata: Metadata{Name: "code", Tenant: "contoso.onmicrosoft.com"},
			Spec: Spec{Stages: []Stage{
				{Name: "pilot", Group: &GroupRef{Name: "SSPR-Pilot"}, MemberList: &ListRef{Digest: digest, Count: 2, Source: "members"}},
				{Name: "hr", Select: &Selection{File: "waves/hr.csv"}, MemberList: &ListRef{Digest: digest, Count: 20, Source: "waves/hr.csv"}},
				{Name: "sales", Select: &Selection{Groups: []string{"All-Sales"}}},
				{Name: "all", All: true},
			}}}
		if mutate != nil {
			mutate(r.Spec.Stages)
		}
		return r
	}
	if err := accepted(nil).Validate(); err != nil {
		t.Fatalf("Validate(accepted plan) = %v", err)
	}
	tests := []struct {
		name   string
		mutate func(s []Stage)
		field  string
		msg    string
	}{
		{"bad digest", func(s []Stage) { s[0].MemberList.Digest = "sha256:ABC" }, "spec.stages[0].memberList.digest", "not a sha256 digest"},
		{"no entries", func(s []Stage) { s[1].MemberList.Count = 0 }, "spec.stages[1].memberList.count", "at least 1"},
		{"beside members", func(s []Stage) { s[0].Members = []string{"alice@contoso.onmicrosoft.com"} }, "spec.stages[0].memberList", "not both"},
		{"for a group selection", func(s []Stage) { s[2].MemberList = &ListRef{Digest: digest, Count: 1} }, "spec.stages[2].memberList", "not select.groups"},
		{"on the all stage", func(s []Stage) { s[3].MemberList = &ListRef{Digest: digest, Count: 1} }, "spec.stages[3].memberList", "no member list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := accepted(tt.mutate).Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != tt.field || !strings.Contains(ve.Problems[0].Message, tt.msg) {
				t.Fatalf("Validate = %v, want one problem at %s about %q", err, tt.field, tt.msg)
			}
		})
	}
}

// TestSelectWarnings: selections that choose differently from what their
// author most likely meant warn once, at their field, and still load.
func TestSelectWarnings(t *testing.T) {
	// admins written: the warning about role holders is not the subject here.
	quiet := strings.Replace(quietPlan(t), "  missingMembers: stop\n", "  missingMembers: stop\n  exclude: {admins: true}\n  defaultGate: {soak: 1d, approvals: 1}\n", 1)
	wave := func(sel ...string) string {
		var b strings.Builder
		for i, s := range sel {
			fmt.Fprintf(&b, "    - name: wave-%d\n      select: %s\n", i+1, s)
		}
		return strings.Replace(quiet, "    - name: all\n", b.String()+"    - name: all\n", 1)
	}
	if _, warns, err := Check("case.yaml", []byte(wave("{groups: [All-Sales]}", "{percent: 50}"))); err != nil || len(warns) != 0 {
		t.Fatalf("Check = %v, %v; want no warning", warns, err)
	}
	tests := []struct {
		name, doc, field, at, msg, fix string
	}{
		{"percent as a fraction", wave("{percent: 0.25}"), "spec.stages[1].select.percent", "0.25", "0.25 looks like a fraction, but it is a percentage", "write 25 for 25 percent"},
		{"percent 100 before all", wave("{percent: 100}"), "spec.stages[1].select.percent", "percent: 100", `before stage "all" switches SSPR to all users anyway`, "lower the percentage"},
		{"group selected and excluded", strings.Replace(wave("{groups: [All-Sales, Break-Glass]}"), "exclude: {admins: true}", "exclude: {admins: true, groups: [break-glass]}\n  # keep", 1),
			"spec.stages[1].select.groups[1]", "Break-Glass]", `group "Break-Glass" is also in spec.exclude.groups`, "remove the group"},
		{"group selected twice", wave("{groups: [All-Sales]}", "{groups: [all-sales]}"), "spec.stages[2].select.groups[0]", "[all-sales]", `already selected by stage "wave-1"`, "one stage"},
		{"file selected twice", wave("{file: waves/hr.csv}", "{file: ./waves/HR.csv}"), "spec.stages[2].select.file", "./waves", `already selected by stage "wave-1"`, "its own file"},
		{"filter used twice", wave(`{filter: "city eq 'Oslo'"}`, `{filter: "city  eq 'Oslo'"}`), "spec.stages[2].select.filter", "city  eq", `already used by stage "wave-1"`, "its own filter"},
		{"admins not decided", strings.Replace(wave(`{filter: "city eq 'Oslo'"}`, "{percent: 10}"), "  exclude: {admins: true}\n", "", 1),
			"spec.stages[1].select.filter", "Oslo", "may add directory role holders", "spec.exclude.admins: true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, warns, err := Check("case.yaml", []byte(tt.doc))
			if err != nil || r == nil {
				t.Fatalf("Check = %v; a warning must not stop the plan", err)
			}
			// The exclude-before-all warning has its own test.
			warns = slices.DeleteFunc(warns, func(w Problem) bool { return w.Field == "spec.exclude.groups" })
			if len(warns) != 1 {
				t.Fatalf("got %d warnings, want 1: %v", len(warns), warns)
			}
			w := warns[0]
			if w.Field != tt.field || w.Line != lineOf(t, tt.doc, tt.at) || w.Column == 0 || !w.Warning {
				t.Errorf("warning at %s line %d, want %s at line %d: %v", w.Field, w.Line, tt.field, lineOf(t, tt.doc, tt.at), w)
			}
			if !strings.Contains(w.Message, tt.msg) || !strings.Contains(w.Fix, tt.fix) {
				t.Errorf("warning %q (fix %q), want %q (fix %q)", w.Message, w.Fix, tt.msg, tt.fix)
			}
		})
	}
}

// TestExcludeBeforeAllWarns: exclude keeps groups out of the waves, not out
// of the all stage; the plan says so.
func TestExcludeBeforeAllWarns(t *testing.T) {
	doc := strings.Replace(quietPlan(t), "  missingMembers: stop\n", "  missingMembers: stop\n  exclude: {groups: [Break-Glass]}\n", 1)
	_, warns, err := Check("case.yaml", []byte(doc))
	if err != nil || len(warns) != 1 || warns[0].Field != "spec.exclude.groups" || !strings.Contains(warns[0].Message, `stage "all" enables SSPR for every user, their members included`) {
		t.Fatalf("Check = %v, %v; want one warning at spec.exclude.groups", warns, err)
	}
}
