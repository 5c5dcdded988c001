package activities

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/errtype"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// scriptedDirectory is the Directory port with fixed answers; it records
// what the activity handed it and whether the activity released it.
type scriptedDirectory struct {
	scopes  Scopes
	missing map[string][][]byte
	err     error // returned by Grant and Revoke
	granted map[string][][]byte
	closed  int
}

func (d *scriptedDirectory) Connector(context.Context) (Account, error) {
	return Account{Name: `EXAMPLE\MSOL_ssprflow`, SID: "S-1-5-21-1-2-3-1105"}, nil
}
func (d *scriptedDirectory) Scopes(context.Context) (Scopes, error) { return d.scopes, nil }
func (d *scriptedDirectory) MissingACEs(_ context.Context, dn string) ([][]byte, error) {
	return d.missing[dn], nil
}
func (d *scriptedDirectory) Grant(_ context.Context, dn string, aces [][]byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	d.granted[dn] = append(d.granted[dn], aces...)
	return len(aces), nil
}
func (d *scriptedDirectory) Revoke(_ context.Context, dn string, aces [][]byte) (int, error) {
	return len(aces), d.err
}
func (d *scriptedDirectory) Coverage(context.Context) (DirectoryCoverage, error) {
	return DirectoryCoverage{}, nil
}
func (d *scriptedDirectory) PasswordAge(context.Context) (PasswordAge, error) {
	return PasswordAge{OK: true}, nil
}
func (d *scriptedDirectory) Close() error { d.closed++; return nil }

func adTestPlan() plan.Rollout {
	return plan.Rollout{Spec: plan.Spec{Directory: &plan.Directory{Profile: "corp"}}}
}

// The ACEs PlanGrant records travel as hex through history and reach Grant
// byte for byte, in scope order, with the scopes' warnings; the directory is
// released after each activity.
func TestPlanGrantThenGrantHandsOverTheExactACEs(t *testing.T) {
	root, holder := "DC=example,DC=test", "CN=AdminSDHolder,CN=System,DC=example,DC=test"
	aces := [][]byte{{0x05, 0x00, 0x01}, {0x05, 0x00, 0x02}}
	d := &scriptedDirectory{
		scopes:  Scopes{DNs: []string{root, holder}, Warnings: []string{ad.WarnAdminSDHolder}},
		missing: map[string][][]byte{root: aces, holder: aces[:1]},
		granted: map[string][][]byte{},
	}
	a := &Activities{Directory: func(context.Context, *plan.Directory) (Directory, error) { return d, nil }}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)

	v, err := env.ExecuteActivity(a.PlanGrant, DirectoryPreflightInput{Plan: adTestPlan()})
	if err != nil {
		t.Fatal(err)
	}
	var pg PlanGrantResult
	if err := v.Get(&pg); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pg.Order, []string{root, holder}) || !slices.Equal(pg.Warnings, []string{ad.WarnAdminSDHolder}) {
		t.Errorf("order %v warnings %v", pg.Order, pg.Warnings)
	}
	for _, dn := range pg.Order {
		if _, err := env.ExecuteActivity(a.Grant, ACEInput{Plan: adTestPlan(), DN: dn, ACEs: pg.ACEs[dn]}); err != nil {
			t.Fatal(err)
		}
		if got := d.granted[dn]; !slices.EqualFunc(got, d.missing[dn], bytes.Equal) {
			t.Errorf("%s: granted %x, want %x", dn, got, d.missing[dn])
		}
	}
	if d.closed != 3 {
		t.Errorf("directory closed %d times after 3 activities", d.closed)
	}
}

// Grant and Revoke fail for good on what retrying cannot fix (a record that
// is not hex, an LDAP refusal) and leave a DC failing over to Temporal's
// retries; the directory is released on every path.
func TestACEOpsClassifyErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		aces      []string
		err       error
		retryable bool
		wantType  errtype.Type
	}{
		{name: "record not hex", aces: []string{"zz"}, wantType: errtype.Permanent},
		{name: "insufficient rights", aces: []string{"050001"}, err: &ad.Error{Op: "write nTSecurityDescriptor", Code: 50}, wantType: errtype.Permanent},
		{name: "DC unavailable", aces: []string{"050001"}, err: &ad.Error{Op: "write nTSecurityDescriptor", Code: 52, Retryable: true}, retryable: true},
	} {
		for _, op := range []string{"Grant", "Revoke"} {
			t.Run(tc.name+"/"+op, func(t *testing.T) {
				d := &scriptedDirectory{err: tc.err, granted: map[string][][]byte{}}
				dialed := 0
				a := &Activities{Directory: func(context.Context, *plan.Directory) (Directory, error) { dialed++; return d, nil }}
				var s testsuite.WorkflowTestSuite
				env := s.NewTestActivityEnvironment()
				env.RegisterActivity(a)
				fn := a.Grant
				if op == "Revoke" {
					fn = a.Revoke
				}
				_, err := env.ExecuteActivity(fn, ACEInput{Plan: adTestPlan(), DN: "DC=example,DC=test", ACEs: tc.aces})
				var appErr *temporal.ApplicationError
				if !errors.As(err, &appErr) {
					t.Fatalf("error %v is not an application error", err)
				}
				if appErr.NonRetryable() == tc.retryable {
					t.Errorf("non-retryable = %v, want %v (%v)", appErr.NonRetryable(), !tc.retryable, err)
				}
				if !tc.retryable && appErr.Type() != string(tc.wantType) {
					t.Errorf("type %q, want %q", appErr.Type(), tc.wantType)
				}
				if dialed != d.closed {
					t.Errorf("dialed %d, closed %d", dialed, d.closed)
				}
				if tc.aces[0] == "zz" && dialed != 0 {
					t.Error("a malformed record reached the directory")
				}
			})
		}
	}
}
