package entra

import (
	"slices"
	"strings"

	"github.com/ssprflow/ssprflow/internal/plan"
)

// MethodField is the portal flag field of a plan method, e.g. "method.email".
func MethodField(m plan.Method) Field { return FieldMethodPrefix + Field(m) }

// PolicyField is the Graph policy state field of a method configuration, e.g.
// "policy.email".
func PolicyField(method string) Field { return FieldPolicyPrefix + Field(method) }

// IsPortal reports whether a field is only writable through the portal API
// (or by hand). A field the table does not know counts as portal unless it
// is named like a Graph policy field, so that it is never written blindly.
func (f Field) IsPortal() bool {
	if s, ok := Spec(f); ok {
		return s.Surface == SurfacePortal
	}
	return !strings.HasPrefix(string(f), string(FieldPolicyPrefix))
}

// DesiredSettings is the configuration a rollout wants at a stage: SSPR for
// scope (and groupID when scope is selected), and every other row of the
// settings table from the plan, omitted values taking plan.WithDefaults'
// defaults.
//
// Graph authentication method policies are only ever switched on, never off
// (see FieldSpec.ForMethods); the per-method portal flags (method.*) express
// the SSPR selection exactly.
func DesiredSettings(r *plan.Rollout, groupID string, scope Scope) Settings {
	spec := r.WithDefaults().Spec
	s := Settings{}
	for _, row := range table {
		if row.Surface == SurfaceGraph {
			for _, m := range row.ForMethods {
				if slices.Contains(spec.Methods, m) {
					s[row.Field] = on(row.Kind)
					break
				}
			}
			continue
		}
		if v, ok := row.want(&spec, scope, groupID); ok {
			s[row.Field] = v
		}
	}
	return s
}

func on(k Kind) string {
	if k == KindState {
		return StateEnabled
	}
	return "true"
}
