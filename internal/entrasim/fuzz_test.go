package entrasim

import (
	"testing"
)

// FuzzParseFaults: the fault spec comes from flags and an unauthenticated
// control endpoint.
func FuzzParseFaults(f *testing.F) {
	for _, s := range []string{"", "rate=0.2;codes=429,503;retry-after=1", "path=/v1.0/groups*;rate=0.5;codes=503|latency=20ms", "no-retry-after;retry-after-date", "rate=;codes=,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		cfg, err := ParseFaults(spec)
		if err != nil {
			return
		}
		for _, r := range cfg.Rules {
			if r.Rate < 0 || r.Rate > 1 {
				t.Fatalf("rate %v accepted", r.Rate)
			}
			for _, c := range r.Codes {
				if c < 400 || c > 599 {
					t.Fatalf("code %d accepted", c)
				}
			}
		}
	})
}

// FuzzFilter: $filter is untrusted query text.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		"isSsprRegistered eq true",
		"methodsRegistered/any(m: m eq 'email') and startsWith(userPrincipalName,'a')",
		"id in ('a','b')",
		"(isAdmin eq true) or userType eq 'guest'",
		"userPrincipalName eq 'o''brien'",
		"((((",
	} {
		f.Add(s)
	}
	u := &user{id: "id", upn: "alice@contoso.onmicrosoft.com", displayName: "Alice"}
	row := regRow{u: u, st: regState{methods: []string{"email"}}}
	f.Fuzz(func(t *testing.T, expr string) {
		if match, err := compileFilter(expr, registrationFields); err == nil {
			match(row)
		}
		if match, err := compileFilter(expr, userFields); err == nil {
			match(u)
		}
	})
}
