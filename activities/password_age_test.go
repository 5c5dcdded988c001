package activities

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// ageDirectory reports a fixed password-age result.
type ageDirectory struct {
	scriptedDirectory
	age PasswordAge
}

func (d *ageDirectory) PasswordAge(context.Context) (PasswordAge, error) { return d.age, nil }

// A non-zero minimum password age fails the step for good, with the
// remediation, unless the plan explicitly accepts it; then the findings are
// returned for the step's detail.
func TestVerifyPasswordAge(t *testing.T) {
	no, yes := false, true
	blocked := PasswordAge{OK: false, Findings: []string{`GPO "Default Domain Policy": MinimumPasswordAge = 1; set it to 0`}}
	for _, tc := range []struct {
		name    string
		age     PasswordAge
		require *bool
		wantErr bool
	}{
		{name: "0 everywhere", age: PasswordAge{OK: true, Effective: "0 days, from the domain object"}},
		{name: "1 day, required by default", age: blocked, wantErr: true},
		{name: "1 day, required explicitly", age: blocked, require: &yes, wantErr: true},
		{name: "1 day, accepted by the plan", age: blocked, require: &no},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &ageDirectory{age: tc.age}
			a := &Activities{Directory: func(context.Context, *plan.Directory) (Directory, error) { return d, nil }}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(a)
			p := adTestPlan()
			p.Spec.Directory.RequireMinPasswordAgeZero = tc.require
			v, err := env.ExecuteActivity(a.VerifyPasswordAge, PasswordAgeInput{Plan: p})
			if tc.wantErr {
				var appErr *temporal.ApplicationError
				if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != string(errtype.PasswordAge) {
					t.Fatalf("error %v, want a non-retryable %s", err, errtype.PasswordAge)
				}
				if !strings.Contains(err.Error(), "MinimumPasswordAge = 1; set it to 0") {
					t.Errorf("error %q lacks the remediation", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got PasswordAge
			if err := v.Get(&got); err != nil || got.OK != tc.age.OK || len(got.Findings) != len(tc.age.Findings) {
				t.Errorf("result %+v (%v), want %+v", got, err, tc.age)
			}
		})
	}
}
