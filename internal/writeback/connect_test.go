package writeback

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// staticRunner answers every script with one output.
type staticRunner struct{ out Output }

func (s staticRunner) Run(context.Context, string, map[string]string) (Output, error) {
	return s.out, nil
}

func TestListConnectorsShapes(t *testing.T) {
	tests := []struct {
		name     string
		stdout   string
		wantAAD  string
		wantAcct []string
		wantErr  error
	}{
		{
			name: "params as list, numeric type",
			stdout: `{"ok":true,"data":[{"Name":"corp.example","Type":1,"ConnectivityParameters":[{"Name":"forest-login-user","Value":"svc-sync"},{"Name":"forest-login-domain","Value":"CORP"}]},` +
				`{"Name":"example.onmicrosoft.com - AAD","Type":2,"ConnectivityParameters":[]}]}`,
			wantAAD: "example.onmicrosoft.com - AAD", wantAcct: []string{`CORP\svc-sync`},
		},
		{
			name:    "single AAD connector object, found by subtype",
			stdout:  `{"ok":true,"data":{"Name":"Tenant","Type":"Extensible2","Subtype":"Windows Azure Active Directory (Microsoft)"}}`,
			wantAAD: "Tenant",
		},
		{
			name: "multi-forest",
			stdout: `{"ok":true,"data":[{"Name":"a.example","Type":"AD","ConnectivityParameters":{"forest-login-user":"CORP\\svc-a"}},` +
				`{"Name":"b.example","Type":"AD","ConnectivityParameters":{"forest-login-user":"svc-b@b.example"}},{"Name":"t - AAD","Type":"Extensible2"}]}`,
			wantAAD: "t - AAD", wantAcct: []string{`CORP\svc-a`, "svc-b@b.example"},
		},
		{
			name:    "no AAD connector",
			stdout:  `{"ok":true,"data":[{"Name":"a.example","Type":"AD"}]}`,
			wantErr: ErrConnectorNotFound,
		},
		{
			name:    "two AAD connectors",
			stdout:  `{"ok":true,"data":[{"Name":"x - AAD","Type":"Extensible2"},{"Name":"y - AAD","Type":"Extensible2"}]}`,
			wantErr: ErrConnectorNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ParseOutput(ScriptListConnectors, []byte(tt.stdout), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			conns, err := ListConnectors(context.Background(), staticRunner{out})
			if err != nil {
				t.Fatal(err)
			}
			aad, err := FindAADConnector(conns)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || aad.Name != tt.wantAAD {
				t.Fatalf("AAD = %q, %v", aad.Name, err)
			}
			if got := ADConnectorAccounts(conns); !slices.Equal(got, tt.wantAcct) {
				t.Errorf("accounts = %q, want %q", got, tt.wantAcct)
			}
		})
	}
}
