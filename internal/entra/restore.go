package entra

import (
	"context"
	"errors"
	"fmt"
)

// Conflict is a field someone else changed after the rollout did: the tenant
// holds neither the value the rollout wrote nor the original. Restore leaves
// it alone for a human to decide.
type Conflict struct {
	Field    Field  `json:"field"`
	Expected string `json:"expected"` // the value the rollout wrote (Change.To)
	Found    string `json:"found"`    // what the tenant holds now
	Original string `json:"original"` // the value before the rollout (Change.From)
}

// RestoreReport says what Restore did.
type RestoreReport struct {
	// Restored are the fields that now hold their original value, whether
	// Restore wrote them or they already did.
	Restored []Field `json:"restored,omitempty"`
	// Written are the changes Restore applied (From = rollout's value,
	// To = original).
	Written []Change `json:"written,omitempty"`
	// Conflicts are fields changed by someone else; not overwritten.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Manual are portal changes a human must make (manual mode).
	Manual []Change `json:"manual,omitempty"`
}

// Restore undoes applied changes (in the order they were applied) on t,
// without clobbering anyone else's edits: it re-reads the tenant, and for
// each change, newest first, sets the field back to Change.From when the
// tenant still holds Change.To, counts it restored when it already holds
// From, and otherwise reports a Conflict and leaves the field alone. A field
// changed several times is followed through its chain of changes.
//
// Restore is idempotent. In manual mode the report lists the portal changes
// left to a human in Manual and the error wraps ErrManual; Graph fields are
// still restored.
func Restore(ctx context.Context, t Tenant, applied []Change) (RestoreReport, error) {
	var rep RestoreReport
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return rep, fmt.Errorf("restore: read tenant: %w", err)
	}
	// Group the changes per field, keeping the order fields were last changed.
	type chain struct {
		field   Field
		changes []Change // oldest first
		portal  bool
	}
	var chains []*chain
	byField := make(map[Field]*chain)
	for i := len(applied) - 1; i >= 0; i-- {
		c := applied[i]
		ch := byField[c.Field]
		if ch == nil {
			ch = &chain{field: c.Field}
			byField[c.Field] = ch
			chains = append(chains, ch)
		}
		ch.changes = append([]Change{c}, ch.changes...)
		ch.portal = ch.portal || c.Portal || c.Field.IsPortal()
	}

	var writes []Change
	conflicted := make(map[Field]bool)
	for _, ch := range chains {
		found := snap.Settings[ch.field]
		original := ch.changes[0].From
		if found == original {
			continue // already back
		}
		cur := found
		for i := len(ch.changes) - 1; i >= 0 && !conflicted[ch.field]; i-- {
			c := ch.changes[i]
			switch cur {
			case c.To:
				cur = c.From
			case c.From:
				// This step is already undone.
			default:
				conflicted[ch.field] = true
				rep.Conflicts = append(rep.Conflicts, Conflict{
					Field: ch.field, Expected: c.To, Found: found, Original: original})
			}
		}
		if !conflicted[ch.field] && cur != found {
			writes = append(writes, Change{Field: ch.field, From: found, To: cur, Portal: ch.portal})
		}
	}
	order := make([]Field, len(chains))
	for i, ch := range chains {
		order[i] = ch.field
	}
	if len(writes) > 0 {
		err = t.Apply(ctx, writes)
	}
	var manual *ManualError
	switch {
	case err == nil:
	case errors.As(err, &manual):
		rep.Manual = manual.Changes
	default:
		return rep, fmt.Errorf("restore: apply %d change(s): %w", len(writes), err)
	}
	pending := make(map[Field]bool, len(rep.Manual))
	for _, c := range rep.Manual {
		pending[c.Field] = true
	}
	for _, c := range writes {
		if !pending[c.Field] {
			rep.Written = append(rep.Written, c)
		}
	}
	for _, f := range order {
		if !conflicted[f] && !pending[f] {
			rep.Restored = append(rep.Restored, f)
		}
	}
	if len(rep.Manual) > 0 {
		return rep, fmt.Errorf("restore: %w", err)
	}
	return rep, nil
}
