package approvalweb

import (
	"crypto/hmac"
	"encoding/base64"
	"strings"
	"testing"
)

func TestCookieCodec(t *testing.T) {
	c := cookieCodec{key: []byte(strings.Repeat("k", 32))}
	other := cookieCodec{key: []byte(strings.Repeat("x", 32))}
	raw := c.encode(session{Person: "alice", OID: "oid-a", At: 100, CSRF: "tok"})
	var got session
	if err := c.decode(raw, &got); err != nil || got.Person != "alice" || got.CSRF != "tok" {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	body, sig, _ := strings.Cut(raw, ".")
	forged := other.encode(session{Person: "mallory"})
	for name, v := range map[string]string{
		"other key":      forged,
		"no signature":   body,
		"swapped body":   strings.Split(forged, ".")[0] + "." + sig,
		"garbage":        "....",
		"empty":          "",
		"bad base64 sig": body + ".***",
	} {
		var s session
		if err := c.decode(v, &s); err == nil {
			t.Errorf("%s: accepted as %+v", name, s)
		}
	}
}

func TestCSRF(t *testing.T) {
	se := session{CSRF: "abc"}
	for tok, want := range map[string]bool{"abc": true, "": false, "abd": false, "abcd": false} {
		if got := csrfOK(se, tok); got != want {
			t.Errorf("csrf %q: %t, want %t", tok, got, want)
		}
	}
	if csrfOK(session{}, "") {
		t.Error("an empty token matched an empty session token")
	}
}

func FuzzCookieDecode(f *testing.F) {
	c := cookieCodec{key: []byte(strings.Repeat("k", 32))}
	f.Add(c.encode(session{Person: "alice"}))
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, raw string) {
		var s session
		if c.decode(raw, &s) != nil {
			return
		}
		// Only this key's signature opens a cookie, and what it opens
		// round-trips.
		body, sig, _ := strings.Cut(raw, ".")
		if got, _ := base64.RawURLEncoding.DecodeString(sig); !hmac.Equal(got, c.mac(body)) {
			t.Fatalf("accepted %q without this key's signature", raw)
		}
		var back session
		if err := c.decode(c.encode(s), &back); err != nil || back != s {
			t.Fatalf("round trip: %+v -> %+v (%v)", s, back, err)
		}
	})
}
