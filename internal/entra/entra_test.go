package entra_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/entra/entrafake"
	"github.com/ssprflow/ssprflow/internal/plan"
)

func ptr[T any](v T) *T { return &v }

func TestDiff(t *testing.T) {
	tests := []struct {
		name    string
		current entra.Settings
		desired entra.Settings
		want    []entra.Change
	}{
		{name: "equal", current: entra.Settings{"scope": "all"}, desired: entra.Settings{"scope": "all"}},
		{name: "empty desired", current: entra.Settings{"scope": "all"}},
		{
			name:    "portal order and flags",
			current: entra.Settings{"scope": "none", "policy.email": "disabled", "notifications.users": "true"},
			desired: entra.Settings{"notifications.users": "false", "policy.email": "enabled", "group": "g1", "scope": "selected", "zzz.custom": "x"},
			want: []entra.Change{
				{Field: "scope", From: "none", To: "selected", Portal: true},
				{Field: "group", From: "", To: "g1", Portal: true},
				{Field: "policy.email", From: "disabled", To: "enabled"},
				{Field: "notifications.users", From: "true", To: "false", Portal: true},
				{Field: "zzz.custom", To: "x", Portal: true},
			},
		},
		{
			name:    "methods in plan order",
			current: entra.Settings{},
			desired: entra.Settings{"method.securityQuestions": "false", "method.email": "true", "method.mobileAppCode": "true"},
			want: []entra.Change{
				{Field: "method.email", To: "true", Portal: true},
				{Field: "method.mobileAppCode", To: "true", Portal: true},
				{Field: "method.securityQuestions", To: "false", Portal: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 5; i++ { // map order must not leak into the result
				got := entra.Diff(entra.Snapshot{Settings: tt.current}, tt.desired)
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Diff:\n got %+v\nwant %+v", got, tt.want)
				}
			}
		})
	}
}

func TestDesiredSettings(t *testing.T) {
	base := func(mut func(*plan.Spec)) *plan.Rollout {
		r := &plan.Rollout{Spec: plan.Spec{MethodsRequired: 1, Methods: []plan.Method{plan.MethodEmail, plan.MethodMobilePhone},
			Writeback: plan.Writeback{Mode: plan.WritebackNone}}}
		if mut != nil {
			mut(&r.Spec)
		}
		return r
	}
	tests := []struct {
		name   string
		r      *plan.Rollout
		group  string
		scope  entra.Scope
		want   map[entra.Field]string // must hold
		absent []entra.Field          // must not be set
	}{
		{
			name: "defaults, selected", r: base(nil), group: "g1", scope: entra.ScopeSelected,
			want: map[entra.Field]string{
				"scope": "selected", "group": "g1", "methodsRequired": "1",
				"method.email": "true", "method.mobilePhone": "true", "method.officePhone": "false",
				"method.mobileAppCode": "false", "method.mobileAppNotification": "false", "method.securityQuestions": "false",
				"policy.email": "enabled", "policy.sms": "enabled", "policy.voice": "enabled",
				"registration.requireOnSignIn": "true", "registration.reconfirmDays": "180",
				"notifications.users": "true", "notifications.admins": "false", "helpdesk.customized": "false",
			},
			absent: []entra.Field{"policy.microsoftAuthenticator", "policy.softwareOath", entra.FieldVoiceOfficePhone,
				"helpdesk.contact", "writeback.enabled", "writeback.unlock"},
		},
		{
			name: "all scope leaves group alone", r: base(nil), group: "g1", scope: entra.ScopeAll,
			want: map[entra.Field]string{"scope": "all"}, absent: []entra.Field{"group"},
		},
		{
			name: "app code and notification, office phone, security questions",
			r: base(func(s *plan.Spec) {
				s.MethodsRequired = 2
				s.Methods = []plan.Method{plan.MethodMobileAppCode, plan.MethodMobileAppNotification, plan.MethodOfficePhone, plan.MethodSecurityQuestions}
			}),
			scope: entra.ScopeAll,
			want: map[entra.Field]string{"methodsRequired": "2", "policy.microsoftAuthenticator": "enabled",
				"policy.softwareOath": "enabled", "policy.voice": "enabled", entra.FieldVoiceOfficePhone: "true",
				"method.securityQuestions": "true", "method.email": "false"},
			absent: []entra.Field{"policy.email", "policy.sms"},
		},
		{
			name:   "notification only maps to authenticator without oath",
			r:      base(func(s *plan.Spec) { s.Methods = []plan.Method{plan.MethodEmail, plan.MethodMobileAppNotification} }),
			want:   map[entra.Field]string{"policy.microsoftAuthenticator": "enabled", "policy.email": "enabled"},
			absent: []entra.Field{"policy.softwareOath"}, scope: entra.ScopeNone,
		},
		{
			name: "explicit values, helpdesk url, writeback",
			r: base(func(s *plan.Spec) {
				s.Registration = plan.Registration{RequireOnSignIn: ptr(false), ReconfirmDays: ptr(0)}
				s.Notifications = plan.Notifications{NotifyUsersOnReset: ptr(false), NotifyAdminsOnAdminReset: ptr(true)}
				s.Helpdesk = plan.Helpdesk{URL: "https://help.example.com"}
				s.Writeback = plan.Writeback{Mode: plan.WritebackConnect, UnlockAccounts: ptr(false)}
			}),
			scope: entra.ScopeAll,
			want: map[entra.Field]string{"registration.requireOnSignIn": "false", "registration.reconfirmDays": "0",
				"notifications.users": "false", "notifications.admins": "true", "helpdesk.customized": "true",
				"helpdesk.contact": "https://help.example.com", "writeback.enabled": "true", "writeback.unlock": "false"},
		},
		{
			name:  "helpdesk email, cloud sync writeback default unlock",
			r:     base(func(s *plan.Spec) { s.Helpdesk.Email = "help@example.com"; s.Writeback.Mode = plan.WritebackCloudSync }),
			scope: entra.ScopeAll,
			want:  map[entra.Field]string{"helpdesk.contact": "help@example.com", "writeback.enabled": "true", "writeback.unlock": "true"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := entra.DesiredSettings(tt.r, tt.group, tt.scope)
			for f, v := range tt.want {
				if got[f] != v {
					t.Errorf("%s = %q, want %q", f, got[f], v)
				}
			}
			for _, f := range tt.absent {
				if v, ok := got[f]; ok {
					t.Errorf("%s = %q, want unset", f, v)
				}
			}
		})
	}
}

func TestRestore(t *testing.T) {
	start := entra.Settings{"scope": "none", "group": "", "policy.email": "disabled", "notifications.users": "true"}
	applied := []entra.Change{
		{Field: "scope", From: "none", To: "selected", Portal: true},
		{Field: "group", From: "", To: "g1", Portal: true},
		{Field: "policy.email", From: "disabled", To: "enabled"},
		{Field: "notifications.users", From: "true", To: "false", Portal: true},
		{Field: "scope", From: "selected", To: "all", Portal: true}, // a later stage
	}
	tests := []struct {
		name      string
		partial   int                    // apply only the first n changes (0 = all)
		meddle    map[entra.Field]string // human edits after the rollout
		manual    bool
		want      entra.Settings // afterwards
		conflicts []entra.Conflict
		manualN   int
	}{
		{name: "clean", want: start},
		{name: "partially applied", partial: 2, want: start},
		{
			name:      "conflict kept",
			meddle:    map[entra.Field]string{"notifications.users": "maybe", "scope": "none"},
			want:      entra.Settings{"scope": "none", "group": "", "policy.email": "disabled", "notifications.users": "maybe"},
			conflicts: []entra.Conflict{{Field: "notifications.users", Expected: "false", Found: "maybe", Original: "true"}},
		},
		{
			name:      "conflict on chained field",
			meddle:    map[entra.Field]string{"scope": "weird"},
			want:      entra.Settings{"scope": "weird", "group": "", "policy.email": "disabled", "notifications.users": "true"},
			conflicts: []entra.Conflict{{Field: "scope", Expected: "all", Found: "weird", Original: "none"}},
		},
		{
			name: "manual mode restores graph, reports portal", manual: true, manualN: 3,
			want: entra.Settings{"scope": "all", "group": "g1", "policy.email": "disabled", "notifications.users": "false"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := entrafake.New(start)
			ap := applied
			if tt.partial > 0 {
				ap = applied[:tt.partial]
			}
			for _, c := range ap {
				ft.Set(c.Field, c.To)
			}
			for f, v := range tt.meddle {
				ft.Set(f, v)
			}
			ft.Manual = tt.manual
			rep, err := entra.Restore(context.Background(), ft, applied)
			if tt.manualN > 0 {
				if !errors.Is(err, entra.ErrManual) || len(rep.Manual) != tt.manualN {
					t.Fatalf("err = %v, manual = %+v; want ErrManual with %d changes", err, rep.Manual, tt.manualN)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rep.Conflicts, tt.conflicts) {
				t.Errorf("conflicts = %+v, want %+v", rep.Conflicts, tt.conflicts)
			}
			snap, _ := ft.Snapshot(context.Background())
			if !reflect.DeepEqual(snap.Settings, tt.want) {
				t.Errorf("after restore = %v, want %v", snap.Settings, tt.want)
			}
			// A second restore is a no-op.
			ft.Applied = nil
			if _, err := entra.Restore(context.Background(), ft, applied); err != nil && !tt.manual {
				t.Fatal(err)
			}
			if !tt.manual && len(ft.Applied) != 0 {
				t.Errorf("second restore wrote %v", ft.Applied)
			}
		})
	}
}

func TestRestoreSnapshotError(t *testing.T) {
	ft := entrafake.New(nil)
	boom := &entra.ThrottledError{Op: "read policy", Status: 429}
	ft.Err["Snapshot"] = boom
	_, err := entra.Restore(context.Background(), ft, []entra.Change{{Field: "scope", To: "all"}})
	if !errors.Is(err, boom) || entra.IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		permanent bool
		is        error
		contains  string
	}{
		{name: "nil", err: nil},
		{name: "not found", err: fmt.Errorf("x: %w", &entra.NotFoundError{Op: "find group", Object: `group "P"`}),
			permanent: true, is: entra.ErrNotFound, contains: `group "P" does not exist`},
		{name: "manual", err: fmt.Errorf("apply: %w", &entra.ManualError{Changes: []entra.Change{{Field: "scope", To: "all"}}}),
			permanent: true, is: entra.ErrManual, contains: `scope="all"`},
		{name: "permission", err: &entra.PermissionError{Op: "update policy", Permission: "Policy.ReadWrite.AuthenticationMethod"},
			permanent: true, contains: "needs Policy.ReadWrite.AuthenticationMethod"},
		{name: "permanent", err: &entra.PermanentError{Op: "create group", Status: 400, Code: "Request_BadRequest", Message: "bad"},
			permanent: true, contains: "HTTP 400 Request_BadRequest: bad"},
		{name: "throttled", err: &entra.ThrottledError{Op: "read", Status: 429}, contains: "throttled"},
		{name: "throttled wrapping permanent stays retryable",
			err: &entra.ThrottledError{Op: "read", Status: 503, Err: &entra.PermanentError{Op: "x"}}},
		{name: "plain", err: errors.New("connection reset")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := entra.IsPermanent(tt.err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tt.permanent)
			}
			if tt.is != nil && !errors.Is(tt.err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.is)
			}
			if tt.contains != "" && !strings.Contains(tt.err.Error(), tt.contains) {
				t.Errorf("%q does not contain %q", tt.err.Error(), tt.contains)
			}
		})
	}
	var pe *entra.PermissionError
	if !errors.As(fmt.Errorf("w: %w", &entra.PermissionError{Permission: "X"}), &pe) || pe.Permission != "X" {
		t.Error("errors.As PermissionError")
	}
}

func TestInstructions(t *testing.T) {
	changes := []entra.Change{
		{Field: "notifications.admins", From: "false", To: "true", Portal: true},
		{Field: "group", From: "", To: "g1", Portal: true},
		{Field: "scope", From: "none", To: "selected", Portal: true},
		{Field: "method.mobileAppCode", From: "false", To: "true", Portal: true},
		{Field: "methodsRequired", From: "1", To: "2", Portal: true},
		{Field: "policy.email", From: "disabled", To: "enabled"},
		{Field: "helpdesk.contact", From: "", To: "help@example.com", Portal: true},
		{Field: "writeback.enabled", From: "false", To: "true", Portal: true},
	}
	got := entra.Instructions(changes, entra.Group{ID: "g1", DisplayName: "SSPR-Pilot"})
	want := []string{
		"Entra admin center > Protection > Password reset > Properties > Self service password reset enabled: Selected > Select group: SSPR-Pilot > Save",
		"Entra admin center > Protection > Password reset > Authentication methods > Number of methods required to reset: 2 > Save",
		"Entra admin center > Protection > Password reset > Authentication methods > Methods available to users > Mobile app code: check > Save",
		"Entra admin center > Protection > Authentication methods > Policies > Email OTP > Enable and Target > Enable: On > Save",
		"Entra admin center > Protection > Password reset > Notifications > Notify all admins when other admins reset their password: Yes > Save",
		"Entra admin center > Protection > Password reset > Customization > Custom helpdesk email or URL: help@example.com > Save",
		"Entra admin center > Protection > Password reset > On-premises integration > Write back passwords to your on-premises directory: check > Save",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Instructions:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The input is not reordered in place.
	if changes[0].Field != "notifications.admins" {
		t.Error("Instructions reordered its input")
	}
	// Group alone (scope unchanged) still names the group; unknown group falls back to the id.
	got = entra.Instructions([]entra.Change{{Field: "group", To: "g2", Portal: true}})
	if len(got) != 1 || !strings.Contains(got[0], "Selected > Select group: the group with object id g2") {
		t.Errorf("group-only instructions = %q", got)
	}
}

// TestTableRows: every row is complete, every plan method has its portal
// flag, and every settings step owns fields.
func TestTableRows(t *testing.T) {
	seen := map[entra.Field]bool{}
	steps := map[entra.Step]int{}
	for _, s := range entra.Fields() {
		if seen[s.Field] {
			t.Errorf("%s: two rows", s.Field)
		}
		seen[s.Field] = true
		steps[s.Step]++
		if s.Object == "" || s.Key == "" || s.Control == "" || !strings.HasPrefix(s.Page, "Protection > ") {
			t.Errorf("%s: incomplete row %+v", s.Field, s)
		}
		if (s.Surface == entra.SurfaceGraph) != (len(s.ForMethods) > 0) {
			t.Errorf("%s: a Graph field needs the methods it serves, a portal field none", s.Field)
		}
		if s.Field.IsPortal() != (s.Surface == entra.SurfacePortal) {
			t.Errorf("%s: IsPortal disagrees with the table", s.Field)
		}
		if s.Default != "" {
			if err := s.Check(s.Default); err != nil {
				t.Errorf("%s: default: %v", s.Field, err)
			}
		}
		if !strings.HasPrefix(s.Instruction("true"), "Entra admin center > "+s.Label()+": ") {
			t.Errorf("%s: instruction %q", s.Field, s.Instruction("true"))
		}
	}
	for _, m := range plan.AllMethods {
		if !seen[entra.MethodField(m)] {
			t.Errorf("no portal flag for method %s", m)
		}
	}
	for _, st := range []entra.Step{entra.StepMethods, entra.StepRegistration, entra.StepNotifications,
		entra.StepHelpdesk, entra.StepWriteback, entra.StepScope} {
		if steps[st] == 0 || len(entra.StepFields(st)) != steps[st] {
			t.Errorf("step %s owns %d rows, StepFields %v", st, steps[st], entra.StepFields(st))
		}
	}
}

// TestDefaultsAreThePlans: a plan that omits every setting asks the tenant
// for each row's Default, so the table and plan.WithDefaults agree.
func TestDefaultsAreThePlans(t *testing.T) {
	r := &plan.Rollout{Spec: plan.Spec{Writeback: plan.Writeback{Mode: plan.WritebackConnect}}}
	got := entra.DesiredSettings(r, "g1", entra.ScopeSelected)
	n := 0
	for _, s := range entra.Fields() {
		if s.Default == "" {
			continue
		}
		n++
		if got[s.Field] != s.Default {
			t.Errorf("%s: a plan that omits it asks for %q, the table's default is %q", s.Field, got[s.Field], s.Default)
		}
	}
	if n < 10 {
		t.Errorf("only %d rows have a default", n)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		change entra.Change
		want   string // substring of the error; "" = valid
	}{
		{entra.Change{Field: entra.FieldScope, To: "selected"}, ""},
		{entra.Change{Field: entra.FieldScope, To: "some"}, "want none or selected or all"},
		{entra.Change{Field: entra.FieldMethodsRequired, To: "3"}, "want 1 or 2"},
		{entra.Change{Field: entra.FieldReconfirmDays, To: "-1"}, "non-negative integer"},
		{entra.Change{Field: entra.FieldReconfirmDays, To: "0"}, ""},
		{entra.Change{Field: entra.FieldNotifyUsers, To: "yes"}, "true or false"},
		{entra.Change{Field: entra.PolicyField(entra.PolicySMS), To: "on"}, "enabled or disabled"},
		{entra.Change{Field: entra.FieldHelpdeskContact, To: "anything"}, ""},
		{entra.Change{Field: "policy.fido2", To: "enabled"}, `unsupported field "policy.fido2"`},
	}
	for _, tt := range tests {
		err := entra.Check([]entra.Change{tt.change})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v", tt.change, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !entra.IsPermanent(err)):
			t.Errorf("%+v: %v, want a permanent error containing %q", tt.change, err, tt.want)
		}
	}
}

func TestDiffPlan(t *testing.T) {
	pilot := func(all bool) *plan.Rollout {
		r := &plan.Rollout{Spec: plan.Spec{Stages: []plan.Stage{{Name: "pilot", Group: &plan.GroupRef{Name: "SSPR-Pilot"}}}}}
		if all {
			r.Spec.Stages = append(r.Spec.Stages, plan.Stage{Name: "all", All: true})
		}
		return r
	}
	boom := &entra.ThrottledError{Op: "find group", Status: 429}
	tests := []struct {
		name        string
		plan        *plan.Rollout
		group       bool // the group exists
		err         map[string]error
		wantScope   entra.Scope
		wantGroupTo string // the group change's To; "" = no group change
		wantErr     error
	}{
		{name: "pilot, group exists", plan: pilot(false), group: true, wantScope: entra.ScopeSelected, wantGroupTo: "group-1"},
		{name: "pilot, group to create", plan: pilot(false), wantScope: entra.ScopeSelected, wantGroupTo: entra.PendingGroupID("SSPR-Pilot")},
		{name: "ends with all", plan: pilot(true), group: true, wantScope: entra.ScopeAll},
		{name: "find group fails", plan: pilot(false), err: map[string]error{"FindGroup": boom}, wantErr: boom},
		{name: "snapshot fails", plan: pilot(false), err: map[string]error{"Snapshot": boom}, wantErr: boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := entrafake.New(entra.Settings{entra.FieldScope: "none"})
			if tt.group {
				if _, err := ft.CreateGroup(context.Background(), "SSPR-Pilot"); err != nil {
					t.Fatal(err)
				}
			}
			for op, err := range tt.err {
				ft.Err[op] = err
			}
			d, err := entra.DiffPlan(context.Background(), ft, tt.plan)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Scope != tt.wantScope || d.GroupExists != tt.group || d.Group.DisplayName != "SSPR-Pilot" {
				t.Errorf("scope %s, group %+v exists %v", d.Scope, d.Group, d.GroupExists)
			}
			want := entra.Diff(d.Snapshot, entra.DesiredSettings(tt.plan, tt.wantGroupTo, tt.wantScope))
			if !reflect.DeepEqual(d.Changes, want) {
				t.Errorf("changes\n got %+v\nwant %+v", d.Changes, want)
			}
			groupTo := ""
			for _, c := range d.Changes {
				if c.Field == entra.FieldGroup {
					groupTo = c.To
				}
			}
			if groupTo != tt.wantGroupTo {
				t.Errorf("group change to %q, want %q", groupTo, tt.wantGroupTo)
			}
			if len(ft.Applied) != 0 {
				t.Errorf("DiffPlan wrote %v", ft.Applied)
			}
		})
	}
}
