package entra_test

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// TestExportPlanRoundTrips: a tenant exported as a plan validates, and the
// plan's desired settings are the tenant's (a rollout of it changes
// nothing); what could not be read, or is not in the tenant, is a note,
// never a silent guess.
func TestExportPlanRoundTrips(t *testing.T) {
	// A tenant as a rollout of some plan leaves it.
	source, err := plan.Load("source.yaml", []byte(`apiVersion: ssprflow/v1
kind: Rollout
metadata: {name: source, tenant: contoso.onmicrosoft.com}
spec:
  methodsRequired: 2
  methods: [email, mobilePhone, mobileAppCode]
  registration: {requireOnSignIn: false, reconfirmDays: 90}
  notifications: {notifyUsersOnReset: false, notifyAdminsOnAdminReset: true}
  helpdesk: {email: helpdesk@contoso.com}
  directory: {profile: corp}
  writeback: {mode: connect, unlockAccounts: false}
  stages:
    - name: pilot
      group: {name: SSPR-Pilot}
      members: [a@contoso.onmicrosoft.com]
    - name: all
      all: true
  approvers: [{id: alice}]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		scope      entra.Scope
		unreadable map[entra.Field]string
		wantNotes  []string
		wantChange []entra.Field // desired settings that differ from the tenant
	}{
		{name: "all", scope: entra.ScopeAll, wantNotes: []string{"writeback is on", "ssprPolicy.mode is manual"}},
		{name: "selected group", scope: entra.ScopeSelected},
		{name: "unreadable portal", scope: entra.ScopeAll,
			unreadable: map[entra.Field]string{entra.FieldReconfirmDays: "no portal credential on the worker"},
			wantNotes:  []string{"registration.reconfirmDays", "could not be read: no portal credential"},
			// The default (180) stands in for what could not be read.
			wantChange: []entra.Field{entra.FieldReconfirmDays}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := entra.Snapshot{Settings: entra.DesiredSettings(source, "g-1", tc.scope), GroupName: "SSPR-Pilot", Unreadable: tc.unreadable}
			got, notes := entra.ExportPlan("contoso.onmicrosoft.com", snap, &plan.Directory{Profile: "corp"})
			b, err := yaml.Marshal(&got)
			if err != nil {
				t.Fatal(err)
			}
			p, err := plan.Load("export.yaml", b)
			if err != nil {
				t.Fatalf("the export does not validate: %v\n%s", err, b)
			}
			scope := entra.ScopeSelected
			if p.EndsWithAll() {
				scope = entra.ScopeAll
			}
			if scope != tc.scope {
				t.Errorf("exported scope %s, tenant %s", scope, tc.scope)
			}
			var changed []entra.Field
			for _, c := range entra.Diff(snap, entra.DesiredSettings(p, "g-1", scope)) {
				changed = append(changed, c.Field)
			}
			if strings.Join(fields(changed), ",") != strings.Join(fields(tc.wantChange), ",") {
				t.Errorf("a rollout of the export would change %v, want %v\n%s", changed, tc.wantChange, b)
			}
			all := strings.Join(notes, "\n")
			for _, w := range tc.wantNotes {
				if !strings.Contains(all, w) {
					t.Errorf("notes lack %q:\n%s", w, all)
				}
			}
		})
	}
}

func fields(fs []entra.Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

// TestExportPlanScopeNone: SSPR off is said, not exported as if on.
func TestExportPlanScopeNone(t *testing.T) {
	_, notes := entra.ExportPlan("contoso.onmicrosoft.com", entra.Snapshot{Settings: entra.Settings{entra.FieldScope: string(entra.ScopeNone)}}, nil)
	if !strings.Contains(strings.Join(notes, "\n"), "SSPR is off (None)") {
		t.Errorf("notes: %q", notes)
	}
}

// TestExportPlanWritebackWithoutDirectory: writeback is on in the tenant
// but no directory profile was named: the plan leaves writeback out (a plan
// that manages it needs a directory) and says so; it still validates and
// changes nothing.
func TestExportPlanWritebackWithoutDirectory(t *testing.T) {
	snap := entra.Snapshot{Settings: entra.Settings{entra.FieldScope: string(entra.ScopeAll), entra.FieldWritebackEnabled: "true",
		entra.MethodField(plan.MethodEmail): "true", entra.FieldMethodsRequired: "1"}}
	p, notes := entra.ExportPlan("contoso.onmicrosoft.com", snap, nil)
	b, _ := yaml.Marshal(&p)
	if _, err := plan.Load("export.yaml", b); err != nil {
		t.Fatalf("the export does not validate: %v\n%s", err, b)
	}
	if p.Spec.Writeback.Enabled() || !strings.Contains(strings.Join(notes, "\n"), "--directory") {
		t.Errorf("writeback %q, notes %q", p.Spec.Writeback.Mode, notes)
	}
}
