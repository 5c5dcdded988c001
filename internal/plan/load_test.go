package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var examples = []string{"../../examples/pilot.yaml", "../../examples/waves.yaml", "../../examples/org-waves.yaml"}

// TestExamplesListed keeps the list above in step with examples/, so a new
// example is loaded and round-tripped too.
func TestExamplesListed(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !slices.Contains(examples, f) {
			t.Errorf("%s is not in the examples list", f)
		}
	}
}

// TestExampleFilesExist: every select.file an example names is there,
// relative to the example.
func TestExampleFilesExist(t *testing.T) {
	for _, path := range examples {
		r, err := LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, st := range r.Spec.Stages {
			if st.Select == nil || st.Select.File == "" {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), filepath.FromSlash(st.Select.File))); err != nil {
				t.Errorf("%s: spec.stages[%d].select.file: %v", path, i, err)
			}
		}
	}
}

func TestOrgWavesExample(t *testing.T) {
	r, err := LoadFile("../../examples/org-waves.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, st := range r.Spec.Stages {
		switch {
		case st.Select != nil:
			kinds = append(kinds, st.Select.Kind())
		case len(st.Members) > 0:
			kinds = append(kinds, "members")
		case st.All:
			kinds = append(kinds, "all")
		}
	}
	if want := []string{"members", SelectGroups, SelectFile, SelectFilter, SelectPercent, "all"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("stages choose by %v, want %v", kinds, want)
	}
	s := r.Spec.Stages
	if !reflect.DeepEqual(s[1].Select.Groups, []string{"All-Sales", "Sales 'EU'"}) || s[2].Select.File != "waves/hr-wave.csv" ||
		s[3].Select.Filter != "department eq 'Engineering'" || s[4].Select.Percent != 25 {
		t.Errorf("selections = %+v %+v %+v %+v", s[1].Select, s[2].Select, s[3].Select, s[4].Select)
	}
	ex := r.Spec.Exclude
	if !reflect.DeepEqual(ex.Groups, []string{"Break-Glass"}) || !ex.ExcludeAdmins() || !ex.ExcludeGuests() || !ex.ExcludeDisabled() {
		t.Errorf("exclude = %+v", ex)
	}
}

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
		{"bad-select.yaml", []string{"spec.stages[1].select", "spec.stages[2].select.file", "spec.stages[3].select.filter", "spec.stages[4].select.percent",
			"spec.stages[5].memberList", "spec.stages[6].select", "spec.exclude.groups[1]"}},
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
		Exclude:        Exclude{Admins: &fals, Guests: &tru, Disabled: &tru},
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

// TestWithDefaultsCopiesSelections: the copy shares no selection, member
// list or exclusion with its source.
func TestWithDefaultsCopiesSelections(t *testing.T) {
	r := &Rollout{Spec: Spec{
		Stages: []Stage{
			{Name: "pilot", Group: &GroupRef{Name: "g"}, MemberList: &ListRef{Digest: "sha256:x", Count: 1}},
			{Name: "sales", Select: &Selection{Groups: []string{"All-Sales"}}},
			{Name: "all", All: true},
		},
		Exclude: Exclude{Groups: []string{"Break-Glass"}},
	}}
	d := r.WithDefaults()
	d.Spec.Stages[0].MemberList.Count = 9
	d.Spec.Stages[1].Select.Groups[0] = "changed"
	d.Spec.Stages[1].Select.Percent = 5
	d.Spec.Exclude.Groups[0] = "changed"
	*d.Spec.Exclude.Guests = false
	if r.Spec.Stages[0].MemberList.Count != 1 || r.Spec.Stages[1].Select.Groups[0] != "All-Sales" || r.Spec.Stages[1].Select.Percent != 0 ||
		r.Spec.Exclude.Groups[0] != "Break-Glass" || r.Spec.Exclude.Guests != nil {
		t.Errorf("WithDefaults' copy shares memory with its source: %+v", r.Spec)
	}
	if e := (Exclude{}); e.ExcludeAdmins() != DefaultExcludeAdmins || e.ExcludeGuests() != DefaultExcludeGuests || e.ExcludeDisabled() != DefaultExcludeDisabled {
		t.Errorf("an unset Exclude does not report the defaults")
	}
	if ex := d.Spec.Exclude; ex.Admins == nil || *ex.Admins != DefaultExcludeAdmins || ex.Disabled == nil || *ex.Disabled != DefaultExcludeDisabled {
		t.Errorf("WithDefaults left exclude %+v", ex)
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
