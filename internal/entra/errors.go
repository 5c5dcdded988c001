package entra

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotFound is returned (wrapped) when a group, user or other object does
// not exist. Match it with errors.Is; *NotFoundError carries the details.
var ErrNotFound = errors.New("not found")

// ErrManual is returned (wrapped) by Apply for portal fields when the tenant
// runs in manual mode: a human must make those changes. *ManualError lists them.
var ErrManual = errors.New("portal setting must be changed by hand")

// NotFoundError says which object is missing. It matches ErrNotFound.
type NotFoundError struct {
	Op     string // what was attempted, e.g. "find group"
	Object string // the missing object, e.g. "group 'SSPR-Pilot'"
	Err    error  // the underlying error, if any
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s: %s does not exist", e.Op, e.Object)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Unwrap returns the underlying error.
func (e *NotFoundError) Unwrap() error { return e.Err }

// ManualError lists portal changes a human has to make. It matches ErrManual.
type ManualError struct {
	Changes []Change
}

func (e *ManualError) Error() string {
	fields := make([]string, len(e.Changes))
	for i, c := range e.Changes {
		fields[i] = fmt.Sprintf("%s=%q", c.Field, c.To)
	}
	return fmt.Sprintf("%d portal change(s) need a human (manual mode): %s",
		len(e.Changes), strings.Join(fields, ", "))
}

// Is makes errors.Is(err, ErrManual) true.
func (e *ManualError) Is(target error) bool { return target == ErrManual }

// PermissionError is a request the credential is not allowed to make (HTTP
// 403). Permission names what to grant, e.g. "Policy.ReadWrite.AuthenticationMethod".
type PermissionError struct {
	Op         string
	Permission string
	Err        error
}

func (e *PermissionError) Error() string {
	msg := fmt.Sprintf("%s: permission denied", e.Op)
	if e.Permission != "" {
		msg += ": needs " + e.Permission
	}
	return withCause(msg, e.Err)
}

// withCause appends err's text to msg, when there is an err.
func withCause(msg string, err error) string {
	if err != nil {
		return msg + ": " + err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *PermissionError) Unwrap() error { return e.Err }

// ThrottledError is a request still throttled (HTTP 429, or 503/504) after
// the adapter's bounded retries. Retrying later may succeed.
type ThrottledError struct {
	Op         string
	Status     int
	RetryAfter time.Duration // the server's last hint, 0 when none
	Err        error
}

func (e *ThrottledError) Error() string {
	msg := fmt.Sprintf("%s: throttled (HTTP %d)", e.Op, e.Status)
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(", retry after %s", e.RetryAfter)
	}
	return withCause(msg, e.Err)
}

// Unwrap returns the underlying error.
func (e *ThrottledError) Unwrap() error { return e.Err }

// PermanentError is a request that will fail the same way if retried: bad
// request, invalid token, a conflict with the tenant's state.
type PermanentError struct {
	Op      string
	Status  int    // HTTP status, 0 when not from a response
	Code    string // service error code, e.g. "Request_BadRequest"
	Message string
	Err     error
}

func (e *PermanentError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d ", e.Status)
	}
	if e.Code != "" {
		b.WriteString(e.Code + ": ")
	}
	switch {
	case e.Message != "":
		b.WriteString(e.Message)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("permanent failure")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether retrying err cannot help: a missing permission,
// a missing object, a rejected request, or a change that needs a human.
// Throttling, timeouts and network errors are not permanent.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var thr *ThrottledError
	if errors.As(err, &thr) {
		return false
	}
	var perm *PermissionError
	var pe *PermanentError
	return errors.As(err, &perm) || errors.As(err, &pe) ||
		errors.Is(err, ErrNotFound) || errors.Is(err, ErrManual)
}
