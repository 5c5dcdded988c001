package entrasim

import (
	"slices"
	"strings"
	"time"
)

// The organisation model: with Options.Org every synthetic user has a
// department, a country and a job title, and the tenant has the groups an
// organisation keeps before any SSPR rollout: one "All-<Department>" group
// per department whose members are its regional groups ("<Department> EU",
// "<Department> Americas", "<Department> APAC", nested, holding the users),
// a Break-Glass group of two emergency-access Global Administrators, and a
// legacy group "Sales 'EU'". A user o'brien (in it) and that group's name test
// $filter quoting end to end.

type department struct {
	name string
	jobs []string
}

var departments = []department{
	{"Sales", []string{"Account Executive", "Sales Manager", "Sales Engineer"}},
	{"Engineering", []string{"Software Engineer", "Senior Software Engineer", "Engineering Manager"}},
	{"Marketing", []string{"Marketing Specialist", "Product Marketing Manager"}},
	{"Finance", []string{"Accountant", "Financial Analyst", "Controller"}},
	{"Human Resources", []string{"HR Business Partner", "Recruiter"}},
	{"IT", []string{"Systems Administrator", "Service Desk Analyst", "Network Engineer"}},
	{"Operations", []string{"Operations Analyst", "Logistics Coordinator"}},
	{"Customer Support", []string{"Support Engineer", "Support Team Lead"}},
	{"Legal", []string{"Counsel", "Paralegal"}},
}

type country struct{ name, code, region string }

var countries = []country{
	{"Germany", "DE", "EU"}, {"France", "FR", "EU"}, {"Netherlands", "NL", "EU"}, {"Ireland", "IE", "EU"},
	{"United Kingdom", "GB", "EU"},
	{"United States", "US", "Americas"}, {"Canada", "CA", "Americas"}, {"Brazil", "BR", "Americas"},
	{"Japan", "JP", "APAC"}, {"India", "IN", "APAC"}, {"Australia", "AU", "APAC"}, {"Singapore", "SG", "APAC"},
}

var regions = []string{"EU", "Americas", "APAC"}

// BreakGlassGroup is the seeded group of emergency-access accounts that
// rollouts exclude.
const BreakGlassGroup = "Break-Glass"

// M365Group is the organisation's Microsoft 365 (Unified) group.
const M365Group = "All Company"

// Organisation user fields, index+1 into departments, countries and the
// department's jobs; 0 = not set.
func (u *user) department() string {
	if u.dept == 0 {
		return ""
	}
	return departments[u.dept-1].name
}

func (u *user) jobTitle() string {
	if u.dept == 0 || u.job == 0 {
		return ""
	}
	return departments[u.dept-1].jobs[u.job-1]
}

func (u *user) countryOf() *country {
	if u.country == 0 {
		return nil
	}
	return &countries[u.country-1]
}

// assignOrg gives u a department, country and job from its hash bits.
func assignOrg(u *user, h uint64) {
	d := mix(h ^ 0x0d0e9a27)
	u.dept = uint8(d%uint64(len(departments))) + 1
	u.job = uint8((d>>16)%uint64(len(departments[u.dept-1].jobs))) + 1
	u.country = uint8((d>>32)%uint64(len(countries))) + 1
}

// seedOrg adds the organisation's users and groups to a new tenant.
func (t *tenant) seedOrg(base uint64, now time.Time) {
	t.org = true
	for i := range t.users {
		assignOrg(&t.users[i], mix(base^uint64(i)^0x0c0ffee))
	}
	extra := []struct {
		local, display string
		dept, country  int
		admin          bool
	}{
		{"breakglass1", "Break Glass 1", 6, 6, true},
		{"breakglass2", "Break Glass 2", 6, 1, true},
		{"o'brien", "Pat O'Brien", 1, 5, false},
	}
	// o'brien is Sales in the United Kingdom: in All-Sales, Sales EU and Sales 'EU'.
	for k, x := range extra {
		h := mix(base ^ uint64(0xB6EA0+k))
		u := newUser(h, mix(h+1))
		u.upn, u.displayName = x.local+"@"+t.domain, x.display
		u.guest, u.disabled, u.preReg, u.never, u.admin = false, false, false, false, x.admin
		u.dept, u.country, u.job = uint8(x.dept), uint8(x.country), 1
		u.delay = max(u.delay, int64(time.Minute))
		t.add(u)
	}
	regional := map[string]*group{} // "<dept>/<region>"
	for _, d := range departments {
		all := t.seedGroup("All-"+strings.ReplaceAll(d.name, " ", ""), "Everyone in "+d.name, now)
		for _, r := range regions {
			g := t.seedGroup(d.name+" "+r, d.name+" in "+r, now)
			regional[d.name+"/"+r] = g
			all.nested = append(all.nested, g.id)
		}
	}
	// A legacy group whose name needs quoting in $filter.
	legacy := t.seedGroup("Sales 'EU'", "Legacy Sales distribution in Europe", now)
	bg := t.seedGroup(BreakGlassGroup, "Emergency access accounts: never in scope of policy changes", now)
	// A Microsoft 365 group, as every tenant with Teams has: not a security
	// group, so never an SSPR group or a selection by name.
	m365 := t.seedGroup(M365Group, "Microsoft 365 group for the whole company (Teams, SharePoint)", now)
	m365.unified, m365.domainHint = true, t.domain
	for i := range t.users {
		u := &t.users[i]
		if strings.HasPrefix(u.upn, "breakglass") {
			bg.members[int32(i)] = struct{}{}
			continue
		}
		if u.guest || u.dept == 0 {
			continue
		}
		if len(m365.members) < 50 {
			m365.members[int32(i)] = struct{}{}
		}
		rg := regional[u.department()+"/"+u.countryOf().region]
		rg.members[int32(i)] = struct{}{}
		if u.dept == 1 && u.countryOf().region == "EU" && len(legacy.members) < 24 || strings.HasPrefix(u.upn, "o'brien@") {
			legacy.members[int32(i)] = struct{}{}
		}
	}
}

func (t *tenant) seedGroup(name, description string, now time.Time) *group {
	h := hashString(t.domain + "/group/" + name)
	nick := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\'' {
			return -1
		}
		return r
	}, name)
	g := &group{id: guidFrom(mix(h), mix(h+1)), displayName: name, mailNickname: nick, description: description,
		created: now, members: map[int32]struct{}{}}
	t.groups[g.id] = g
	return g
}

// transitiveUsers is every user reachable from g through nested groups, in
// user order.
func (t *tenant) transitiveUsers(g *group) []int32 {
	if len(g.nested) == 0 {
		return g.memberList()
	}
	seen := map[string]bool{}
	set := map[int32]struct{}{}
	var walk func(*group)
	walk = func(g *group) {
		if seen[g.id] {
			return
		}
		seen[g.id] = true
		for i := range g.members {
			set[i] = struct{}{}
		}
		for _, id := range g.nested {
			if n, ok := t.groups[id]; ok {
				walk(n)
			}
		}
	}
	walk(g)
	out := make([]int32, 0, len(set))
	for i := range set {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// transitiveGroups is every group nested in g, however deep.
func (t *tenant) transitiveGroups(g *group) []*group {
	var out []*group
	seen := map[string]bool{g.id: true}
	var walk func(*group)
	walk = func(g *group) {
		for _, id := range g.nested {
			if n, ok := t.groups[id]; ok && !seen[id] {
				seen[id] = true
				out = append(out, n)
				walk(n)
			}
		}
	}
	walk(g)
	return out
}

// dropNested removes a deleted group from every group that nests it.
func (t *tenant) dropNested(id string) {
	for _, g := range t.groups {
		g.nested = slices.DeleteFunc(g.nested, func(n string) bool { return strings.EqualFold(n, id) })
	}
}
