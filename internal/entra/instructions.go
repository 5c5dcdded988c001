package entra

import "fmt"

// Instructions turns changes into precise steps for a person in the Entra
// admin center, one step per change (the settings table's Instruction), in
// the portal's order. groups name the group ids that may appear (a missing
// name falls back to the id).
func Instructions(changes []Change, groups ...Group) []string {
	names := make(map[string]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.DisplayName
	}
	sorted := append([]Change(nil), changes...)
	SortChanges(sorted)

	// Scope and group are one control on the Properties page; say it once.
	var scopeTo, groupTo string
	var hasScope, hasGroup bool
	for _, c := range sorted {
		switch c.Field {
		case FieldScope:
			scopeTo, hasScope = c.To, true
		case FieldGroup:
			groupTo, hasGroup = c.To, true
		}
	}
	var steps []string
	for _, c := range sorted {
		spec, known := Spec(c.Field)
		switch {
		case !known:
			steps = append(steps, fmt.Sprintf("Set %s from %q to %q", c.Field, c.From, c.To))
		case c.Field == FieldScope || (c.Field == FieldGroup && !hasScope):
			if !hasScope {
				scopeTo = string(ScopeSelected)
			}
			scope := table[rank[FieldScope]]
			shown := scope.show(scopeTo)
			if scopeTo == string(ScopeSelected) && hasGroup {
				shown += " > " + table[rank[FieldGroup]].Control + ": " + groupName(names, groupTo)
			}
			steps = append(steps, scope.instruction(shown))
		case c.Field == FieldGroup:
			// Said with the scope.
		default:
			steps = append(steps, spec.Instruction(c.To))
		}
	}
	return steps
}

func groupName(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return "the group with object id " + id
}
