package worker

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/config"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/entra/entrafake"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// TestDifferChecksWhoAndWhat: the worker previews a plan only for a known
// person, only when the request's subject names the plan's tenant and
// rollout, and reads (never writes) the tenant.
func TestDifferChecksWhoAndWhat(t *testing.T) {
	raw, err := os.ReadFile("../../examples/pilot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fake := entrafake.New(entra.Settings{})
	d := &Differ{
		Tenants: func(context.Context, string, plan.PolicyMode) (entra.Tenant, error) { return fake, nil },
		People: func(u string) (config.Person, bool) {
			return config.Person{ID: "ops1"}, u == "ops1"
		},
	}
	p, err := plan.Load("pilot.yaml", raw)
	if err != nil {
		t.Fatal(err)
	}
	req := approval.DiffRequest{Plan: raw, File: "pilot.yaml"}
	tests := []struct {
		name, tenant, rollout, user string
		wantErr                     string
	}{
		{"diff", p.TenantToken(), p.Metadata.Name, "ops1", ""},
		{"unknown person", p.TenantToken(), p.Metadata.Name, "mallory", "not mapped to a person"},
		{"other rollout on the subject", p.TenantToken(), "other", "ops1", "names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fake.Get(entra.FieldScope)
			r, err := d.Diff(context.Background(), tt.tenant, tt.rollout, tt.user, req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(r.Changes) == 0 || r.FinalStage != "all" {
				t.Fatalf("diff %+v, %v", r, err)
			}
			if got := fake.Get(entra.FieldScope); got != before {
				t.Errorf("the diff changed the tenant's scope: %q -> %q", before, got)
			}
		})
	}
}
