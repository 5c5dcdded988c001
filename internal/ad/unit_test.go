package ad

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		op, dn    string
		err       error
		code      uint16
		retryable bool
		want      []string
	}{
		{"access denied on SD write", opWriteSD, "DC=example,DC=test",
			ldap.NewError(ldap.LDAPResultInsufficientAccessRights, errors.New("00002098: SecErr")),
			50, false, []string{`50 insufficientAccessRights: EXAMPLE\svc cannot write nTSecurityDescriptor on DC=example,DC=test`, "Domain Admin", "Modify permissions"}},
		{"busy", opReadSD, "DC=x", ldap.NewError(ldap.LDAPResultBusy, errors.New("busy")), 51, true, []string{"51 busy"}},
		{"unavailable", opSearch, "", ldap.NewError(ldap.LDAPResultUnavailable, errors.New("x")), 52, true, nil},
		{"network", opSearch, "", ldap.NewError(ldap.ErrorNetwork, errors.New("reset")), ldap.ErrorNetwork, true, []string{"reachable"}},
		{"no such object", opReadSD, "OU=Gone,DC=x", ldap.NewError(ldap.LDAPResultNoSuchObject, errors.New("")), 32, false, []string{"noSuchObject", "OU=Gone"}},
		{"strong auth", opBind, "", ldap.NewError(ldap.LDAPResultStrongAuthRequired, errors.New("")), 8, false, []string{"StartTLS"}},
		{"bad credentials", opBind, "", ldap.NewError(ldap.LDAPResultInvalidCredentials, errors.New("")), 49, false, []string{"bindPassword"}},
		{"dial refused", opDial, "", &net.OpError{Op: "dial", Err: errors.New("refused")}, 0, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(tt.op, tt.dn, `EXAMPLE\svc`, tt.err)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not *Error: %T", err)
			}
			if e.Code != tt.code || e.Retryable != tt.retryable || IsRetryable(err) != tt.retryable {
				t.Errorf("code %d retryable %v, want %d %v", e.Code, e.Retryable, tt.code, tt.retryable)
			}
			if !errors.Is(err, tt.err) {
				t.Error("does not unwrap to the cause")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q: %s", w, err)
				}
			}
			// Wrapping twice keeps the first classification.
			if again := classify("other", "", "", fmt.Errorf("ctx: %w", err)); !errors.As(again, &e) || e.Op != tt.op {
				t.Errorf("re-classified: %v", again)
			}
		})
	}
	if IsRetryable(errors.New("plain")) {
		t.Error("plain error retryable")
	}
}

func TestDialRefusesBadConfig(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []Config{
		{URL: "http://dc", BindUser: "u", Password: "p"},
		{URL: "dc.example.test", BindUser: "u", Password: "p"},
		{URL: "ldaps://dc", BindUser: "u"},
		{URL: "ldaps://dc", BindUser: "u", Password: "p", CAFile: "/nonexistent/ca.pem"},
	} {
		if _, err := Dial(ctx, cfg); err == nil {
			t.Errorf("%+v: dialed", cfg)
		} else if strings.Contains(err.Error(), "p\"") {
			t.Errorf("password in error: %v", err)
		}
	}
}
