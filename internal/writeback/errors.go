package writeback

import (
	"errors"
	"fmt"
	"strings"
)

// Application error type names carried by non-retryable activity errors, so a
// workflow can branch on them (temporal.ApplicationError.Type()).
const (
	ErrTypeModuleMissing       = "WritebackModuleMissing"
	ErrTypeCmdletNotRecognized = "WritebackCmdletNotRecognized"
	ErrTypeAccessDenied        = "WritebackAccessDenied"
	ErrTypeConnectorNotFound   = "WritebackConnectorNotFound"
	ErrTypeAccountMismatch     = "WritebackConnectorAccountMismatch"
	ErrTypeModeMismatch        = "WritebackModeMismatch"
	ErrTypeCredentialMissing   = "WritebackCredentialMissing"
	ErrTypePowerShellMissing   = "WritebackPowerShellMissing"
	ErrTypeBadInput            = "WritebackBadInput"
)

// Sentinel errors; match with errors.Is. All but ErrBadOutput are permanent:
// retrying does not help until a human changes the host.
var (
	// ErrModuleMissing: the ADSync or Cloud Sync PowerShell module is not installed.
	ErrModuleMissing = errors.New("sync server PowerShell module missing")
	// ErrCmdletNotRecognized: the cmdlet does not exist (wrong product or too old a version).
	ErrCmdletNotRecognized = errors.New("cmdlet not recognized")
	// ErrAccessDenied: the agent's account may not run the cmdlet (e.g. not in ADSyncAdmins).
	ErrAccessDenied = errors.New("access denied")
	// ErrConnectorNotFound: no AAD (or AD) connector on an Entra Connect server.
	ErrConnectorNotFound = errors.New("connector not found")
	// ErrAccountMismatch: the sync engine uses another AD DS account than the one granted rights.
	ErrAccountMismatch = errors.New("connector account mismatch")
	// ErrModeMismatch: the activity asked for another sync engine than the agent runs.
	ErrModeMismatch = errors.New("mode mismatch")
	// ErrCredentialMissing: Cloud Sync needs a tenant admin credential the agent was not given.
	ErrCredentialMissing = errors.New("cloud sync credential missing")
	// ErrPowerShellMissing: the PowerShell executable was not found.
	ErrPowerShellMissing = errors.New("powershell executable not found")
	// ErrBadInput: an activity input is invalid.
	ErrBadInput = errors.New("bad input")
	// ErrBadOutput: a script's output could not be parsed (retryable: often a truncated run).
	ErrBadOutput = errors.New("unparseable script output")
)

// ScriptError is a failed script run: a non-zero exit or an error record.
// Unwrap returns the matching sentinel (ErrModuleMissing,
// ErrCmdletNotRecognized, ErrAccessDenied) when the error record says so.
type ScriptError struct {
	Script   string // script id
	ExitCode int
	// Message is the cmdlet's error message.
	Message string
	// ErrorID is PowerShell's FullyQualifiedErrorId.
	ErrorID       string
	Category      string
	ExceptionType string
}

func (e *ScriptError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s: ", e.Script)
	if e.Message != "" {
		b.WriteString(e.Message)
	} else {
		fmt.Fprintf(&b, "exit code %d", e.ExitCode)
	}
	if e.ErrorID != "" {
		fmt.Fprintf(&b, " (%s)", e.ErrorID)
	}
	return b.String()
}

// Unwrap returns the sentinel the error record matches, or nil.
func (e *ScriptError) Unwrap() error { return classifyScriptError(e) }

func classifyScriptError(e *ScriptError) error {
	id := strings.ToLower(e.ErrorID)
	msg := strings.ToLower(e.Message)
	typ := strings.ToLower(e.ExceptionType)
	switch {
	case strings.Contains(id, "modules_modulenotfound"), strings.Contains(id, "ssprflow_modulenotfound"),
		strings.Contains(msg, "was not loaded because no valid module file was found"):
		return ErrModuleMissing
	case strings.Contains(id, "commandnotfoundexception"), strings.Contains(typ, "commandnotfoundexception"),
		strings.Contains(msg, "is not recognized as"):
		return ErrCmdletNotRecognized
	case strings.Contains(typ, "unauthorizedaccessexception"), strings.Contains(id, "unauthorizedaccess"),
		strings.Contains(msg, "access is denied"), strings.Contains(msg, "access denied"):
		return ErrAccessDenied
	}
	return nil
}

// AccountMismatchError says which account was granted rights and which the
// sync engine uses. It matches ErrAccountMismatch.
type AccountMismatchError struct {
	Expected string
	Actual   []string
}

func (e *AccountMismatchError) Error() string {
	return fmt.Sprintf("connector account mismatch: the AD step granted writeback rights to %s but the sync engine's AD DS connector account is %s; "+
		"grant the rights to the sync engine's account (or fix the plan's connector account) and retry",
		`"`+e.Expected+`"`, quoteList(e.Actual))
}

// Is makes errors.Is(err, ErrAccountMismatch) true.
func (e *AccountMismatchError) Is(target error) bool { return target == ErrAccountMismatch }

func quoteList(s []string) string {
	if len(s) == 0 {
		return "unknown"
	}
	q := make([]string, len(s))
	for i, v := range s {
		// Plain quotes: %q would double the backslash of DOMAIN\user.
		q[i] = `"` + v + `"`
	}
	return strings.Join(q, " or ")
}

// permanentTypes pairs each permanent sentinel with its application error
// type, in the order they are matched.
var permanentTypes = []struct {
	err error
	typ string
}{
	{ErrModuleMissing, ErrTypeModuleMissing},
	{ErrCmdletNotRecognized, ErrTypeCmdletNotRecognized},
	{ErrAccessDenied, ErrTypeAccessDenied},
	{ErrConnectorNotFound, ErrTypeConnectorNotFound},
	{ErrAccountMismatch, ErrTypeAccountMismatch},
	{ErrModeMismatch, ErrTypeModeMismatch},
	{ErrCredentialMissing, ErrTypeCredentialMissing},
	{ErrPowerShellMissing, ErrTypePowerShellMissing},
	{ErrBadInput, ErrTypeBadInput},
}

// permanentType returns the application error type for a permanent error, or
// "" when err may succeed on retry.
func permanentType(err error) string {
	for _, p := range permanentTypes {
		if errors.Is(err, p.err) {
			return p.typ
		}
	}
	return ""
}
