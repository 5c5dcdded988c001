package entrasim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tenant is one simulated directory. mu guards everything below it.
type tenant struct {
	mu        sync.Mutex
	id        string // tenant id (GUID)
	domain    string
	name      string // organization display name
	noPremium bool
	org       bool // users have departments, countries and job titles
	created   time.Time

	users  []user
	byID   map[string]int32
	byUPN  map[string]int32
	groups map[string]*group

	methodsPolicy *methodsPolicy
	portal        passwordResetPolicy
	onPrem        onPremPolicy
}

// user is one directory user. Registration state is computed lazily from the
// user's hashed parameters and when SSPR became enabled for them.
type user struct {
	id                 string
	upn                string
	displayName        string
	guest              bool
	admin              bool
	disabled           bool
	mfa                bool  // registered an MFA-capable method
	preReg             bool  // registered for SSPR before the simulation
	never              bool  // never registers
	delay              int64 // registration delay after enablement, ns
	methodsIdx         uint8 // index into ssprMethodSets
	dept, country, job uint8 // organisation model (org.go); 0 = not set
	enabledAt          int64 // unix ns when SSPR became enabled; 0 = not enabled
	registered         int64 // unix ns registration latched when SSPR was disabled; 0 = none
}

// group is a security group.
type group struct {
	id, displayName, mailNickname, description string
	// unified is a Microsoft 365 group (groupTypes ["Unified"], mail-enabled,
	// not a security group): SSPR cannot target it.
	unified    bool
	domainHint string // the tenant's domain, for a Unified group's mail
	created    time.Time
	members    map[int32]struct{}
	nested     []string // ids of member groups (organisation model)
	sorted     []int32  // cache of members in user order; nil = stale
}

func (g *group) memberList() []int32 {
	if g.sorted == nil {
		g.sorted = make([]int32, 0, len(g.members))
		for i := range g.members {
			g.sorted = append(g.sorted, i)
		}
		slices.Sort(g.sorted)
	}
	return g.sorted
}

var namedUsers = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}

var firstNames = []string{"Adele", "Alex", "Allan", "Bianca", "Christie", "Debra", "Diego", "Emily", "Enrico", "Grady", "Henrietta", "Irvin", "Isaiah", "Johanna", "Joni", "Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep", "Raul"}
var lastNames = []string{"Vance", "Wilber", "Deyoung", "Pisani", "Cline", "Berger", "Siciliani", "Braun", "Cattaneo", "Archie", "Gonzalez", "Sherwood", "Bellew", "Lauer", "Sherman", "Gu", "Holloway", "Valdez", "Bowen", "Patel", "Rodriguez", "Fernandez", "Kim", "Nakamura"}

// ssprMethodSets are what registered users have registered, shared to keep
// report rows allocation-free.
var ssprMethodSets = [][]string{
	{"email", "mobilePhone"},
	{"microsoftAuthenticatorPush", "softwareOneTimePasscode", "mobilePhone"},
	{"email"},
	{"mobilePhone"},
	{"microsoftAuthenticatorPush", "softwareOneTimePasscode", "email"},
	{"mobilePhone", "officePhone", "email"},
}

var mfaOnlyMethods = []string{"microsoftAuthenticatorPush", "softwareOneTimePasscode"}
var noMethods = []string{}

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// guidFrom formats 128 deterministic bits as a version-4 style GUID.
func guidFrom(a, b uint64) string {
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], a)
	binary.BigEndian.PutUint64(buf[8:], b)
	buf[6] = buf[6]&0x0f | 0x40
	buf[8] = buf[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", buf[0:4], buf[4:6], buf[6:8], buf[8:10], buf[10:16])
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// unit turns hash bits into a float in (0, 1].
func unit(x uint64) float64 { return (float64(x>>11) + 1) / (1 << 53) }

const meanRegistrationDelay = 3 * time.Hour

func newTenant(domain string, n int, seed int64, noPremium, org bool, now time.Time) *tenant {
	th := hashString(domain)
	t := &tenant{
		id:        guidFrom(mix(th), mix(th+1)),
		domain:    domain,
		name:      orgName(domain),
		noPremium: noPremium,
		created:   now,
		byID:      make(map[string]int32, n+len(namedUsers)),
		byUPN:     make(map[string]int32, n+len(namedUsers)),
		groups:    map[string]*group{},
	}
	base := mix(uint64(seed) ^ th)
	t.users = make([]user, 0, n+len(namedUsers))
	for i, name := range namedUsers {
		h := mix(base ^ uint64(0xA11CE+i))
		u := newUser(h, mix(h+1))
		u.upn = name + "@" + domain
		u.displayName = strings.ToUpper(name[:1]) + name[1:] + " " + lastNames[i]
		// Named users behave predictably for examples: members, enabled
		// accounts, not registered yet, and they do register.
		u.guest, u.disabled, u.preReg, u.never = false, false, false, false
		u.admin = name == "alice"
		u.delay = max(u.delay, int64(time.Minute))
		t.add(u)
	}
	width := max(4, len(strconv.Itoa(n)))
	for i := 1; i <= n; i++ {
		h := mix(base + uint64(i)*0x9e3779b97f4a7c15)
		u := newUser(h, mix(h^0x5bd1e995))
		num := fmt.Sprintf("user%0*d", width, i)
		u.displayName = firstNames[h%uint64(len(firstNames))] + " " + lastNames[(h>>8)%uint64(len(lastNames))]
		if u.guest {
			u.upn = num + "_fabrikam.com#EXT#@" + domain
			u.displayName += " (Guest)"
		} else {
			u.upn = num + "@" + domain
		}
		t.add(u)
	}
	if org {
		t.seedOrg(base, now)
	}
	t.methodsPolicy = defaultMethodsPolicy(now)
	t.portal = defaultPasswordResetPolicy()
	t.onPrem = defaultOnPremPolicy()
	return t
}

func orgName(domain string) string {
	label, _, _ := strings.Cut(domain, ".")
	if label == "" {
		return "Contoso"
	}
	return strings.ToUpper(label[:1]) + label[1:]
}

func newUser(h, h2 uint64) user {
	r := func(shift uint) float64 { return unit(mix(h2 + uint64(shift))) }
	u := user{
		id:         guidFrom(h, h2),
		guest:      r(1) < 0.05,
		admin:      r(2) < 0.02,
		disabled:   r(3) < 0.03,
		preReg:     r(4) < 0.15,
		never:      r(5) < 0.10,
		mfa:        r(6) < 0.40,
		methodsIdx: uint8(mix(h2+7) % uint64(len(ssprMethodSets))),
	}
	u.delay = int64(-math.Log(r(8)) * float64(meanRegistrationDelay))
	if u.guest {
		u.admin = false
	}
	return u
}

func (t *tenant) add(u user) {
	i := int32(len(t.users))
	t.users = append(t.users, u)
	t.byID[u.id] = i
	t.byUPN[strings.ToLower(u.upn)] = i
}

// findUser resolves an id or UPN.
func (t *tenant) findUser(idOrUPN string) (int32, bool) {
	if i, ok := t.byID[strings.ToLower(idOrUPN)]; ok {
		return i, true
	}
	i, ok := t.byUPN[strings.ToLower(idOrUPN)]
	return i, ok
}

// eligible reports whether SSPR can apply to the user at all.
func (u *user) eligible() bool { return !u.guest && !u.disabled }

// regState is a user's registration state at one moment.
type regState struct {
	enabled, registered bool
	methods             []string
	updated             int64
}

func (t *tenant) regState(u *user, now int64) regState {
	st := regState{enabled: u.enabledAt != 0, updated: t.created.UnixNano()}
	switch {
	case u.preReg:
		st.registered = true
	case u.registered != 0 && u.registered <= now:
		st.registered, st.updated = true, u.registered
	case u.enabledAt != 0 && !u.never && now >= u.enabledAt+u.delay:
		st.registered, st.updated = true, u.enabledAt+u.delay
	}
	switch {
	case st.registered:
		st.methods = ssprMethodSets[u.methodsIdx]
	case u.mfa:
		st.methods = mfaOnlyMethods
	default:
		st.methods = noMethods
	}
	return st
}

// shouldBeEnabled applies the portal policy to one user.
func (t *tenant) shouldBeEnabled(i int32) bool {
	u := &t.users[i]
	if !u.eligible() {
		return false
	}
	switch t.portal.EnablementType {
	case 2:
		return true
	case 1:
		if len(t.portal.PasswordResetEnabledGroupIDs) != 1 {
			return false
		}
		g, ok := t.groups[strings.ToLower(t.portal.PasswordResetEnabledGroupIDs[0])]
		if !ok {
			return false
		}
		_, member := g.members[i]
		return member
	}
	return false
}

// setEnabled records a change of a user's SSPR enablement. Registration
// reached while enabled is latched so it survives disablement.
func (u *user) setEnabled(on bool, now int64) {
	switch {
	case on && u.enabledAt == 0:
		u.enabledAt = now
	case !on && u.enabledAt != 0:
		if !u.never && u.registered == 0 && now >= u.enabledAt+u.delay {
			u.registered = u.enabledAt + u.delay
		}
		u.enabledAt = 0
	}
}

// reconcileAll re-applies the portal policy to every user (policy changes,
// deletion of the selected group).
func (t *tenant) reconcileAll(now time.Time) {
	ns := now.UnixNano()
	for i := range t.users {
		t.users[i].setEnabled(t.shouldBeEnabled(int32(i)), ns)
	}
}

// reconcileUser re-applies the policy to one user (membership changes).
func (t *tenant) reconcileUser(i int32, now time.Time) {
	t.users[i].setEnabled(t.shouldBeEnabled(i), now.UnixNano())
}

func (t *tenant) isSelectedGroup(id string) bool {
	return t.portal.EnablementType == 1 && len(t.portal.PasswordResetEnabledGroupIDs) == 1 &&
		strings.EqualFold(t.portal.PasswordResetEnabledGroupIDs[0], id)
}
