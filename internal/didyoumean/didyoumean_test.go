package didyoumean

import (
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	actions := []string{"retry", "rollback", "abort"}
	keys := []string{"failurePolicy", "methods", "minRegistrationPercent", "graphURL"}
	for _, tt := range []struct {
		in         string
		candidates []string
		want       string
	}{
		{"retyr", actions, "retry"}, // a swap is one edit
		{"rolback", actions, "rollback"},
		{"done", []string{"running", "waiting", "succeeded"}, ""},
		{"aprove", []string{"approve", "reject", "pending"}, "approve"},
		{"x", []string{"plan", "rollout"}, ""},
		{"Plan", []string{"plan"}, "plan"},
		{"graphUrl", keys, "graphURL"},
		{"methds", keys, "methods"},
		{"failurePolicyy", keys, "failurePolicy"},
		{"minRegistrationPrecent", keys, "minRegistrationPercent"},
		{"colour", keys, ""},
		{strings.Repeat("m", 200), keys, ""},
		{strings.Repeat("m", 200), []string{strings.Repeat("m", 201)}, ""}, // too long to compare
	} {
		if got := Suggest(tt.in, tt.candidates); got != tt.want {
			t.Errorf("Suggest(%.20q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSuggest(f *testing.F) {
	f.Add("graphUrl", "graphURL")
	f.Fuzz(func(t *testing.T, s, c string) {
		got := Suggest(s, []string{c})
		if got != "" && got != c {
			t.Fatalf("Suggest returned %q, not a candidate", got)
		}
	})
}
