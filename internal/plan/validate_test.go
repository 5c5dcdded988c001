package plan

import (
	"errors"
	"strings"
	"testing"
)

// validPlan is a complete, valid plan; each case below edits it to break
// exactly one rule.
const validPlan = `apiVersion: ssprflow/v1
kind: Rollout
metadata:
  name: sspr-test
  tenant: contoso.onmicrosoft.com
spec:
  ssprPolicy:
    mode: manual
  methodsRequired: 1
  methods:
    - email
    - mobilePhone
  registration:
    reconfirmDays: 180
  helpdesk:
    url: https://support.contoso.com
  directory:
    profile: corp
    scope: ["DC=example,DC=test"]
  writeback:
    mode: connect
  stages:
    - name: pilot
      group:
        name: SSPR-Pilot
      members:
        - alice@contoso.onmicrosoft.com
      gate:
        soak: 10s
        minRegistrationPercent: 60
        approvals: 1
        timeout: 1h
    - name: all
      all: true
  approvers:
    - id: alice
  failurePolicy: rollback-all
  missingMembers: stop
`

// edit replaces old with new in validPlan, failing the test if old is absent
// so a case never silently tests the unmodified plan.
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := validPlan
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("test bug: %q not in validPlan", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

// lineOf returns the 1-based line on which the first occurrence of marker
// ends, so a multi-line marker picks out its last line.
func lineOf(t *testing.T, doc, marker string) int {
	t.Helper()
	i := strings.Index(doc, marker)
	if i < 0 {
		t.Fatalf("test bug: marker %q not in document", marker)
	}
	return strings.Count(doc[:i+len(marker)], "\n") + 1
}

func TestValidPlanLoads(t *testing.T) {
	if _, err := Load("valid.yaml", []byte(validPlan)); err != nil {
		t.Fatalf("Load(validPlan) = %v", err)
	}
}

func TestRules(t *testing.T) {
	wavePlan := edit(t, "    - name: all\n", "    - name: wave-1\n      members: [bob@contoso.onmicrosoft.com]\n    - name: all\n")
	tests := []struct {
		name  string
		edits []string
		doc   string // used instead of edits when set
		field string // want a problem at this field...
		at    string // ...on the first line containing this marker
		msg   string // ...whose message contains this
		fix   string // ...and whose fix contains this, when set
		only  bool   // ...and no other problem
	}{
		{name: "apiVersion wrong", edits: []string{"ssprflow/v1", "ssprflow/v2"}, field: "apiVersion", at: "apiVersion:", msg: `must be "ssprflow/v1"`},
		{name: "apiVersion missing", edits: []string{"apiVersion: ssprflow/v1\n", ""}, field: "apiVersion", at: "kind:", msg: "missing"},
		{name: "kind wrong", edits: []string{"kind: Rollout", "kind: Plan"}, field: "kind", at: "kind:", msg: `must be "Rollout"`},
		{name: "name missing", edits: []string{"  name: sspr-test\n", ""}, field: "metadata.name", at: "metadata:", msg: "missing"},
		{name: "name uppercase", edits: []string{"name: sspr-test", "name: SSPR_Test"}, field: "metadata.name", at: "SSPR_Test", msg: "lowercase"},
		{name: "name with dot", edits: []string{"name: sspr-test", "name: sspr.test"}, field: "metadata.name", at: "sspr.test", msg: "NATS"},
		{name: "tenant missing", edits: []string{"  tenant: contoso.onmicrosoft.com\n", ""}, field: "metadata.tenant", at: "metadata:", msg: "missing"},
		{name: "tenant with space", edits: []string{"tenant: contoso.onmicrosoft.com", "tenant: contoso onmicrosoft"}, field: "metadata.tenant", at: "tenant:", msg: "domain"},
		{name: "policy mode", edits: []string{"mode: manual", "mode: auto"}, field: "spec.ssprPolicy.mode", at: "mode: auto", msg: "portal-api"},
		{name: "methodsRequired 3", edits: []string{"methodsRequired: 1", "methodsRequired: 3"}, field: "spec.methodsRequired", at: "methodsRequired", msg: "must be 1 or 2, got 3"},
		{name: "methodsRequired 0", edits: []string{"methodsRequired: 1", "methodsRequired: 0"}, field: "spec.methodsRequired", at: "methodsRequired", msg: "got 0"},
		{name: "unknown method", edits: []string{"- mobilePhone", "- mobilephon"}, field: "spec.methods[1]", at: "mobilephon", msg: "unknown method"},
		{name: "duplicate method", edits: []string{"- mobilePhone", "- email"}, field: "spec.methods[1]", at: "    - email\n    - email", msg: "twice"},
		{name: "mobileAppNotification with 1", edits: []string{"- mobilePhone", "- mobileAppNotification"}, field: "spec.methods[1]", at: "mobileAppNotification", msg: "mobileAppNotification needs methodsRequired: 2"},
		{name: "2 required, 1 method", edits: []string{"methodsRequired: 1", "methodsRequired: 2", "    - mobilePhone\n", ""}, field: "spec.methods", at: "  methods:", msg: "only 1"},
		{name: "methods empty", edits: []string{"  methods:\n    - email\n    - mobilePhone\n", "  methods: []\n"}, field: "spec.methods", at: "methods: []", msg: "the list is empty",
			fix: "list at least one method, such as - email, or remove methods to take the portal's default (email, mobilePhone)", only: true},
		{name: "methods empty, two required", edits: []string{"methodsRequired: 1", "methodsRequired: 2", "  methods:\n    - email\n    - mobilePhone\n", "  methods: []\n"}, field: "spec.methods", at: "methods: []", msg: "the list is empty", only: true},
		{name: "reconfirm too high", edits: []string{"reconfirmDays: 180", "reconfirmDays: 731"}, field: "spec.registration.reconfirmDays", at: "reconfirmDays", msg: "0 and 730"},
		{name: "reconfirm negative", edits: []string{"reconfirmDays: 180", "reconfirmDays: -1"}, field: "spec.registration.reconfirmDays", at: "reconfirmDays", msg: "got -1"},
		{name: "helpdesk both", edits: []string{"url: https://support.contoso.com", "url: https://support.contoso.com\n    email: help@contoso.com"}, field: "spec.helpdesk", at: "helpdesk:", msg: "not both"},
		{name: "helpdesk bad email", edits: []string{"url: https://support.contoso.com", "email: help desk"}, field: "spec.helpdesk.email", at: "email: help", msg: "not an email"},
		{name: "helpdesk http", edits: []string{"url: https://support", "url: http://support"}, field: "spec.helpdesk.url", at: "http://", msg: "https://"},
		{name: "helpdesk ftp", edits: []string{"url: https://support", "url: ftp://support"}, field: "spec.helpdesk.url", at: "ftp://", msg: "https://"},
		{name: "profile missing", edits: []string{"    profile: corp\n", ""}, field: "spec.directory.profile", at: "directory:", msg: "missing"},
		{name: "profile bad", edits: []string{"profile: corp", "profile: 'corp dc'"}, field: "spec.directory.profile", at: "profile:", msg: "not a directory profile name"},
		{name: "scope not a DN", edits: []string{`scope: ["DC=example,DC=test"]`, `scope: ["example.test"]`}, field: "spec.directory.scope[0]", at: "scope:", msg: "distinguished name"},
		{name: "writeback without directory", edits: []string{"  directory:\n    profile: corp\n    scope: [\"DC=example,DC=test\"]\n", ""}, field: "spec.writeback.mode", at: "mode: connect", msg: "directory"},
		{name: "writeback mode", edits: []string{"mode: connect", "mode: aadconnect"}, field: "spec.writeback.mode", at: "aadconnect", msg: "cloudsync"},
		{name: "no stages", edits: []string{"  stages:\n    - name: pilot\n      group:\n        name: SSPR-Pilot\n      members:\n        - alice@contoso.onmicrosoft.com\n      gate:\n        soak: 10s\n        minRegistrationPercent: 60\n        approvals: 1\n        timeout: 1h\n    - name: all\n      all: true\n", "  stages: []\n"}, field: "spec.stages", at: "stages:", msg: "at least one"},
		{name: "stage name", edits: []string{"- name: pilot", "- name: Pilot_1"}, field: "spec.stages[0].name", at: "Pilot_1", msg: "lowercase"},
		{name: "duplicate stage", doc: strings.Replace(wavePlan, "name: wave-1", "name: pilot", 1), field: "spec.stages[1].name", at: "timeout: 1h\n    - name: pilot", msg: "duplicate stage name"},
		{name: "first stage without group", edits: []string{"      group:\n        name: SSPR-Pilot\n", ""}, field: "spec.stages[0].group", at: "- name: pilot", msg: "Selected"},
		{name: "group on later stage", doc: strings.Replace(wavePlan, "members: [bob", "group: {name: G2}\n      members: [bob", 1), field: "spec.stages[1].group", at: "G2", msg: "only the first stage"},
		{name: "group by id", edits: []string{"        name: SSPR-Pilot\n", "        id: 1f8e0c6a-3d0b-4c5e-9a51-2b6f7e0d9c34\n"}, field: "spec.stages[0].group.id", at: "id: 1f8e", msg: "a group is named, not given by id",
			fix: "write group: {name: DISPLAY-NAME} with the group's display name", only: true},
		{name: "group by objectId", edits: []string{"      group:\n        name: SSPR-Pilot\n", "      group: {objectId: 1f8e0c6a-3d0b-4c5e-9a51-2b6f7e0d9c34}\n"}, field: "spec.stages[0].group.objectId", at: "objectId", msg: "objectId is not a group setting",
			fix: "group: {name: DISPLAY-NAME}", only: true},
		{name: "group without name", edits: []string{"        name: SSPR-Pilot\n", "        create: false\n"}, field: "spec.stages[0].group.name", at: "group:", msg: "missing"},
		{name: "final not all", edits: []string{"    - name: all\n      all: true\n", "    - name: wave-1\n      members: [bob@contoso.onmicrosoft.com]\n"}, field: "spec.stages[1]", at: "- name: wave-1", msg: "final stage"},
		{name: "all not final", doc: strings.Replace(wavePlan, "members: [bob@contoso.onmicrosoft.com]", "all: true", 1), field: "spec.stages[1].all", at: "- name: wave-1\n      all: true", msg: "only the final stage"},
		{name: "all stage without all", edits: []string{"      all: true\n", ""}, field: "spec.stages[1].all", at: "- name: all", msg: "must set all: true"},
		{name: "all stage with members", edits: []string{"      all: true\n", "      all: true\n      members: [bob@contoso.onmicrosoft.com]\n"}, field: "spec.stages[1].members", at: "members: [bob", msg: "not used"},
		{name: "gate on final stage", edits: []string{"      all: true\n", "      all: true\n      gate: {approvals: 1}\n"}, field: "spec.stages[1].gate", at: "gate: {approvals", msg: "no next stage"},
		{name: "wave without members", doc: strings.Replace(wavePlan, "      members: [bob@contoso.onmicrosoft.com]\n", "", 1), field: "spec.stages[1].members", at: "- name: wave-1", msg: "at least one member"},
		{name: "member not upn", edits: []string{"- alice@contoso.onmicrosoft.com", "- alice"}, field: "spec.stages[0].members[0]", at: "- alice", msg: "user principal name"},
		{name: "member twice", doc: strings.Replace(wavePlan, "[bob@", "[ALICE@", 1), field: "spec.stages[1].members[0]", at: "ALICE@", msg: "already a member"},
		{name: "approvals exceed approvers", edits: []string{"approvals: 1", "approvals: 2"}, field: "spec.stages[0].gate.approvals", at: "approvals: 2", msg: "only 1 approvers"},
		{name: "approvals negative", edits: []string{"approvals: 1", "approvals: -1"}, field: "spec.stages[0].gate.approvals", at: "approvals: -1", msg: "negative"},
		{name: "approvals without approvers", edits: []string{"  approvers:\n    - id: alice\n", ""}, field: "spec.stages[0].gate.approvals", at: "approvals: 1", msg: "spec.approvers is empty"},
		{name: "percent over 100", edits: []string{"minRegistrationPercent: 60", "minRegistrationPercent: 101"}, field: "spec.stages[0].gate.minRegistrationPercent", at: "101", msg: "0 and 100"},
		{name: "percent NaN", edits: []string{"minRegistrationPercent: 60", "minRegistrationPercent: .nan"}, field: "spec.stages[0].gate.minRegistrationPercent", at: ".nan", msg: "0 and 100"},
		{name: "negative soak", edits: []string{"soak: 10s", "soak: -10s"}, field: "spec.stages[0].gate.soak", at: "soak:", msg: "negative"},
		{name: "negative default gate timeout", edits: []string{"  approvers:", "  defaultGate: {timeout: -1d}\n  approvers:"}, field: "spec.defaultGate.timeout", at: "defaultGate", msg: "negative"},
		{name: "approver id missing", edits: []string{"- id: alice", "- name: Alice"}, field: "spec.approvers[0].id", at: "- name: Alice", msg: "missing"},
		{name: "approver duplicate", edits: []string{"    - id: alice\n", "    - id: alice\n    - id: alice\n"}, field: "spec.approvers[1].id", at: "    - id: alice\n    - id: alice", msg: "duplicate approver"},
		{name: "approver id spaces", edits: []string{"- id: alice", "- id: alice smith"}, field: "spec.approvers[0].id", at: "alice smith", msg: "letters"},
		{name: "failure policy", edits: []string{"failurePolicy: rollback-all", "failurePolicy: retry"}, field: "spec.failurePolicy", at: "failurePolicy", msg: "rollback-stage"},
		{name: "missing members policy", edits: []string{"missingMembers: stop", "missingMembers: skip"}, field: "spec.missingMembers", at: "missingMembers", msg: "continue"},
		{name: "unknown field with suggestion", edits: []string{"  failurePolicy:", "  failurePolicyy: pause\n  failurePolicy:"}, field: "spec.failurePolicyy", at: "failurePolicyy", msg: `did you mean "failurePolicy"?`},
		{name: "unknown field differing in case", edits: []string{"minRegistrationPercent: 60", "minregistrationpercent: 60"}, field: "spec.stages[0].gate.minregistrationpercent", at: "minregistrationpercent", msg: `did you mean "minRegistrationPercent"?`, only: true},
		{name: "unknown field without suggestion", edits: []string{"  failurePolicy:", "  colour: blue\n  failurePolicy:"}, field: "spec.colour", at: "colour", msg: `unknown field "colour"`},
		{name: "misplaced field", edits: []string{"kind: Rollout\n", "kind: Rollout\nfailurePolicy: pause\n"}, field: "failurePolicy", at: "failurePolicy: pause", msg: `unknown field "failurePolicy" here`},
		{name: "spec missing", doc: "apiVersion: ssprflow/v1\nkind: Rollout\nmetadata: {name: a, tenant: b.com}\n", field: "spec", at: "apiVersion", msg: "missing"},
		{name: "duplicate key", edits: []string{"  failurePolicy: rollback-all\n", "  failurePolicy: rollback-all\n  failurePolicy: pause\n"}, field: "spec.failurePolicy", at: "failurePolicy: pause", msg: "set twice"},
		{name: "int as string", edits: []string{"methodsRequired: 1", "methodsRequired: one"}, field: "spec.methodsRequired", at: "methodsRequired", msg: "whole number"},
		{name: "list as scalar", edits: []string{"  methods:\n    - email\n    - mobilePhone\n", "  methods: email\n"}, field: "spec.methods", at: "methods: email", msg: "must be a list"},
		{name: "bool as string", edits: []string{"      all: true", "      all: \"yes\""}, field: "spec.stages[1].all", at: "all: \"yes\"", msg: "true or false"},
		{name: "duration without unit", edits: []string{"soak: 10s", "soak: 10"}, field: "spec.stages[0].gate.soak", at: "soak: 10", msg: "duration"},
		{name: "duration garbage", edits: []string{"soak: 10s", "soak: soon"}, field: "spec.stages[0].gate.soak", at: "soak: soon", msg: "invalid duration"},
		{name: "mapping expected", edits: []string{"  ssprPolicy:\n    mode: manual\n", "  ssprPolicy: manual\n"}, field: "spec.ssprPolicy", at: "ssprPolicy", msg: "mapping"},
		{name: "alias refused", edits: []string{"      gate:\n", "      gate: &g\n", "  approvers:", "  defaultGate: *g\n  approvers:"}, field: "spec.defaultGate", at: "*g", msg: "aliases"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.doc
			if doc == "" {
				doc = edit(t, tt.edits...)
			}
			_, err := Load("case.yaml", []byte(doc))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load = %v, want *ValidationError", err)
			}
			want := lineOf(t, doc, tt.at)
			for _, p := range ve.Problems {
				if p.Field != tt.field {
					continue
				}
				if p.Line != want {
					t.Errorf("%s at line %d, want %d\n%s", p.Field, p.Line, want, err)
				}
				if !strings.Contains(p.Message, tt.msg) {
					t.Errorf("message %q does not contain %q", p.Message, tt.msg)
				}
				if p.Fix == "" || p.File != "case.yaml" || p.Column == 0 {
					t.Errorf("problem lacks fix, file or column: %+v", p)
				}
				if !strings.Contains(p.Fix, tt.fix) {
					t.Errorf("fix %q does not contain %q", p.Fix, tt.fix)
				}
				if tt.only && len(ve.Problems) != 1 {
					t.Errorf("got %d problems, want only this one:\n%s", len(ve.Problems), err)
				}
				return
			}
			t.Fatalf("no problem at %s; got:\n%s", tt.field, err)
		})
	}
}

func TestValidVariants(t *testing.T) {
	tests := []struct {
		name  string
		edits []string
	}{
		{"profile with dots", []string{"profile: corp", "profile: corp.example_1"}},
		{"directory rollout choices", []string{"    profile: corp\n", "    profile: corp\n    adminSDHolder: true\n    changePassword: true\n    unexpirePassword: true\n    requireMinPasswordAgeZero: false\n"}},
		{"helpdesk email", []string{"url: https://support.contoso.com", "email: helpdesk@contoso.com"}},
		{"no helpdesk", []string{"  helpdesk:\n    url: https://support.contoso.com\n", ""}},
		{"two methods with notification", []string{"methodsRequired: 1", "methodsRequired: 2", "- mobilePhone", "- mobileAppNotification"}},
		{"cloudsync", []string{"mode: connect", "mode: cloudsync"}},
		{"days duration", []string{"timeout: 1h", "timeout: 7d"}},
		{"single all stage", []string{"    - name: pilot\n      group:\n        name: SSPR-Pilot\n      members:\n        - alice@contoso.onmicrosoft.com\n      gate:\n        soak: 10s\n        minRegistrationPercent: 60\n        approvals: 1\n        timeout: 1h\n", ""}},
		{"single pilot stage", []string{"    - name: all\n      all: true\n", "", "      gate:\n        soak: 10s\n        minRegistrationPercent: 60\n        approvals: 1\n        timeout: 1h\n", ""}},
		{"tenant guid", []string{"tenant: contoso.onmicrosoft.com", "tenant: 72f988bf-86f1-41af-91ab-2d7cd011db47"}},
		{"empty values are omitted", []string{"  missingMembers: stop", "  missingMembers:\n  defaultGate:"}},
		{"numeric name", []string{"name: sspr-test", "name: 2026"}},
		{"methods key without a value takes the default", []string{"  methods:\n    - email\n    - mobilePhone\n", "  methods:\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Load("case.yaml", []byte(edit(t, tt.edits...))); err != nil {
				t.Fatalf("Load = %v", err)
			}
		})
	}
}

// TestWorkerOnlyFieldsRefused: a plan cannot choose where the worker
// connects, as whom, with which of its secrets, or switch off the
// self-approval rule. Each such field is refused where it is written, with
// a fix that points at the worker configuration.
func TestWorkerOnlyFieldsRefused(t *testing.T) {
	const profileFix = "move it to a directory profile in the worker configuration (directories: - profile: NAME ...) and name the profile here: directory: {profile: NAME}"
	tests := []struct {
		name, line, field, fix string
	}{
		{"bindPassword env", "    bindPassword: {env: SSPRFLOW_NATS_PASSWORD}", "spec.directory.bindPassword", profileFix},
		{"bindPassword file", "    bindPassword: {file: /etc/ssprflow/portal-token}", "spec.directory.bindPassword", profileFix},
		{"url", "    url: ldap://attacker.example:389", "spec.directory.url", profileFix},
		{"insecure", "    insecure: true", "spec.directory.insecure", profileFix},
		{"caFile", "    caFile: /etc/ssprflow/ca.pem", "spec.directory.caFile", profileFix},
		{"serverName", "    serverName: dc1.example.test", "spec.directory.serverName", profileFix},
		{"bindUser", `    bindUser: "EXAMPLE\\Administrator"`, "spec.directory.bindUser", profileFix},
		{"connectorAccount", `    connectorAccount: "EXAMPLE\\MSOL_1"`, "spec.directory.connectorAccount", profileFix},
		{"allowSelfApproval", "  allowSelfApproval: true", "spec.allowSelfApproval",
			"remove allowSelfApproval from the plan; the worker's administrator sets policy.allowSelfApproval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := edit(t, "    profile: corp\n", "    profile: corp\n"+tt.line+"\n")
			if strings.HasPrefix(tt.line, "  allowSelfApproval") {
				doc = edit(t, "  approvers:\n", tt.line+"\n  approvers:\n")
			}
			_, err := Load("case.yaml", []byte(doc))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load = %v, want *ValidationError", err)
			}
			if len(ve.Problems) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(ve.Problems), err)
			}
			p := ve.Problems[0]
			if p.Field != tt.field || p.File != "case.yaml" || p.Line != lineOf(t, doc, tt.line) || p.Column == 0 {
				t.Errorf("problem at %s %s:%d:%d, want %s at line %d", p.Field, p.File, p.Line, p.Column, tt.field, lineOf(t, doc, tt.line))
			}
			if p.Fix != tt.fix {
				t.Errorf("fix %q, want %q", p.Fix, tt.fix)
			}
			if tt.field == "spec.allowSelfApproval" && !strings.Contains(p.Message, "self-approval is the worker's policy (policy.allowSelfApproval in the worker configuration), not the plan's") {
				t.Errorf("message %q", p.Message)
			}
		})
	}
}

func TestInlineSecretNotEchoed(t *testing.T) {
	const secret = "Sup3r-S3cret-Value"
	doc := edit(t, "    profile: corp\n", "    profile: corp\n    bindPassword: "+secret+"\n")
	_, err := Load("case.yaml", []byte(doc))
	if err == nil {
		t.Fatal("Load accepted an inline password")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error echoes the secret: %v", err)
	}
	if !strings.Contains(err.Error(), "directories: - profile: NAME") {
		t.Errorf("error does not point at the worker's directory profiles: %v", err)
	}
	// Only the inline secret is wrong: no derived complaint.
	var ve *ValidationError
	if errors.As(err, &ve) && len(ve.Problems) != 1 {
		t.Errorf("got %d problems, want 1:\n%v", len(ve.Problems), err)
	}
}

func TestValidateCodeBuilt(t *testing.T) {
	r := &Rollout{APIVersion: APIVersion, Kind: Kind,
		Metadata: Metadata{Name: "code", Tenant: "contoso.onmicrosoft.com"},
		Spec:     Spec{Stages: []Stage{{Name: "all", All: true}}}}
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	r.Spec.MethodsRequired = 5
	err := r.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != "spec.methodsRequired" {
		t.Fatalf("Validate = %v, want one spec.methodsRequired problem", err)
	}
	if got, want := err.Error(), "spec.methodsRequired: must be 1 or 2, got 5 (fix: set methodsRequired to 1 or 2)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
