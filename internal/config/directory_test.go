package config

import (
	"errors"
	"strings"
	"testing"
)

const directoryBase = `temporal: {address: t:7233}
directories:
  - profile: corp
    url: ldaps://dc1.corp.example:636
    caFile: /etc/ssprflow/corp-ca.pem
    serverName: dc1.corp.example
    bindUser: CORP\svc-ssprflow
    bindPassword: {file: /run/secrets/corp-ad}
    connectorAccount: CORP\MSOL_1234abcd
`

func TestDirectoryProfileValidation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new string // one edit of directoryBase
		extra    string // appended
		wantErr  []string
	}{
		{name: "valid"},
		{name: "starttls", old: "ldaps://dc1.corp.example:636", new: "ldap://dc1.corp.example:389"},
		{name: "plain ldap allowed", old: "ldaps://dc1.corp.example:636", new: "ldap://dc1.corp.example", extra: "    allowPlainLDAP: true\n"},
		{name: "profile missing", old: "  - profile: corp\n    url", new: "  - url", wantErr: []string{"directories[0].profile: missing"}},
		{name: "profile bad", old: "profile: corp", new: "profile: 'a b'", wantErr: []string{"directories[0].profile:", "letters"}},
		{name: "profile twice", extra: "  - {profile: corp, url: ldaps://dc2, bindUser: u, bindPassword: {env: X}, connectorAccount: c}\n",
			wantErr: []string{"directories[1].profile:", "also directories[0]"}},
		{name: "url missing", old: "    url: ldaps://dc1.corp.example:636\n", new: "", wantErr: []string{"directories[0].url: missing", "ldaps://"}},
		{name: "url http", old: "ldaps://dc1.corp.example:636", new: "http://dc1.corp.example", wantErr: []string{"directories[0].url:", "not an ldaps:// or ldap:// URL"}},
		{name: "url with path", old: "ldaps://dc1.corp.example:636", new: "ldaps://dc1.corp.example/x", wantErr: []string{"directories[0].url:"}},
		{name: "plain with ldaps", extra: "    allowPlainLDAP: true\n", wantErr: []string{"directories[0].allowPlainLDAP:", "remove allowPlainLDAP"}},
		{name: "bindUser missing", old: "    bindUser: CORP\\svc-ssprflow\n", new: "", wantErr: []string{"directories[0].bindUser: missing"}},
		{name: "bindPassword missing", old: "    bindPassword: {file: /run/secrets/corp-ad}\n", new: "", wantErr: []string{"directories[0].bindPassword: missing", "{env: NAME}"}},
		{name: "bindPassword both", old: "{file: /run/secrets/corp-ad}", new: "{file: /a, env: B}", wantErr: []string{"directories[0].bindPassword: set env or file, not both"}},
		{name: "bindPassword bad env", old: "{file: /run/secrets/corp-ad}", new: "{env: 'A-B'}", wantErr: []string{"directories[0].bindPassword.env:"}},
		{name: "bindPassword inline", old: "{file: /run/secrets/corp-ad}", new: "hunter2", wantErr: []string{"line 8: a secret is a reference, never the value"}},
		{name: "bindPassword unknown key", old: "{file: /run/secrets/corp-ad}", new: "{fil: /x}", wantErr: []string{`field "fil" not found`}},
		{name: "connector missing", old: "    connectorAccount: CORP\\MSOL_1234abcd\n", new: "", wantErr: []string{"directories[0].connectorAccount: missing"}},
		{name: "insecure is not a profile field", extra: "    insecure: true\n", wantErr: []string{"insecure"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := directoryBase
			if tc.old != "" {
				if !strings.Contains(doc, tc.old) {
					t.Fatalf("edit %q does not apply", tc.old)
				}
				doc = strings.Replace(doc, tc.old, tc.new, 1)
			}
			doc += tc.extra
			c, err := Parse("w.yaml", []byte(doc))
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.DirectoryProfile("corp"); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error echoes the inline password: %v", err)
			}
		})
	}
}

func TestDirectoryProfileLookup(t *testing.T) {
	c := &Config{Directories: []Directory{{Profile: "corp", URL: "ldaps://dc1"}}}
	if d, err := c.DirectoryProfile("corp"); err != nil || d.URL != "ldaps://dc1" {
		t.Fatalf("corp: %+v %v", d, err)
	}
	for _, name := range []string{"lab", "", "CORP"} {
		_, err := c.DirectoryProfile(name)
		var npe *NoDirectoryProfileError
		if !errors.As(err, &npe) || npe.Profile != name {
			t.Errorf("%q: %v, want *NoDirectoryProfileError", name, err)
			continue
		}
		if name != "" && err.Error() != `this worker has no directory profile "`+name+`": add it under directories: in the worker configuration` {
			t.Errorf("%q: message %q", name, err)
		}
		if strings.Contains(err.Error(), "corp") {
			t.Errorf("%q: the error lists the worker's other profiles: %v", name, err)
		}
	}
}
