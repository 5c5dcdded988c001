package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Directory is a directory profile: how the worker reaches and binds to one
// on-premises AD DS. Plans name a profile (spec.directory.profile) and never
// carry any of these fields, so a plan cannot choose where the worker
// connects, as whom, or which of the worker's secrets it sends.
type Directory struct {
	// Profile is the name plans use for this directory.
	Profile string `yaml:"profile"`
	// URL is ldaps://host[:636], or ldap://host[:389], which upgrades with
	// StartTLS unless AllowPlainLDAP is set.
	URL string `yaml:"url"`
	// CAFile is a PEM bundle that verifies the DC's certificate; empty
	// means the system roots.
	CAFile string `yaml:"caFile,omitempty"`
	// ServerName overrides the host name checked in the DC's certificate.
	ServerName string `yaml:"serverName,omitempty"`
	// BindUser is the identity that edits ACLs (DOMAIN\name, UPN or DN).
	BindUser string `yaml:"bindUser"`
	// BindPassword is where the worker finds BindUser's password.
	BindPassword Secret `yaml:"bindPassword"`
	// ConnectorAccount is the AD DS connector account of the sync engine,
	// the account that receives the writeback rights.
	ConnectorAccount string `yaml:"connectorAccount"`
	// AllowPlainLDAP permits a simple bind over ldap:// without StartTLS,
	// which sends the password in clear text. Off by default; for test labs.
	AllowPlainLDAP bool `yaml:"allowPlainLDAP,omitempty"`
}

// NoDirectoryProfileError is DirectoryProfile's error when the worker has
// no profile of the requested name. Its message says how to add the
// profile; it names no path, variable or other profile.
type NoDirectoryProfileError struct {
	// Profile is the name asked for ("" when the plan names none).
	Profile string
}

// Error says which profile is missing and how to add it.
func (e *NoDirectoryProfileError) Error() string {
	if e.Profile == "" {
		return "the plan's directory names no profile: set directory: {profile: NAME} in the plan, with NAME one of the worker configuration's directories"
	}
	return fmt.Sprintf("this worker has no directory profile %q: add it under directories: in the worker configuration", clipName(e.Profile))
}

// profileRE is what a profile name looks like: short, and safe to quote
// back in messages and workflow history.
var profileRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$`)

// envNameRE is a portable environment variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidProfileName reports whether name can be a directory profile name:
// 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit.
func ValidProfileName(name string) bool { return profileRE.MatchString(name) }

// DirectoryProfile returns the directory profile called name, or a
// *NoDirectoryProfileError.
func (c *Config) DirectoryProfile(name string) (*Directory, error) {
	for i := range c.Directories {
		if c.Directories[i].Profile == name {
			return &c.Directories[i], nil
		}
	}
	return nil, &NoDirectoryProfileError{Profile: name}
}

// clipName keeps a name that came from a plan short in messages.
func clipName(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// validateDirectories checks every directory profile; each error names the
// field (directories[0].url) and the fix.
func (c *Config) validateDirectories() []error {
	var errs []error
	seen := map[string]int{}
	for i := range c.Directories {
		d := &c.Directories[i]
		p := fmt.Sprintf("directories[%d]", i)
		add := func(field, format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s.%s: %s", p, field, fmt.Sprintf(format, args...)))
		}
		switch j, dup := seen[d.Profile]; {
		case d.Profile == "":
			add("profile", "missing: give the profile a name that plans use, such as profile: corp")
		case !ValidProfileName(d.Profile):
			add("profile", "%q: use 1-63 letters, digits, '.', '_' or '-', such as corp", clipName(d.Profile))
		case dup:
			add("profile", "%q is also directories[%d]: give each profile its own name", d.Profile, j)
		default:
			seen[d.Profile] = i
		}
		switch u, err := url.Parse(d.URL); {
		case d.URL == "":
			add("url", "missing: add url: ldaps://dc1.example.com:636 (or ldap://dc1.example.com:389, which uses StartTLS)")
		case err != nil || (u.Scheme != "ldaps" && u.Scheme != "ldap") || u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.User != nil:
			add("url", "%q is not an ldaps:// or ldap:// URL of a domain controller: write ldaps://dc1.example.com:636, or ldap://dc1.example.com:389 for StartTLS", clipName(d.URL))
		case u.Scheme == "ldaps" && d.AllowPlainLDAP:
			add("allowPlainLDAP", "set with an ldaps:// URL, which never sends plain LDAP: remove allowPlainLDAP")
		}
		if strings.TrimSpace(d.BindUser) == "" {
			add("bindUser", `missing: add the account that edits permissions, such as bindUser: "CORP\\svc-ssprflow" or svc-ssprflow@corp.example`)
		}
		errs = append(errs, checkSecretRef(d.BindPassword, p+".bindPassword", "/run/secrets/ad-password")...)
		if strings.TrimSpace(d.ConnectorAccount) == "" {
			add("connectorAccount", `missing: add the sync engine's AD DS connector account, such as connectorAccount: "CORP\\MSOL_0123456789ab" (Synchronization Service Manager > Connectors > AD connector > Properties)`)
		}
	}
	return errs
}

// checkSecretRef validates a required secret reference at field; example
// is a file path to suggest.
func checkSecretRef(s Secret, field, example string) []error {
	switch {
	case s.IsZero():
		return []error{fmt.Errorf("%s: missing: name where the worker finds it, {env: NAME} or {file: %s}", field, example)}
	case s.Env != "" && s.File != "":
		return []error{fmt.Errorf("%s: set env or file, not both", field)}
	case s.Env != "" && !envNameRE.MatchString(s.Env):
		return []error{fmt.Errorf("%s.env: %q is not an environment variable name: use letters, digits and underscores", field, clipName(s.Env))}
	}
	return nil
}

// UnmarshalYAML reads a secret reference strictly ({env: NAME} or {file:
// PATH}) and refuses a value written in place without quoting it back: the
// YAML library's own error would print the password.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a secret is a reference, never the value itself: write {env: NAME} or {file: PATH}", n.Line)
	}
	var out Secret
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var dst *string
		switch k.Value {
		case "env":
			dst = &out.Env
		case "file":
			dst = &out.File
		default:
			return fmt.Errorf("line %d: field %q not found in a secret reference: use env or file", k.Line, clipName(k.Value))
		}
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
			return fmt.Errorf("line %d: %s must be a name or a path", v.Line, k.Value)
		}
		*dst = v.Value
	}
	*s = out
	return nil
}
