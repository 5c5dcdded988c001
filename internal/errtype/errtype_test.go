package errtype

import (
	"slices"
	"testing"
)

func TestNonRetryableListsEachActivityTypeOnce(t *testing.T) {
	got := NonRetryable()
	for _, want := range []Type{Permanent, TenantUnavailable, NoDirectory, DirectoryUnavailable, GroupMissing, MembersMissing, PasswordAge, Licence} {
		if !slices.Contains(got, string(want)) {
			t.Errorf("NonRetryable() lacks %s", want)
		}
	}
	for _, wf := range []Type{PolicyConflict, WritebackUnhealthy, AgentMissing, CronRefused, ResumeForged, RolloutFailed} {
		if slices.Contains(got, string(wf)) {
			t.Errorf("NonRetryable() lists %s, which only the workflow raises", wf)
		}
	}
	s := slices.Clone(got)
	slices.Sort(s)
	if len(slices.Compact(s)) != len(got) {
		t.Errorf("NonRetryable() has duplicates: %v", got)
	}
}
