package plan

import (
	"errors"
	"strings"
	"testing"
)

// quietPlan is validPlan without what warns: a day's soak and a second
// approver.
func quietPlan(t *testing.T) string {
	t.Helper()
	return edit(t, "soak: 10s", "soak: 1d", "    - id: alice\n", "    - id: alice\n    - id: bob\n")
}

// TestWarnings: each risky but valid setting gives exactly one warning at
// its field and line, the plan still loads, and a plan without them gives
// none.
func TestWarnings(t *testing.T) {
	quiet := quietPlan(t)
	if _, warns, err := Check("case.yaml", []byte(quiet)); err != nil || len(warns) != 0 {
		t.Fatalf("Check(quietPlan) = %v, %v; want no warning", warns, err)
	}
	const pilot = "    - name: pilot\n      group:\n        name: SSPR-Pilot\n      members:\n        - alice@contoso.onmicrosoft.com\n      gate:\n        soak: 1d\n        minRegistrationPercent: 60\n        approvals: 1\n        timeout: 1h\n"
	tests := []struct {
		name         string
		from, to     string // one edit of quietPlan
		field, at    string // the warning's field, on the first line containing at
		msg, fix     string // contained in its message and fix
		notInMessage string
	}{
		{"percent written as a fraction", "minRegistrationPercent: 60", "minRegistrationPercent: 0.8", "spec.stages[0].gate.minRegistrationPercent", "0.8",
			"0.8 looks like a fraction, but it is a percentage", "write 80 for 80 percent", ""},
		{"small fraction", "minRegistrationPercent: 60", "minRegistrationPercent: 0.07", "spec.stages[0].gate.minRegistrationPercent", "0.07",
			"looks like a fraction", "write 7 for 7 percent", ""},
		{"soak shorter than an hour", "soak: 1d", "soak: 10m", "spec.stages[0].gate.soak", "soak: 10m",
			"a soak of 10m is shorter than an hour", "soak: 1d", ""},
		{"default gate soak", "  approvers:", "  defaultGate: {soak: 30s, approvals: 1}\n  approvers:", "spec.defaultGate.soak", "defaultGate",
			"a soak of 30s", "soak: 1d", ""},
		{"one approver", "    - id: bob\n", "", "spec.stages[0].gate.approvals", "approvals: 1",
			`only one approver ("alice") may decide this gate: if they start the rollout no one may approve it`, "list a second approver", ""},
		{"approvals need every approver", "approvals: 1", "approvals: 2", "spec.stages[0].gate.approvals", "approvals: 2",
			"approvals: 2 needs every listed approver: if one of them starts the rollout this gate cannot pass", "lower approvals below 2", ""},
		{"straight to all", pilot, "", "spec.stages[0]", "- name: all",
			"enables SSPR for every user at once, with no pilot group", "add a first stage with group", ""},
		{"no approval before all", "approvals: 1", "approvals: 0", "spec.stages[0].gate", "gate:",
			`no one approves the step to all users: after stage "pilot"`, "approvals: 1 or more", ""},
		{"no gate before all", "      gate:\n        soak: 1d\n        minRegistrationPercent: 60\n        approvals: 1\n        timeout: 1h\n", "", "spec.stages[0]", "- name: pilot",
			"no one approves the step to all users", `give stage "pilot" a gate`, ""},
		{"group name is an object id", "name: SSPR-Pilot", "name: 1f8e0c6a-3d0b-4c5e-9a51-2b6f7e0d9c34", "spec.stages[0].group.name", "1f8e0c6a",
			"looks like an object id, but ssprflow finds the group by its display name, and with create: true", "display name", ""},
		{"group id that must exist", "name: SSPR-Pilot", "name: 1f8e0c6a-3d0b-4c5e-9a51-2b6f7e0d9c34\n        create: false", "spec.stages[0].group.name", "1f8e0c6a",
			"finds the group by its display name", "display name", "creates a new group"},
		{"adminSDHolder", "    profile: corp\n", "    profile: corp\n    adminSDHolder: true\n", "spec.directory.adminSDHolder", "adminSDHolder",
			"reset protected accounts such as Domain Admins", "remove adminSDHolder", ""},
		{"users not notified", "  helpdesk:", "  notifications:\n    notifyUsersOnReset: false\n  helpdesk:", "spec.notifications.notifyUsersOnReset", "notifyUsersOnReset",
			"users are not told when their password is reset", "notifyUsersOnReset: true", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(quiet, tt.from) {
				t.Fatalf("test bug: %q not in quietPlan", tt.from)
			}
			doc := strings.Replace(quiet, tt.from, tt.to, 1)
			r, warns, err := Check("case.yaml", []byte(doc))
			if err != nil || r == nil {
				t.Fatalf("Check = %v; a warning must not stop the plan", err)
			}
			if len(warns) != 1 {
				t.Fatalf("got %d warnings, want 1: %v", len(warns), warns)
			}
			w := warns[0]
			if w.Field != tt.field || w.Line != lineOf(t, doc, tt.at) || w.Column == 0 || w.File != "case.yaml" || !w.Warning {
				t.Errorf("warning at %s %s:%d:%d (warning %v), want %s at line %d", w.Field, w.File, w.Line, w.Column, w.Warning, tt.field, lineOf(t, doc, tt.at))
			}
			if !strings.Contains(w.Message, tt.msg) || !strings.Contains(w.Fix, tt.fix) {
				t.Errorf("warning %q (fix %q), want it to contain %q (fix %q)", w.Message, w.Fix, tt.msg, tt.fix)
			}
			if tt.notInMessage != "" && strings.Contains(w.Message, tt.notInMessage) {
				t.Errorf("warning %q says %q", w.Message, tt.notInMessage)
			}
			if s := w.String(); !strings.HasPrefix(s, "case.yaml:") || !strings.Contains(s, ": warning: "+tt.field+": ") {
				t.Errorf("String() = %q, want case.yaml:LINE:COL: warning: %s: ...", s, tt.field)
			}
		})
	}
}

// TestWarningsWaitForErrors: an invalid plan reports its errors only.
func TestWarningsWaitForErrors(t *testing.T) {
	doc := edit(t, "kind: Rollout", "kind: Plan")
	r, warns, err := Check("case.yaml", []byte(doc))
	var ve *ValidationError
	if r != nil || warns != nil || !errors.As(err, &ve) {
		t.Fatalf("Check = %v, %v, %v; want only the error", r, warns, err)
	}
}

// TestEmptyMethodsInCode: WithDefaults fills in an omitted (nil) list of
// methods, never an empty one, which Validate refuses as Load does.
func TestEmptyMethodsInCode(t *testing.T) {
	r := &Rollout{APIVersion: APIVersion, Kind: Kind,
		Metadata: Metadata{Name: "code", Tenant: "contoso.onmicrosoft.com"},
		Spec:     Spec{Stages: []Stage{{Name: "all", All: true}}}}
	if got := r.WithDefaults().Spec.Methods; len(got) != 2 {
		t.Errorf("nil methods defaulted to %v, want the portal's two", got)
	}
	r.Spec.Methods = []Method{}
	if got := r.WithDefaults().Spec.Methods; got == nil || len(got) != 0 {
		t.Errorf("empty methods became %v, want them left empty", got)
	}
	var ve *ValidationError
	if err := r.Validate(); !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != "spec.methods" {
		t.Errorf("Validate = %v, want one spec.methods problem", err)
	}
}
