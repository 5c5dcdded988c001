package approval

import (
	"fmt"
	"strings"
)

// Subject building blocks. Prefix is the first token of every subject this
// package uses.
const (
	Prefix = "ssprflow"

	// ApprovalsStream stores approval requests and decisions.
	ApprovalsStream = "SSPRFLOW_APPROVALS"
	// EventsStream stores CloudEvents for every rollout.
	EventsStream = "SSPRFLOW_EVENTS"

	// RequestSubjects, DecisionSubjects, VerdictSubjects, EventSubjects and
	// PendingSubjects match every subject of their kind, across tenants and
	// rollouts.
	RequestSubjects  = Prefix + ".*.*.approval.request.*"
	DecisionSubjects = Prefix + ".*.*.approval.decision.*"
	VerdictSubjects  = Prefix + ".*.*.approval.verdict.*.*"
	EventSubjects    = Prefix + ".*.*.event.>"
	PendingSubjects  = Prefix + ".*.*.pending.*"
	DiffSubjects     = Prefix + ".*.*.diff.*"
	// The operations services (operations.go).
	ExportSubjects = Prefix + ".*.*." + VerbExport + ".*"
	WatchSubjects  = Prefix + ".*.*." + VerbWatch + ".*"
	RevertSubjects = Prefix + ".*.*." + VerbRevert + ".*"

	// maxTokenLen bounds every token: subjects stay short and ids cannot be
	// used to stuff data into headers or logs.
	maxTokenLen = 128
)

// ValidToken reports whether s can be used as one subject token here:
// 1 to 128 ASCII letters, digits, '-' or '_'. This is stricter than NATS
// (which forbids only '.', '*', '>' and whitespace) so that ids can never
// widen a permission wildcard or look like another id.
func ValidToken(s string) bool {
	if len(s) == 0 || len(s) > maxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

func checkTokens(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if !ValidToken(pairs[i+1]) {
			return fmt.Errorf("%w: %s %q must be 1-%d letters, digits, '-' or '_'", ErrInvalidToken, pairs[i], pairs[i+1], maxTokenLen)
		}
	}
	return nil
}

// checkKind validates an event kind: one or more valid tokens joined by '.'.
func checkKind(kind string) error {
	if kind == "" {
		return fmt.Errorf("%w: event kind is empty", ErrInvalidToken)
	}
	for _, t := range strings.Split(kind, ".") {
		if !ValidToken(t) {
			return fmt.Errorf("%w: event kind %q: each dot-separated part must be 1-%d letters, digits, '-' or '_'", ErrInvalidToken, kind, maxTokenLen)
		}
	}
	return nil
}

// RequestSubject returns ssprflow.<tenant>.<rollout>.approval.request.<gate>.
func RequestSubject(tenant, rollout, gate string) (string, error) {
	if err := checkTokens("tenant", tenant, "rollout", rollout, "gate", gate); err != nil {
		return "", err
	}
	return Prefix + "." + tenant + "." + rollout + ".approval.request." + gate, nil
}

// DecisionSubject returns ssprflow.<tenant>.<rollout>.approval.decision.<approverID>.
func DecisionSubject(tenant, rollout, approverID string) (string, error) {
	if err := checkTokens("tenant", tenant, "rollout", rollout, "approver", approverID); err != nil {
		return "", err
	}
	return Prefix + "." + tenant + "." + rollout + ".approval.decision." + approverID, nil
}

// VerdictSubject returns
// ssprflow.<tenant>.<rollout>.approval.verdict.<approverID>.<decisionID>.
// The approver's token lets the server's permissions give each approver
// their own verdicts only (see RolePermissions).
func VerdictSubject(tenant, rollout, approverID, decisionID string) (string, error) {
	if err := checkTokens("tenant", tenant, "rollout", rollout, "approver", approverID, "decision id", decisionID); err != nil {
		return "", err
	}
	return Prefix + "." + tenant + "." + rollout + ".approval.verdict." + approverID + "." + decisionID, nil
}

// ReplyAllowed reports whether reply is a subject the worker may answer a
// request from user on: a concrete subject (no wildcards, no empty tokens,
// no whitespace) below the user's own inbox, InboxPrefix(user)+".". The
// requester chooses the reply subject and the server does not check it, so
// without this a request could make the worker publish its answer anywhere
// the worker may publish, such as another rollout's events.
func ReplyAllowed(reply, user string) bool {
	if !ValidToken(user) {
		return false
	}
	rest, ok := strings.CutPrefix(reply, InboxPrefix(user)+".")
	if !ok || rest == "" || len(reply) > 4*maxTokenLen {
		return false
	}
	for _, tok := range strings.Split(rest, ".") {
		if tok == "" {
			return false
		}
		for i := 0; i < len(tok); i++ {
			// Printable ASCII only, and no wildcard characters at all
			// (nats.go's inboxes are letters and digits).
			if c := tok[i]; c <= ' ' || c >= 0x7f || c == '*' || c == '>' {
				return false
			}
		}
	}
	return true
}

// EventSubject returns ssprflow.<tenant>.<rollout>.event.<kind>; kind may
// have several dot-separated tokens ("step.completed").
func EventSubject(tenant, rollout, kind string) (string, error) {
	if err := checkTokens("tenant", tenant, "rollout", rollout); err != nil {
		return "", err
	}
	if err := checkKind(kind); err != nil {
		return "", err
	}
	return Prefix + "." + tenant + "." + rollout + ".event." + kind, nil
}

// ParseDecisionSubject splits a decision subject into its tenant, rollout
// and approver. It returns an error wrapping ErrInvalidSubject otherwise.
func ParseDecisionSubject(subject string) (tenant, rollout, approverID string, err error) {
	t := strings.Split(subject, ".")
	if len(t) != 6 || t[0] != Prefix || t[3] != "approval" || t[4] != "decision" {
		return "", "", "", fmt.Errorf("%w: %q", ErrInvalidSubject, truncate(subject, 200))
	}
	if err := checkTokens("tenant", t[1], "rollout", t[2], "approver", t[5]); err != nil {
		return "", "", "", fmt.Errorf("%w: %w", ErrInvalidSubject, err)
	}
	return t[1], t[2], t[5], nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
