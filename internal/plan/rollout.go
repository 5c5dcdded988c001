package plan

import "strings"

// EndsWithAll reports whether the last stage enables SSPR for all users
// (scope All) rather than the pilot group.
func (r *Rollout) EndsWithAll() bool {
	n := len(r.Spec.Stages)
	return n > 0 && r.Spec.Stages[n-1].All
}

// TenantToken is the tenant as one NATS subject token: lowercase, only
// [a-z0-9_-], dots turned into underscores ("contoso.onmicrosoft.com" becomes
// "contoso_onmicrosoft_com"). An empty tenant gives "_" so a subject built
// from it still has a valid token.
func (r *Rollout) TenantToken() string { return token(r.Metadata.Tenant) }

// token maps s onto [a-z0-9_-]; anything else (dots, and the wildcards and
// separators NATS would misread) becomes "_".
func token(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// GateFor returns the gate that must pass after stage stageIndex: the stage's
// own gate, else spec.defaultGate. It is nil for the final stage, which has
// nothing after it, for an index out of range, and when neither is set. The
// result is a copy; changing it does not change r.
func (r *Rollout) GateFor(stageIndex int) *Gate {
	stages := r.Spec.Stages
	if stageIndex < 0 || stageIndex >= len(stages)-1 {
		return nil
	}
	if g := stages[stageIndex].Gate; g != nil {
		return clonePtr(g)
	}
	return clonePtr(r.Spec.DefaultGate)
}
