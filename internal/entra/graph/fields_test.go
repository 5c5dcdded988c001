package graph

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// TestEveryFieldRoundTrips: for every row of the settings table, the adapter
// reads the field from a fresh simulated tenant, writes each other valid
// value and back over HTTP (msgraph-sdk-go for Graph rows, the portal client
// for portal rows), the write reaches the row's object on the wire, and a
// new Snapshot reads the value back. A row an adapter or the simulator does
// not cover fails here.
func TestEveryFieldRoundTrips(t *testing.T) {
	for _, row := range entra.Fields() {
		t.Run(string(row.Field), func(t *testing.T) {
			s := startSim(t, entrasim.Options{Users: 5})
			c := s.client(t)
			ctx := ctxT(t)
			g := mustGroup(t, ctx, c, "SSPR-RoundTrip")
			snap := mustSnapshot(t, ctx, c)
			start, ok := snap.Settings[row.Field]
			if !ok {
				t.Fatalf("Snapshot does not read %s", row.Field)
			}
			for _, v := range otherValues(row, start, g.ID) {
				changes := append(prerequisites(row.Field, v, g.ID), entra.Change{Field: row.Field, To: v})
				before := len(s.srv.Audit())
				if err := c.Apply(ctx, changes); err != nil {
					t.Fatalf("write %s=%q: %v", row.Field, v, err)
				}
				if !wrote(s.srv.Audit()[before:], row) {
					t.Errorf("write %s=%q did not reach %s %s", row.Field, v, row.Surface, row.Object)
				}
				after := mustSnapshot(t, ctx, c)
				if got := after.Settings[row.Field]; got != v {
					t.Errorf("%s: wrote %q, read back %q", row.Field, v, got)
				}
			}
		})
	}
}

// otherValues are the valid values of a row other than cur, then cur again.
func otherValues(row entra.FieldSpec, cur, groupID string) []string {
	var vs []string
	switch {
	case len(row.Values) > 0:
		vs = slices.Clone(row.Values)
	case row.Kind == entra.KindBool:
		vs = []string{"true", "false"}
	case row.Kind == entra.KindInt:
		vs = []string{"365", "0"}
	case row.Kind == entra.KindGroup:
		vs = []string{groupID, ""}
	default:
		vs = []string{"https://help.example.com/sspr", "helpdesk@example.com"}
	}
	vs = slices.DeleteFunc(vs, func(v string) bool { return v == cur })
	return append(vs, cur)
}

// prerequisites are the changes the portal requires with f=v (it refuses
// inconsistent objects).
func prerequisites(f entra.Field, v, groupID string) []entra.Change {
	switch {
	case f == entra.FieldScope && v == string(entra.ScopeSelected):
		return []entra.Change{{Field: entra.FieldGroup, To: groupID}}
	case f == entra.MethodField(plan.MethodMobileAppNotification) && v == "true":
		return []entra.Change{{Field: entra.FieldMethodsRequired, To: "2"}}
	case f == entra.FieldHelpdeskCustomized && v == "true":
		return []entra.Change{{Field: entra.FieldHelpdeskContact, To: "helpdesk@example.com"}}
	case f == entra.FieldUnlockEnabled && v == "true":
		return []entra.Change{{Field: entra.FieldWritebackEnabled, To: "true"}}
	}
	return nil
}

// wrote reports whether the requests include a write of the row's object.
func wrote(audit []entrasim.AuditEntry, row entra.FieldSpec) bool {
	for _, e := range audit {
		switch {
		case row.Surface == entra.SurfacePortal && e.Method == http.MethodPut && strings.HasSuffix(e.Path, "/"+row.Object),
			row.Surface == entra.SurfaceGraph && e.Method == http.MethodPatch &&
				strings.EqualFold(e.Path, "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/"+row.Object):
			return e.Status < 300
		}
	}
	return false
}

// TestGraphRowsHaveModels: every Graph row has an SDK model to PATCH and a
// property the adapter reads and writes.
func TestGraphRowsHaveModels(t *testing.T) {
	for _, f := range graphFields {
		cfg := newConfig(f.Object)
		if cfg == nil {
			t.Errorf("%s: no SDK model for %q", f.Field, f.Object)
			continue
		}
		v := "true"
		if f.Kind == entra.KindState {
			v = entra.StateEnabled
		}
		if err := setProperty(cfg, f.Key, v); err != nil {
			t.Errorf("%s: %v", f.Field, err)
		}
		if got, ok := property(cfg, f.Key); !ok || got != v {
			t.Errorf("%s: property %s = %q, %v after setting %q", f.Field, f.Key, got, ok, v)
		}
	}
	if n := len(graphFields); n == 0 || n != len(entra.Fields())-len(portalKeys) {
		t.Errorf("%d Graph rows and %d portal rows of %d", n, len(portalKeys), len(entra.Fields()))
	}
}
