package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var examples = []string{"../../examples/pilot.yaml", "../../examples/waves.yaml"}

func TestExamplesLoad(t *testing.T) {
	for _, path := range examples {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if _, err := LoadFile(path); err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
		})
	}
}

func TestPilotExample(t *testing.T) {
	r, err := LoadFile("../../examples/pilot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := r.Spec
	if s.SSPRPolicy.Mode != PolicyModePortalAPI || s.MethodsRequired != 1 ||
		!reflect.DeepEqual(s.Methods, []Method{MethodEmail, MethodMobilePhone, MethodMobileAppCode}) {
		t.Errorf("methods section = %+v %d %v", s.SSPRPolicy, s.MethodsRequired, s.Methods)
	}
	if d := s.Directory; d == nil || d.Profile != "lab" {
		t.Errorf("directory = %+v, want profile lab", d)
	}
	if s.Writeback.Mode != WritebackConnect || s.Writeback.AgentQueue != "ssprflow-writeback-sync01" {
		t.Errorf("writeback = %+v", s.Writeback)
	}
	if len(s.Stages) != 2 || len(s.Stages[0].Members) != 5 || s.Stages[0].Group.Name != "SSPR-Pilot" {
		t.Errorf("stages = %+v", s.Stages)
	}
	want := Gate{Soak: Duration(10 * time.Second), MinRegistrationPercent: 60, Approvals: 1,
		Timeout: Duration(time.Hour), MetricTimeout: Duration(time.Hour)}
	if g := r.GateFor(0); g == nil || *g != want {
		t.Errorf("GateFor(0) = %+v, want %+v", g, want)
	}
	if g := r.GateFor(1); g != nil {
		t.Errorf("GateFor(final) = %+v, want nil", g)
	}
}

func TestFiveMistakes(t *testing.T) {
	_, err := LoadFile("testdata/five-mistakes.yaml")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("LoadFile = %v, want *ValidationError", err)
	}
	want := []struct {
		line  int
		field string
	}{
		{11, "spec.methods[1]"},
		{13, "spec.registration.reconfirmDays"},
		{14, "spec.notifcations"},
		{17, "spec.helpdesk.url"},
		{21, "spec.directory.bindPassword"},
	}
	if len(ve.Problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ve.Problems), len(want), err)
	}
	for i, w := range want {
		p := ve.Problems[i]
		if p.Line != w.line || p.Field != w.field || p.Fix == "" || p.File != "testdata/five-mistakes.yaml" {
			t.Errorf("problem %d = %+v, want line %d field %s", i, p, w.line, w.field)
		}
	}
	if strings.Contains(err.Error(), "Sup3rS3cret") {
		t.Errorf("error echoes the inline password:\n%v", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "testdata/five-mistakes.yaml:11:7: spec.methods[1]: mobileAppNotification needs methodsRequired: 2") {
		t.Errorf("Error() =\n%s", err)
	}
	t.Logf("\n%s", err)
}

func TestBrokenTestdata(t *testing.T) {
	tests := []struct {
		file   string
		fields []string
	}{
		{"wrong-types.yaml", []string{"spec.methodsRequired", "spec.methods", "spec.registration.requireOnSignIn", "spec.stages[0].gate.soak", "spec.stages[0].gate.approvals"}},
		{"bad-stages.yaml", []string{"spec.stages[0].group", "spec.stages[1].name", "spec.stages[1].group", "spec.stages[1].members[0]", "spec.stages[2].name", "spec.stages[2].members", "spec.stages[2].members[0]"}},
		{"syntax-error.yaml", []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := LoadFile(filepath.Join("testdata", tt.file))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("LoadFile = %v, want *ValidationError", err)
			}
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.Field)
				if p.Line == 0 || p.Fix == "" {
					t.Errorf("problem without line or fix: %+v", p)
				}
			}
			if !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("fields = %q, want %q\n%v", got, tt.fields, err)
			}
		})
	}
}

// TestSyntaxError: malformed YAML is reported at the line at fault, in
// terms of the document (a tab, an indentation that matches nothing), with
// the fix; the parser's own error stays available through Unwrap.
func TestSyntaxError(t *testing.T) {
	tests := []struct {
		name  string
		edits []string
		at    string // the line at fault is the first containing this
		msg   string // Error() after "case.yaml:LINE: "
		fix   string
	}{
		{"tab indents a key", []string{"  ssprPolicy:\n    mode: manual", "  ssprPolicy:\n\tmode: manual"}, "\tmode: manual",
			"a tab indents this line; YAML indents with spaces only", "replace the tab with spaces"},
		{"tab indents a list item", []string{"    - email", "\t- email"}, "\t- email",
			"a tab indents this line; YAML indents with spaces only", "replace the tab with spaces"},
		{"indented too far", []string{"  tenant: contoso", "   tenant: contoso"}, "   tenant:",
			"this line is indented further than the line above, whose key already has a value", "indent it by 2 spaces to line up with the line above"},
		{"indented too little", []string{"  tenant: contoso", " tenant: contoso"}, " tenant:",
			"this line is indented by 1 space, which lines up with no block above it", "indent it by 2 spaces to continue the block above, or by 0 spaces to end that block"},
		{"stage misaligned", []string{"    - name: all", "   - name: all"}, "   - name: all",
			"this line is indented by 3 spaces, which lines up with no block above it", "indent it by 4 spaces to continue the block above"},
		{"unquoted colon", []string{"  tenant: contoso.onmicrosoft.com", "  tenant: contoso.onmicrosoft.com\n  description: pilot: five users"}, "description:",
			`the value of "description" contains ": "`, `put the value in quotes: description: "..."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := edit(t, tt.edits...)
			_, err := Load("case.yaml", []byte(doc))
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 {
				t.Fatalf("Load = %v, want one problem", err)
			}
			p := ve.Problems[0]
			want := fmt.Sprintf("case.yaml:%d: %s", lineOf(t, doc, tt.at), tt.msg)
			if !strings.HasPrefix(err.Error(), want) || !strings.Contains(p.Fix, tt.fix) {
				t.Errorf("Error() = %q\nwant prefix %q and a fix containing %q", err, want, tt.fix)
			}
			cause := errors.Unwrap(err)
			if cause == nil || !strings.HasPrefix(cause.Error(), "case.yaml: yaml: ") {
				t.Errorf("Unwrap = %v, want the YAML error prefixed with the file name", cause)
			}
		})
	}
}

func TestLoadDocumentShape(t *testing.T) {
	tests := []struct {
		name, doc, msg string
	}{
		{"empty", "", "empty"},
		{"comment only", "# nothing\n", "empty"},
		{"scalar", "hello\n", "mapping"},
		{"list", "- a\n", "mapping"},
		{"two documents", validPlan + "---\nkind: Rollout\n", "one document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("doc.yaml", []byte(tt.doc))
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Load = %v, want a *ValidationError about %q", err, tt.msg)
			}
		})
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile("testdata/does-not-exist.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadFile = %v, want fs.ErrNotExist", err)
	}
}

func TestDefaults(t *testing.T) {
	const minimal = `apiVersion: ssprflow/v1
kind: Rollout
metadata: {name: minimal, tenant: contoso.onmicrosoft.com}
spec:
  stages:
    - name: pilot
      group: {name: SSPR-Pilot}
      gate: {approvals: 0}
    - name: all
      all: true
`
	r, err := Load("minimal.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	tru, fals, days := true, false, 180
	want := Spec{
		SSPRPolicy:      SSPRPolicy{Mode: PolicyModeManual},
		MethodsRequired: 1,
		Methods:         []Method{MethodEmail, MethodMobilePhone},
		Registration:    Registration{RequireOnSignIn: &tru, ReconfirmDays: &days},
		Notifications:   Notifications{NotifyUsersOnReset: &tru, NotifyAdminsOnAdminReset: &fals},
		Writeback:       Writeback{Mode: WritebackNone, AgentTimeout: Duration(time.Hour), UnlockAccounts: &tru},
		Stages: []Stage{
			{Name: "pilot", Group: &GroupRef{Name: "SSPR-Pilot", Create: &tru},
				Gate: &Gate{Timeout: Duration(72 * time.Hour), MetricTimeout: Duration(72 * time.Hour)}},
			{Name: "all", All: true},
		},
		FailurePolicy:  RollbackAll,
		MissingMembers: MissingMembersStop,
	}
	if !reflect.DeepEqual(r.Spec, want) {
		got, _ := json.Marshal(r.Spec)
		exp, _ := json.Marshal(want)
		t.Errorf("defaults:\n got %s\nwant %s", got, exp)
	}

	// With a directory, writeback defaults to Entra Connect and the GPO check is on.
	withDir := strings.Replace(minimal, "spec:\n", "spec:\n  directory: {profile: corp}\n", 1)
	r, err = Load("dir.yaml", []byte(withDir))
	if err != nil {
		t.Fatal(err)
	}
	if r.Spec.Writeback.Mode != WritebackConnect || r.Spec.Directory.RequireMinPasswordAgeZero == nil || !*r.Spec.Directory.RequireMinPasswordAgeZero {
		t.Errorf("directory defaults: writeback %+v, directory %+v", r.Spec.Writeback, r.Spec.Directory)
	}

	// Explicit values win over defaults, including false and 0.
	explicit := strings.Replace(minimal, "spec:\n", "spec:\n  registration: {requireOnSignIn: false, reconfirmDays: 0}\n  notifications: {notifyUsersOnReset: false}\n", 1)
	r, err = Load("explicit.yaml", []byte(explicit))
	if err != nil {
		t.Fatal(err)
	}
	if *r.Spec.Registration.RequireOnSignIn || *r.Spec.Registration.ReconfirmDays != 0 || *r.Spec.Notifications.NotifyUsersOnReset {
		t.Errorf("explicit values overridden: %+v %+v", r.Spec.Registration, r.Spec.Notifications)
	}
}

func TestWithDefaultsDoesNotModify(t *testing.T) {
	r := &Rollout{Spec: Spec{Stages: []Stage{{Name: "pilot", Group: &GroupRef{Name: "g"}, Gate: &Gate{}}, {Name: "all", All: true}}}}
	d := r.WithDefaults()
	if r.Spec.Stages[0].Group.Create != nil || r.Spec.Stages[0].Gate.Timeout != 0 || r.Spec.MethodsRequired != 0 {
		t.Errorf("WithDefaults changed its receiver: %+v", r.Spec)
	}
	if !reflect.DeepEqual(d.WithDefaults(), d) {
		t.Errorf("WithDefaults is not idempotent")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, path := range examples {
		t.Run(filepath.Base(path), func(t *testing.T) {
			r, err := LoadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var back Rollout
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r, &back) {
				b2, _ := json.Marshal(&back)
				t.Errorf("round trip changed the plan:\n%s\n%s", b, b2)
			}
			if err := back.Validate(); err != nil {
				t.Errorf("decoded plan no longer validates: %v", err)
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	r := &Rollout{Metadata: Metadata{Name: "sspr-pilot", Tenant: "Contoso.onMicrosoft.com"}}
	if got := r.TenantToken(); got != "contoso_onmicrosoft_com" {
		t.Errorf("TenantToken = %q", got)
	}
	if r.EndsWithAll() {
		t.Error("EndsWithAll with no stages")
	}
	r.Spec.Stages = []Stage{{Name: "pilot"}, {Name: "all", All: true}}
	if !r.EndsWithAll() {
		t.Error("EndsWithAll with a final all stage = false")
	}
	odd := &Rollout{Metadata: Metadata{Name: "x", Tenant: "a.b*c>d e"}}
	if got := odd.TenantToken(); got != "a_b_c_d_e" {
		t.Errorf("TenantToken(odd) = %q", got)
	}
	if got := (&Rollout{}).TenantToken(); got != "_" {
		t.Errorf("TenantToken(empty) = %q", got)
	}

	own := &Gate{Approvals: 2}
	def := &Gate{Approvals: 1}
	g := &Rollout{Spec: Spec{DefaultGate: def, Stages: []Stage{{Name: "pilot", Gate: own}, {Name: "wave-1"}, {Name: "all", All: true}}}}
	for i, want := range []*Gate{own, def, nil, nil} {
		got := g.GateFor(i)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GateFor(%d) = %+v, want %+v", i, got, want)
		}
	}
	if g.GateFor(-1) != nil {
		t.Error("GateFor(-1) != nil")
	}
	g.GateFor(0).Approvals = 9
	if own.Approvals != 2 {
		t.Error("GateFor returned the plan's own gate, not a copy")
	}
	noDefault := &Rollout{Spec: Spec{Stages: []Stage{{Name: "pilot"}, {Name: "all", All: true}}}}
	if noDefault.GateFor(0) != nil {
		t.Error("GateFor without any gate != nil")
	}
}

func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile("../../examples/pilot.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Load("pilot.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
