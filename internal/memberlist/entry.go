package memberlist

import (
	"strings"
)

// Kind says how an Entry names its user.
type Kind uint8

// The kinds of entry.
const (
	// UPN is a user principal name (name@domain).
	UPN Kind = iota + 1
	// ObjectID is a directory object id (a GUID).
	ObjectID
)

// String returns "upn" or "objectId".
func (k Kind) String() string {
	switch k {
	case UPN:
		return "upn"
	case ObjectID:
		return "objectId"
	}
	return "unknown"
}

// Entry is one member of a list.
type Entry struct {
	// Line is the 1-based line of the file the entry is on.
	Line int
	// Key is the UPN lower-cased or the object id lower-cased, trimmed of
	// surrounding space: Entra compares both without regard to case.
	Key  string
	Kind Kind
}

// UPN limits, from Entra's UPN policy for all user accounts (the SSPR
// policy documentation): at most 64 characters before the "@", 48 after
// it and 113 in all.
const (
	maxUPNLocal  = 64
	maxUPNDomain = 48
	maxUPN       = 113
)

// Classify trims s and reports whether it is a UPN or an object id, and
// its Key (lower-cased). When ok is false, why says what is wrong, for a
// message that continues `"value" ...`.
func Classify(s string) (key string, kind Kind, ok bool) {
	key, kind, why := classify(s)
	return key, kind, why == ""
}

// classify is Classify with the reason a value is refused ("" if it is not).
func classify(s string) (key string, kind Kind, why string) {
	s = strings.TrimSpace(s)
	if isGUID(s) {
		return lower(s), ObjectID, ""
	}
	if why := upnProblem(s); why != "" {
		return "", 0, why
	}
	return lower(s), UPN, ""
}

const notAMember = "is neither a UPN (name@domain) nor an object id (GUID)"

// upnProblem says what keeps s from being a UPN Entra accepts, or "".
// Entra allows only A-Z, a-z, 0-9 and ' . - _ ! # ^ ~ before the "@"
// (so o'brien@contoso.com is valid), and no "." right before it; the
// domain is one of the tenant's verified domains, so a DNS name with a dot.
func upnProblem(s string) string {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return notAMember
	}
	local, domain := s[:at], s[at+1:]
	switch {
	case local == "":
		return "has nothing before the @, so it is not a UPN (name@domain)"
	case strings.IndexByte(domain, '@') >= 0:
		return "has more than one @, so it is not a UPN (name@domain)"
	case len(s) > maxUPN || len(local) > maxUPNLocal || len(domain) > maxUPNDomain:
		return "is longer than Entra allows a UPN (64 characters before the @, 48 after it, 113 in all)"
	case local[len(local)-1] == '.':
		return "has a . right before the @, which Entra does not allow in a UPN"
	}
	for i := 0; i < len(local); i++ {
		if !upnLocalByte(local[i]) {
			return "has a character Entra does not allow in a UPN before the @ (only letters A-Z, digits and ' . - _ ! # ^ ~)"
		}
	}
	if !isDomain(domain) {
		return "does not end in a domain name after the @ (such as contoso.com), so it is not a UPN"
	}
	return ""
}

func upnLocalByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("'.-_!#^~", c) >= 0
}

// isDomain reports whether s is a DNS name of two or more labels, each of
// letters, digits and inner hyphens.
func isDomain(s string) bool {
	labels := 0
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		labels++
	}
	return labels >= 2
}

// isGUID reports whether s is a GUID in its usual 8-4-4-4-12 form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// lower is strings.ToLower for the ASCII strings Classify accepts, without
// an allocation when s is lower-case already (the usual case).
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
