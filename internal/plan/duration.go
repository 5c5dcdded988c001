package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ParseDuration parses a Go duration ("90s", "30m", "72h", "1h30m") that may
// start with a whole number of days ("7d", "1d12h"). Days exist because gate
// timeouts are naturally written in days, which time.ParseDuration refuses.
func ParseDuration(s string) (Duration, error) {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, errors.New("empty duration")
	}
	neg := false
	if rest[0] == '-' || rest[0] == '+' {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	var total time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		days, err := strconv.ParseUint(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: days must be a whole number", s)
		}
		if days > uint64(math.MaxInt64/int64(24*time.Hour)) {
			return 0, fmt.Errorf("invalid duration %q: too long", s)
		}
		total = time.Duration(days) * 24 * time.Hour
		rest = rest[i+1:]
	}
	if rest != "" {
		if rest[0] == '-' || rest[0] == '+' {
			return 0, fmt.Errorf("invalid duration %q: sign in the middle", s)
		}
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: use a number and a unit such as 90s, 30m, 72h or 7d", s)
		}
		if d > math.MaxInt64-total {
			return 0, fmt.Errorf("invalid duration %q: too long", s)
		}
		total += d
	}
	if neg {
		total = -total
	}
	return Duration(total), nil
}

// String formats d so ParseDuration returns exactly d: whole days as "7d",
// otherwise Go's form without trailing zero units ("1h30m", "90s" is "1m30s").
func (d Duration) String() string {
	td := time.Duration(d)
	const day = 24 * time.Hour
	if td != 0 && td%day == 0 {
		return strconv.FormatInt(int64(td/day), 10) + "d"
	}
	s := td.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText writes d as String does; JSON and YAML use it so a Rollout
// round-trips through Temporal's JSON payloads unchanged.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses what ParseDuration accepts.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON writes d as a JSON string such as "72h".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a JSON string such as "72h"; a bare number is taken as
// nanoseconds, which is how a plain time.Duration would have been encoded.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return d.UnmarshalText([]byte(s))
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration must be a string such as \"30m\": %w", err)
	}
	*d = Duration(n)
	return nil
}

// MarshalYAML writes d as a string such as "72h".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a string such as "72h" or "7d". A bare number is
// refused: "30" could mean seconds or minutes.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return fmt.Errorf("line %d: duration must be a string with a unit such as \"30m\"", n.Line)
	}
	return d.UnmarshalText([]byte(n.Value))
}
