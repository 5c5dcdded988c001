package activities

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ssprflow/ssprflow/internal/approval"
)

// failingPublisher refuses every approval request with err.
type failingPublisher struct{ err error }

func (p failingPublisher) PublishEvent(context.Context, EventInput) error { return nil }
func (p failingPublisher) PublishApprovalRequest(context.Context, approval.Request) error {
	return p.err
}

// An approval request NATS must refuse fails for good; NATS being away is
// retried.
func TestRequestApprovalClassifiesErrors(t *testing.T) {
	for _, tc := range []struct {
		err       error
		retryable bool
	}{
		{fmt.Errorf("gate %q: %w", "pilot/helpdesk", approval.ErrInvalidToken), false},
		{fmt.Errorf("%w: instructions too long", approval.ErrTooLarge), false},
		{nats.ErrTimeout, true},
	} {
		a := &Activities{Events: failingPublisher{tc.err}}
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(a)
		_, err := env.ExecuteActivity(a.RequestApproval, approval.Request{})
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.NonRetryable() == tc.retryable {
			t.Errorf("%v: got %v, want retryable=%v", tc.err, err, tc.retryable)
		}
	}
}
