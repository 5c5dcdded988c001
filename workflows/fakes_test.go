package workflows

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/ssprflow/ssprflow/activities"
	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// memTenant is an in-memory entra.Tenant: enough to drive the workflow's
// real activities in unit tests. The adapters have their own integration
// tests against the simulator.
type memTenant struct {
	mu       sync.Mutex
	settings entra.Settings
	groups   map[string]string   // id -> name
	members  map[string][]string // group id -> UPNs
	users    map[string]bool     // UPNs that exist
	coverage entra.Coverage
	writes   int
	failOn   entra.Field // Apply of this field fails permanently
	nextID   int
}

func newMemTenant() *memTenant {
	return &memTenant{
		settings: entra.Settings{entra.FieldScope: "none", entra.FieldMethodsRequired: "1"},
		groups:   map[string]string{}, members: map[string][]string{},
		users: map[string]bool{}, coverage: entra.Coverage{Total: 5, Registered: 5, Capable: 5, Enabled: 5},
	}
}

func (m *memTenant) snapshot() entra.Settings {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.settings)
}

func (m *memTenant) Snapshot(ctx context.Context) (entra.Snapshot, error) {
	return entra.Snapshot{Settings: m.snapshot(), MigrationState: "migrationComplete"}, nil
}

func (m *memTenant) Apply(ctx context.Context, cs []entra.Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range cs {
		if c.Field == m.failOn {
			return &entra.PermissionError{Permission: "Policy.ReadWrite.AuthenticationMethod", Op: "write " + string(c.Field)}
		}
	}
	for _, c := range cs {
		if m.settings[c.Field] != c.To {
			m.writes++
		}
		if c.To == "" {
			delete(m.settings, c.Field)
		} else {
			m.settings[c.Field] = c.To
		}
	}
	return nil
}

func (m *memTenant) FindGroup(ctx context.Context, name string) (entra.Group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, n := range m.groups {
		if n == name {
			return entra.Group{ID: id, DisplayName: n}, nil
		}
	}
	return entra.Group{}, entra.ErrNotFound
}

func (m *memTenant) CreateGroup(ctx context.Context, name string) (entra.Group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	id := fmt.Sprintf("00000000-0000-0000-0000-%012d", m.nextID)
	m.groups[id] = name
	m.writes++
	return entra.Group{ID: id, DisplayName: name}, nil
}

func (m *memTenant) DeleteGroup(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.groups[id]; !ok {
		return entra.ErrNotFound
	}
	delete(m.groups, id)
	delete(m.members, id)
	m.writes++
	return nil
}

func (m *memTenant) AddMembers(ctx context.Context, gid string, upns []string) (entra.AddResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var res entra.AddResult
	for _, u := range upns {
		switch {
		case !m.users[strings.ToLower(u)]:
			res.NotFound = append(res.NotFound, u)
		case slices.Contains(m.members[gid], strings.ToLower(u)):
			res.AlreadyMember = append(res.AlreadyMember, u)
		default:
			m.members[gid] = append(m.members[gid], strings.ToLower(u))
			res.Added = append(res.Added, u)
			m.writes++
		}
	}
	return res, nil
}

func (m *memTenant) Members(ctx context.Context, gid string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.members[gid]), nil
}

func (m *memTenant) RemoveMembers(ctx context.Context, gid string, users []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range users {
		m.members[gid] = slices.DeleteFunc(m.members[gid], func(x string) bool { return x == strings.ToLower(u) })
	}
	return nil
}

func (m *memTenant) Coverage(ctx context.Context, gid string) (entra.Coverage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.coverage, nil
}

// memDirectory is an in-memory activities.Directory: a DACL (ACEs as
// strings) per DN.
type memDirectory struct {
	mu     sync.Mutex
	dacl   map[string][]string
	minAge bool // true: a non-zero minimum password age is in force
	// adminSDHolder: the plan grants on AdminSDHolder too (a risky scope).
	adminSDHolder bool
	// minAgeAfter > 0: the first minAgeAfter reads see 0, later ones 1 day
	// (someone changes the GPO after preflight).
	minAgeAfter int
	ageReads    int
	failDN      string
	grants      int
	revokes     int
}

func newMemDirectory() *memDirectory {
	return &memDirectory{dacl: map[string][]string{"DC=example,DC=test": {"admin-ace"}}}
}

func (d *memDirectory) Connector(ctx context.Context) (activities.Account, error) {
	return activities.Account{Name: `EXAMPLE\MSOL_ssprflow`, DN: "CN=MSOL_ssprflow,CN=Users,DC=example,DC=test", SID: "S-1-5-21-1-2-3-1105"}, nil
}

// setAdminSDHolder takes the plan's choice, as the real adapter does.
func (d *memDirectory) setAdminSDHolder(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.adminSDHolder = on
}

func (d *memDirectory) Scopes(ctx context.Context) (activities.Scopes, error) {
	s := activities.Scopes{DNs: []string{"DC=example,DC=test"}}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.adminSDHolder {
		s.DNs = append(s.DNs, "CN=AdminSDHolder,CN=System,DC=example,DC=test")
		s.Warnings = append(s.Warnings, "granting on CN=AdminSDHolder gives the connector the rights over every protected account")
	}
	return s, nil
}

var wantACEs = []string{"reset-password", "write-lockoutTime", "write-pwdLastSet"}

func (d *memDirectory) MissingACEs(ctx context.Context, dn string) ([][]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out [][]byte
	for _, a := range wantACEs {
		if !slices.Contains(d.dacl[dn], a) {
			out = append(out, []byte(a))
		}
	}
	return out, nil
}

func (d *memDirectory) Grant(ctx context.Context, dn string, aces [][]byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dn == d.failDN {
		return 0, errors.New("50 insufficientAccessRights")
	}
	n := 0
	for _, a := range aces {
		if !slices.Contains(d.dacl[dn], string(a)) {
			d.dacl[dn] = append(d.dacl[dn], string(a))
			n++
		}
	}
	d.grants += n
	return n, nil
}

func (d *memDirectory) Revoke(ctx context.Context, dn string, aces [][]byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, a := range aces {
		if i := slices.Index(d.dacl[dn], string(a)); i >= 0 {
			d.dacl[dn] = slices.Delete(d.dacl[dn], i, i+1)
			n++
		}
	}
	d.revokes += n
	return n, nil
}

func (d *memDirectory) Coverage(ctx context.Context) (activities.DirectoryCoverage, error) {
	return activities.DirectoryCoverage{Protected: 1, AdminCount: 2}, nil
}

func (d *memDirectory) PasswordAge(ctx context.Context) (activities.PasswordAge, error) {
	d.mu.Lock()
	d.ageReads++
	late := d.minAgeAfter > 0 && d.ageReads > d.minAgeAfter
	d.mu.Unlock()
	if d.minAge || late {
		return activities.PasswordAge{Findings: []string{"domain minPwdAge is 1 day: Default Domain Policy > Minimum password age = 0"}}, nil
	}
	return activities.PasswordAge{OK: true}, nil
}

func (d *memDirectory) Close() error { return nil }

func (d *memDirectory) daclOf(dn string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.dacl[dn])
}

// recorder is an EventPublisher that keeps what it was given.
type recorder struct {
	mu       sync.Mutex
	events   []activities.EventInput
	requests []approval.Request
}

func (r *recorder) PublishEvent(ctx context.Context, in activities.EventInput) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, in)
	return nil
}

// PublishApprovalRequest refuses what the real publisher refuses (a gate or
// task name that is not one subject token, say), so the workflow's names
// are checked here too.
func (r *recorder) PublishApprovalRequest(ctx context.Context, in approval.Request) error {
	if err := in.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, in)
	return nil
}

func testPlan() plan.Rollout {
	tru := true
	p := plan.Rollout{
		APIVersion: plan.APIVersion, Kind: plan.Kind,
		Metadata: plan.Metadata{Name: "sspr-pilot", Tenant: "contoso.onmicrosoft.com"},
		Spec: plan.Spec{
			SSPRPolicy:      plan.SSPRPolicy{Mode: plan.PolicyModePortalAPI},
			MethodsRequired: 1,
			Methods:         []plan.Method{plan.MethodEmail, plan.MethodMobilePhone},
			Helpdesk:        plan.Helpdesk{URL: "https://help.contoso.com/sspr"},
			Directory:       &plan.Directory{Profile: "corp"},
			Writeback:       plan.Writeback{Mode: plan.WritebackNone},
			Stages: []plan.Stage{
				{Name: "pilot", Group: &plan.GroupRef{Name: "SSPR-Pilot", Create: &tru}, Members: []string{"alice@contoso.onmicrosoft.com", "bob@contoso.onmicrosoft.com"},
					Gate: &plan.Gate{Soak: plan.Duration(10e9), MinRegistrationPercent: 60, Approvals: 1, Timeout: plan.Duration(3600e9)}},
				{Name: "all", All: true},
			},
			Approvers:     []plan.Approver{{ID: "alice"}, {ID: "bob"}},
			FailurePolicy: plan.RollbackAll,
		},
	}
	return *p.WithDefaults()
}

// The organisation-scale port: in memTenant a user's id is their UPN.

func (m *memTenant) CountUsers(ctx context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.users), nil
}

func (m *memTenant) LookupUsers(ctx context.Context, keys []string, fn func(string, entra.User, bool) error) error {
	for _, k := range keys {
		m.mu.Lock()
		ok := m.users[strings.ToLower(k)]
		m.mu.Unlock()
		u := strings.ToLower(k)
		if err := fn(k, entra.User{ID: u, UPN: u}, ok); err != nil {
			return err
		}
	}
	return nil
}

func (m *memTenant) EachUser(ctx context.Context, filter string, fn func(entra.User) error) error {
	m.mu.Lock()
	all := slices.Sorted(maps.Keys(m.users))
	m.mu.Unlock()
	if filter != "" {
		return &entra.PermanentError{Op: "list users", Status: 400, Code: "Request_UnsupportedQuery", Message: "memTenant has no filters"}
	}
	for _, u := range all {
		if err := fn(entra.User{ID: u, UPN: u}); err != nil {
			return err
		}
	}
	return nil
}

func (m *memTenant) EachGroupMember(ctx context.Context, gid string, _ bool, fn func(entra.User) error) error {
	m.mu.Lock()
	list := slices.Clone(m.members[gid])
	m.mu.Unlock()
	for _, u := range list {
		if err := fn(entra.User{ID: u, UPN: u}); err != nil {
			return err
		}
	}
	return nil
}

func (m *memTenant) EachAdmin(ctx context.Context, fn func(string) error) error { return nil }

func (m *memTenant) BindMembers(ctx context.Context, gid string, ids []string) (entra.BindResult, error) {
	res, err := m.AddMembers(ctx, gid, ids)
	return entra.BindResult{Added: res.Added, Already: res.AlreadyMember, NotFound: res.NotFound}, err
}

func (m *memTenant) UnbindMembers(ctx context.Context, gid string, ids []string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, id := range ids {
		before := len(m.members[gid])
		m.members[gid] = slices.DeleteFunc(m.members[gid], func(x string) bool { return x == id })
		if len(m.members[gid]) < before {
			n++
			m.writes++
		}
	}
	return n, nil
}

func (m *memTenant) Organization(context.Context) (entra.Organization, error) {
	return entra.Organization{ID: "00000000-0000-0000-0000-00000000c0de", DisplayName: "Contoso", Licences: []string{"AAD_PREMIUM"}}, nil
}

// grantLock grants every tenant lock (the lock workflow has its own tests).
func grantLock(context.Context, string, string, activities.LockRequest) (activities.LockReply, error) {
	return activities.LockReply{Verdict: activities.LockGranted}, nil
}
