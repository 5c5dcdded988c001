package graph

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/ssprflow/ssprflow/internal/entra"
)

// Least-privilege application permissions, named in PermissionErrors.
const (
	permPolicyRead  = "Policy.Read.AuthenticationMethod"
	permPolicyWrite = "Policy.ReadWrite.AuthenticationMethod"
	permReports     = "AuditLog.Read.All"
	permGroupRead   = "GroupMember.Read.All (or Group.Read.All)"
	permGroupCreate = "Group.Create"
	permGroupWrite  = "GroupMember.ReadWrite.All"
	permGroupDelete = "Group.ReadWrite.All"
	permUserRead    = "User.Read.All"
	permRoleRead    = "RoleManagement.Read.Directory (or Directory.Read.All)"
	permPortal      = "a delegated admin token for the portal API (Authentication Policy Administrator or Global Administrator)"
)

// call describes a request for error messages: what was done, to what, and
// which permission it needs.
type call struct {
	op     string // "verb noun", e.g. "update sms policy"
	object string // for 404s, e.g. "group 1234"
	perm   string // for 403s
}

// apiError is what we learn from a failed response.
type apiError struct {
	status     int
	code       string
	message    string
	retryAfter time.Duration
}

// fromSDK extracts status, code and message from an SDK error.
func fromSDK(err error) (apiError, bool) {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		e := apiError{status: oe.GetStatusCode(), retryAfter: headerRetryAfter(oe.GetResponseHeaders())}
		if me := oe.GetErrorEscaped(); me != nil {
			if p := me.GetCode(); p != nil {
				e.code = *p
			}
			if p := me.GetMessage(); p != nil {
				e.message = *p
			}
		}
		return e, true
	}
	var ae *abs.ApiError
	if errors.As(err, &ae) {
		return apiError{status: ae.ResponseStatusCode, message: ae.Message,
			retryAfter: headerRetryAfter(ae.ResponseHeaders)}, true
	}
	return apiError{}, false
}

func headerRetryAfter(h *abs.ResponseHeaders) time.Duration {
	if h == nil {
		return 0
	}
	for _, k := range h.ListKeys() {
		if strings.EqualFold(k, "Retry-After") {
			if vs := h.Get(k); len(vs) > 0 {
				d, _ := parseRetryAfter(vs[0], time.Now())
				return d
			}
		}
	}
	return 0
}

// wrap turns an SDK error into ssprflow's typed errors.
func wrap(c call, err error) error {
	if err == nil {
		return nil
	}
	e, ok := fromSDK(err)
	if !ok {
		return fmt.Errorf("%s: %w", c.op, err) // network, context: retryable
	}
	return classify(c, e, err)
}

// classify maps a failed response to a typed error. 400, 401, 403, 404 and
// other client errors are permanent; 429, 503 and 504 are throttling (the
// adapter already retried them within MaxRetryWait); other 5xx stay plain
// (retryable) errors.
func classify(c call, e apiError, err error) error {
	switch {
	case e.status == http.StatusNotFound:
		obj := c.object
		if obj == "" {
			obj = "the requested object"
		}
		return &entra.NotFoundError{Op: c.op, Object: obj, Err: detailed(e, err)}
	case e.status == http.StatusForbidden:
		return &entra.PermissionError{Op: c.op, Permission: c.perm, Err: detailed(e, err)}
	case e.status == http.StatusUnauthorized:
		return &entra.PermanentError{Op: c.op, Status: e.status, Code: e.code,
			Message: "authentication failed (token missing, expired or for another audience): " + e.message, Err: err}
	case e.status == http.StatusTooManyRequests || e.status == http.StatusServiceUnavailable ||
		e.status == http.StatusGatewayTimeout:
		return &entra.ThrottledError{Op: c.op, Status: e.status, RetryAfter: e.retryAfter, Err: detailed(e, err)}
	case e.status >= 400 && e.status < 500:
		return &entra.PermanentError{Op: c.op, Status: e.status, Code: e.code, Message: e.message, Err: err}
	default:
		return fmt.Errorf("%s: %w", c.op, detailed(e, err))
	}
}

// detailed keeps the original error for errors.As while giving it a message
// that names status and code (ODataError's own message is just the text).
func detailed(e apiError, err error) error {
	return &responseError{apiError: e, err: err}
}

type responseError struct {
	apiError
	err error
}

func (r *responseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", r.status)
	if r.code != "" {
		b.WriteString(" " + r.code)
	}
	if r.message != "" {
		b.WriteString(": " + r.message)
	}
	return b.String()
}

func (r *responseError) Unwrap() error { return r.err }

// isAlreadyMember recognises Graph's answer to adding an existing member.
func isAlreadyMember(err error) bool {
	e, ok := fromSDK(err)
	return ok && e.status == http.StatusBadRequest &&
		strings.Contains(strings.ToLower(e.message), "already exist")
}

// isNotFound recognises a 404 from the SDK.
func isNotFound(err error) bool {
	e, ok := fromSDK(err)
	return ok && e.status == http.StatusNotFound
}
