package plan

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MinSoak is the shortest soak that passes without a warning: registration
// and reset problems take hours to show, not minutes.
const MinSoak = Duration(time.Hour)

// objectIDRE matches a directory object id (a GUID).
var objectIDRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// warn records a warning at path.
func (v *validator) warn(path, msg, fix string) {
	at := v.where(path)
	v.warns = append(v.warns, Problem{File: v.file, Line: at.line, Column: at.col, Field: path, Message: msg, Fix: fix, Warning: true})
}

// warnings returns what in the valid, defaulted plan r an identity engineer
// would question before it runs: nothing here stops a rollout, each can
// leave users without a tested way back in or let it widen unwatched.
func (v *validator) warnings(r *Rollout) []Problem {
	s := &r.Spec
	last := len(s.Stages) - 1
	if last == 0 && s.Stages[0].All {
		v.warn("spec.stages[0]", "the plan enables SSPR for every user at once, with no pilot group to try it on first",
			"add a first stage with group: {name: SSPR-Pilot}, a few members and a gate, before the all stage")
	}
	if g := s.Stages[0].Group; g != nil && objectIDRE.MatchString(g.Name) {
		msg := fmt.Sprintf("%s looks like an object id, but ssprflow finds the group by its display name", q(g.Name))
		if *g.Create {
			msg += ", and with create: true (the default) creates a new group with this name when none has it"
		}
		v.warn("spec.stages[0].group.name", msg, "write the group's display name as Entra ID > Groups shows it")
	}
	if last > 0 && s.Stages[last].All {
		v.warnUnapprovedAll(r, last-1)
	}
	for i := range s.Stages[:last] {
		if g := s.Stages[i].Gate; g != nil {
			v.warnGate(g, fmt.Sprintf("spec.stages[%d].gate", i), s.Approvers)
		}
	}
	if s.DefaultGate != nil && last > 0 {
		v.warnGate(s.DefaultGate, "spec.defaultGate", s.Approvers)
	}
	if d := s.Directory; d != nil && d.AdminSDHolder {
		v.warn("spec.directory.adminSDHolder", "adminSDHolder: true grants the connector account its rights on AdminSDHolder, so password writeback can reset protected accounts such as Domain Admins from the cloud; Microsoft does not recommend it",
			"remove adminSDHolder (protected accounts then stay out of writeback) and reset administrators' passwords on-premises")
	}
	v.warnSelections(r)
	if !*s.Notifications.NotifyUsersOnReset {
		v.warn("spec.notifications.notifyUsersOnReset", "users are not told when their password is reset, so a reset by someone who has taken over their methods goes unnoticed",
			"set notifyUsersOnReset: true (the portal's default)")
	}
	sortProblems(v.warns)
	return v.warns
}

// warnUnapprovedAll warns when no person decides the step from stage i to
// the final all stage.
func (v *validator) warnUnapprovedAll(r *Rollout, i int) {
	st := &r.Spec.Stages[i]
	g := r.GateFor(i)
	if g != nil && g.Approvals > 0 {
		return
	}
	path := fmt.Sprintf("spec.stages[%d]", i)
	switch {
	case st.Gate != nil:
		path += ".gate"
	case r.Spec.DefaultGate != nil:
		path = "spec.defaultGate"
	}
	v.warn(path, fmt.Sprintf("no one approves the step to all users: after stage %q the rollout enables SSPR for everyone without a person deciding", st.Name),
		fmt.Sprintf("give stage %q a gate with approvals: 1 or more, so that a person confirms the earlier stages went well", st.Name))
}

func (v *validator) warnGate(g *Gate, p string, approvers []Approver) {
	if f := g.MinRegistrationPercent; f > 0 && f < 1 {
		pct := fracPercent(f)
		v.warn(p+".minRegistrationPercent", fmt.Sprintf("%v looks like a fraction, but it is a percentage: the gate passes once %v%% of users in scope have registered", f, f),
			fmt.Sprintf("write %s for %s percent", pct, pct))
	}
	if g.Soak > 0 && g.Soak < MinSoak {
		v.warn(p+".soak", fmt.Sprintf("a soak of %s is shorter than an hour: users have had no time to register or reset before the gate measures", g.Soak),
			`soak for hours or days in a real tenant, such as soak: 1d; a soak of seconds suits a lab`)
	}
	switch n := len(approvers); {
	case g.Approvals == 0 || g.Approvals < n:
	case n == 1:
		v.warn(p+".approvals", fmt.Sprintf("only one approver (%s) may decide this gate: if they start the rollout no one may approve it (the worker refuses self-approval unless its policy allows it), and while they are away the gate waits until it times out", q(approvers[0].ID)),
			"list a second approver under spec.approvers")
	default:
		v.warn(p+".approvals", fmt.Sprintf("approvals: %d needs every listed approver: if one of them starts the rollout this gate cannot pass (the worker refuses self-approval unless its policy allows it), and one absence stalls it", g.Approvals),
			fmt.Sprintf("list more approvers under spec.approvers, or lower approvals below %d", n))
	}
}

// warnSelections warns about selections that choose differently from
// what the plan's author most likely meant.
func (v *validator) warnSelections(r *Rollout) {
	s := &r.Spec
	last := len(s.Stages) - 1
	endsWithAll := s.Stages[last].All
	excluded := map[string]bool{}
	for _, g := range s.Exclude.Groups {
		excluded[strings.ToLower(strings.TrimSpace(g))] = true
	}
	// Where each group, file and filter was first selected.
	firstGroup, firstFile, firstFilter := map[string]string{}, map[string]string{}, map[string]string{}
	adminsWarned := false
	_, adminsWritten := v.pos["spec.exclude.admins"]
	for i, st := range s.Stages {
		sel := st.Select
		if sel == nil {
			continue
		}
		p := fmt.Sprintf("spec.stages[%d].select", i)
		switch sel.Kind() {
		case SelectGroups:
			for j, g := range sel.Groups {
				key := strings.ToLower(strings.TrimSpace(g))
				gp := fmt.Sprintf("%s.groups[%d]", p, j)
				switch {
				case excluded[key]:
					v.warn(gp, fmt.Sprintf("group %s is also in spec.exclude.groups, so this stage adds none of its members", q(g)),
						"remove the group from this stage or from spec.exclude.groups")
				case firstGroup[key] != "":
					v.warn(gp, fmt.Sprintf("group %s is already selected by stage %s: this stage adds only users who joined it since", q(g), q(firstGroup[key])),
						"select each group in one stage")
				default:
					firstGroup[key] = st.Name
				}
			}
		case SelectFile:
			key := strings.ToLower(path.Clean(strings.ReplaceAll(sel.File, "\\", "/")))
			if other := firstFile[key]; other != "" {
				v.warn(p+".file", fmt.Sprintf("%s is already selected by stage %s, so this stage adds no one new", q(sel.File), q(other)),
					"give each wave its own file")
			} else {
				firstFile[key] = st.Name
			}
		case SelectFilter:
			key := strings.Join(strings.Fields(sel.Filter), " ")
			if other := firstFilter[key]; other != "" {
				v.warn(p+".filter", fmt.Sprintf("the same filter is already used by stage %s: this stage adds only users who match it since", q(other)),
					"give each wave its own filter, or select {percent: N} to widen by share")
			} else {
				firstFilter[key] = st.Name
			}
		case SelectPercent:
			switch pc := sel.Percent; {
			case pc < 1:
				v.warn(p+".percent", fmt.Sprintf("%v looks like a fraction, but it is a percentage: this stage adds %v%% of the in-scope users not yet added", pc, pc),
					fmt.Sprintf("write %s for %s percent", fracPercent(pc), fracPercent(pc)))
			case pc == 100 && i < last && endsWithAll:
				v.warn(p+".percent", fmt.Sprintf("percent: 100 adds every in-scope user not yet in the group, one by one, before stage %q switches SSPR to all users anyway", s.Stages[last].Name),
					"lower the percentage (the all stage covers everyone), or end the rollout with this wave instead of an all stage")
			}
		}
		if k := sel.Kind(); k != SelectFile && !adminsWritten && !adminsWarned {
			adminsWarned = true
			v.warn(p+"."+k, "selecting by "+k+" may add directory role holders (admins) to the SSPR group: their SSPR follows Microsoft's administrator policy whatever the group, so adding them changes nothing for them but counts them in the wave's registration figures",
				"set spec.exclude.admins: true to leave them out, or admins: false to keep them and silence this warning")
		}
	}
	if len(s.Exclude.Groups) > 0 && last > 0 && endsWithAll {
		v.warn("spec.exclude.groups", fmt.Sprintf("spec.exclude keeps these groups out of the waves only: stage %q enables SSPR for every user, their members included", s.Stages[last].Name),
			"if they must never have SSPR, end the rollout with a last wave instead of an all stage; break-glass administrators are covered by the administrator SSPR policy either way")
	}
}

func fracPercent(f float64) string {
	return strconv.FormatFloat(math.Round(f*10000)/100, 'f', -1, 64)
}
