package plan

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Check (Load and the warnings): it must
// never panic, every error must be a *ValidationError with a located,
// fixable problem (a syntax error unwrapping to the parser's error prefixed
// with the file name), every warning must be located and fixable, and every
// accepted plan must validate again and survive a JSON round trip.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("../../examples/*.yaml")
	more, _ := filepath.Glob("testdata/*.yaml")
	for _, path := range append(seeds, more...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(validPlan))
	// Near-valid variants reach the semantic rules that random bytes rarely do.
	f.Add([]byte(strings.Replace(validPlan, "    - name: all\n", "    - name: wave-1\n      members: [bob@contoso.onmicrosoft.com]\n    - name: all\n", 1)))
	f.Add([]byte(strings.Replace(validPlan, "methodsRequired: 1", "methodsRequired: 2", 1)))
	f.Add([]byte(strings.Replace(validPlan, "    profile: corp\n", "    profile: corp\n    bindPassword: hunter2\n    url: ldap://x\n", 1)))
	f.Add([]byte(""))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("spec: {stages: [{name: all, all: true}], defaultGate: {soak: 7d}}\n"))
	const name = "fuzz.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		r, warns, err := Check(name, data)
		for _, w := range warns {
			if !w.Warning || w.File != name || w.Field == "" || w.Line == 0 || w.Message == "" || w.Fix == "" {
				t.Fatalf("incomplete warning %+v", w)
			}
		}
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error is %T, not *ValidationError: %v", err, err)
			}
			if len(ve.Problems) == 0 {
				t.Fatal("ValidationError without problems")
			}
			for _, p := range ve.Problems {
				if p.File != name || p.Message == "" || p.Fix == "" {
					t.Fatalf("incomplete problem %+v", p)
				}
			}
			if cause := errors.Unwrap(err); cause != nil && !strings.HasPrefix(cause.Error(), name+": ") {
				t.Fatalf("syntax error not wrapped with the file name: %v", cause)
			}
			return
		}
		if r == nil {
			t.Fatal("nil Rollout without an error")
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("loaded plan fails Validate: %v", err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		var back Rollout
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", b, err)
		}
		if !reflect.DeepEqual(r, &back) {
			t.Fatalf("JSON round trip changed the plan:\n%s", b)
		}
		_ = r.EndsWithAll()
		_ = r.TenantToken()
		for i := -1; i <= len(r.Spec.Stages); i++ {
			_ = r.GateFor(i)
		}
	})
}
