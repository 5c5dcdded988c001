package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/ssprflow/ssprflow/internal/ad"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/errtype"
)

// permanent fails an activity for good with an error type of errtype, which
// the workflow's retry policies and callers branch on.
func permanent(t errtype.Type, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), string(t), err)
}

// classify marks errors that retrying cannot fix as non-retryable. Adapters
// say which errors are permanent (403, 404, 400, a bad credential, an
// approval request NATS must refuse); anything
// else — throttling, timeouts, a DC failing over — is retried by Temporal.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	if entra.IsPermanent(err) || isPermanentDirectory(err) || approval.IsPermanent(err) {
		return permanent(errtype.Permanent, err)
	}
	return err
}

// isPermanentDirectory: an LDAP error the directory package marks as not
// retryable (insufficient rights, no such object, a bad bind).
func isPermanentDirectory(err error) bool {
	var e *ad.Error
	return errors.As(err, &e) && !ad.IsRetryable(err)
}
