package plan

import (
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ssprflow/ssprflow/internal/didyoumean"
	"github.com/ssprflow/ssprflow/internal/yamldoc"
)

// Validate checks a Rollout built in code (or decoded from JSON) against the
// same rules Load applies, after filling in defaults. Problems carry field
// paths but no positions. It returns nil or a *ValidationError.
func (r *Rollout) Validate() error {
	v := validator{pos: map[string]pos{}, keyPos: map[string]pos{}, bad: map[string]bool{}}
	v.check(r.WithDefaults())
	if len(v.problems) > 0 {
		return newValidationError(v.problems, nil)
	}
	return nil
}

// Limits the validation enforces.
const (
	// MaxNameLength keeps workflow ids and NATS subjects short.
	MaxNameLength = 63
	// MaxReconfirmDays is the portal's upper bound.
	MaxReconfirmDays = 730
	// AllStageName is the name the final, everyone stage must have.
	AllStageName = "all"
)

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	tenantRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
	// profileRE matches config.ValidProfileName (not imported: a plan
	// package that knows nothing of the worker's configuration).
	profileRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	upnRE        = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)
	approverIDRE = regexp.MustCompile(`^[A-Za-z0-9._@-]+$`)
	digestRE     = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// validator applies the semantic rules to a defaulted Rollout, locating each
// problem with the positions the decoder recorded.
type validator struct {
	file        string
	pos, keyPos map[string]pos
	bad         map[string]bool
	problems    []Problem
	warns       []Problem
	// loaded is set for plans read from YAML, whose positions show which
	// sections were written at all.
	loaded bool
}

// add records a problem at path unless the decoder already reported path or
// one of its parents (a value that failed to decode is zero here, and
// complaining about that zero would only confuse).
func (v *validator) add(path, msg, fix string) {
	for p := path; ; p = parentPath(p) {
		if v.bad[p] {
			return
		}
		if p == "" {
			break
		}
	}
	at := v.where(path)
	v.problems = append(v.problems, Problem{File: v.file, Line: at.line, Column: at.col, Field: path, Message: msg, Fix: fix})
}

// where locates path: its value if the plan has it (its key, for a mapping
// or list), else the key of its nearest parent that the plan has (where a
// missing field should go).
func (v *validator) where(path string) pos {
	if p, ok := v.pos[path]; ok {
		// A mapping or list starts on the line after its key; point at the key.
		if k, ok := v.keyPos[path]; ok && k.line != p.line {
			return k
		}
		return p
	}
	for p := parentPath(path); ; p = parentPath(p) {
		if at, ok := v.keyPos[p]; ok {
			return at
		}
		if at, ok := v.pos[p]; ok {
			return at
		}
		if p == "" {
			return pos{}
		}
	}
}

func q(s string) string { return strconv.Quote(yamldoc.Clip(s)) }

func (v *validator) check(r *Rollout) {
	switch r.APIVersion {
	case APIVersion:
	case "":
		v.add("apiVersion", "missing", "add apiVersion: "+APIVersion+" at the top of the file")
	default:
		v.add("apiVersion", fmt.Sprintf("must be %q, got %s", APIVersion, q(r.APIVersion)), "set apiVersion: "+APIVersion)
	}
	switch r.Kind {
	case Kind:
	case "":
		v.add("kind", "missing", "add kind: "+Kind+" at the top of the file")
	default:
		v.add("kind", fmt.Sprintf("must be %q, got %s", Kind, q(r.Kind)), "set kind: "+Kind)
	}
	v.checkMetadata(&r.Metadata)
	if _, ok := v.pos["spec"]; v.loaded && !ok {
		// Without a spec there is no stage either; one complaint covers both.
		v.add("spec", "missing", "add spec: with at least stages (see examples/pilot.yaml)")
		return
	}
	v.checkSpec(&r.Spec)
}

func (v *validator) checkMetadata(m *Metadata) {
	switch {
	case m.Name == "":
		v.add("metadata.name", "missing", "add metadata.name, for example name: sspr-pilot")
	case len(m.Name) > MaxNameLength || !nameRE.MatchString(m.Name):
		v.add("metadata.name", fmt.Sprintf("%s must be lowercase letters, digits and dashes, at most %d characters, starting and ending with a letter or digit (it becomes part of NATS subjects and the workflow id)", q(m.Name), MaxNameLength),
			fmt.Sprintf("rename it, for example to %q", suggestName(m.Name)))
	}
	switch {
	case m.Tenant == "":
		v.add("metadata.tenant", "missing", "add metadata.tenant: the tenant id (GUID) or its initial domain, such as contoso.onmicrosoft.com")
	case len(m.Tenant) > 253 || !tenantRE.MatchString(m.Tenant):
		v.add("metadata.tenant", q(m.Tenant)+" is neither a tenant id (GUID) nor a domain name", "use the tenant id or initial domain shown on the Entra ID Overview page, such as contoso.onmicrosoft.com")
	}
}

// suggestName turns an invalid name into a valid one to propose as the fix.
func suggestName(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
		if b.Len() >= MaxNameLength {
			break
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > MaxNameLength {
		out = strings.Trim(out[:MaxNameLength], "-")
	}
	if out == "" {
		return "sspr-rollout"
	}
	return out
}

func (v *validator) checkSpec(s *Spec) {
	switch s.SSPRPolicy.Mode {
	case PolicyModeManual, PolicyModePortalAPI:
	default:
		v.add("spec.ssprPolicy.mode", fmt.Sprintf("must be %q or %q, got %s", PolicyModeManual, PolicyModePortalAPI, q(string(s.SSPRPolicy.Mode))),
			"set mode: manual (ssprflow asks a person to change portal-only settings) or mode: portal-api")
	}
	v.checkMethods(s)
	if d := *s.Registration.ReconfirmDays; d < 0 || d > MaxReconfirmDays {
		v.add("spec.registration.reconfirmDays", fmt.Sprintf("must be between 0 and %d, got %d", MaxReconfirmDays, d),
			fmt.Sprintf("set reconfirmDays to a value from 0 (never) to %d; the portal default is %d", MaxReconfirmDays, DefaultReconfirmDays))
	}
	v.checkHelpdesk(&s.Helpdesk)
	if s.Directory != nil {
		v.checkDirectory(s.Directory)
	}
	v.checkWriteback(s)
	v.checkStages(s)
	v.checkGroupNames(s.Exclude.Groups, "spec.exclude.groups", "write the display name of the group to keep out, such as Break-Glass")
	v.checkApprovers(s)
	switch s.FailurePolicy {
	case RollbackStage, RollbackAll, Pause:
	default:
		v.add("spec.failurePolicy", fmt.Sprintf("must be %q, %q or %q, got %s", RollbackStage, RollbackAll, Pause, q(string(s.FailurePolicy))),
			"set failurePolicy: rollback-all (undo everything), rollback-stage (undo the failed stage) or pause (wait for an operator)")
	}
	switch s.MissingMembers {
	case MissingMembersStop, MissingMembersContinue:
	default:
		v.add("spec.missingMembers", fmt.Sprintf("must be %q or %q, got %s", MissingMembersStop, MissingMembersContinue, q(string(s.MissingMembers))),
			"set missingMembers: stop (default) or continue")
	}
}

func (v *validator) checkMethods(s *Spec) {
	if s.MethodsRequired != 1 && s.MethodsRequired != 2 {
		v.add("spec.methodsRequired", fmt.Sprintf("must be 1 or 2, got %d", s.MethodsRequired), "set methodsRequired to 1 or 2")
	}
	if s.Methods != nil && len(s.Methods) == 0 {
		// WithDefaults fills in only an omitted list; an empty one would
		// leave users no way to reset.
		v.add("spec.methods", "the list is empty: users need at least one method to reset their password with",
			fmt.Sprintf("list at least one method, such as - email, or remove methods to take the portal's default (%s)", strings.Join(methodNames(DefaultMethods()), ", ")))
		return
	}
	names := methodNames(AllMethods)
	seen := map[Method]bool{}
	for i, m := range s.Methods {
		p := fmt.Sprintf("spec.methods[%d]", i)
		switch {
		case !slices.Contains(AllMethods, m):
			fix := "use one of: " + strings.Join(names, ", ")
			if sg := didyoumean.Suggest(string(m), names); sg != "" {
				fix = fmt.Sprintf("did you mean %q? ", sg) + fix
			}
			v.add(p, fmt.Sprintf("unknown method %s", q(string(m))), fix)
		case seen[m]:
			v.add(p, fmt.Sprintf("method %q is listed twice", m), "delete the second entry")
		}
		seen[m] = true
	}
	if s.MethodsRequired == 1 {
		if i := slices.Index(s.Methods, MethodMobileAppNotification); i >= 0 {
			v.add(fmt.Sprintf("spec.methods[%d]", i), "mobileAppNotification needs methodsRequired: 2 (the portal offers it only as a second method)",
				"set methodsRequired: 2 and keep another method, or remove mobileAppNotification")
		}
	}
	if s.MethodsRequired == 2 && len(seen) < 2 {
		v.add("spec.methods", fmt.Sprintf("methodsRequired is 2 but only %d distinct method is enabled", len(seen)),
			"enable at least two methods, for example email and mobilePhone, or set methodsRequired: 1")
	}
}

func methodNames(ms []Method) []string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = string(m)
	}
	return names
}

func (v *validator) checkHelpdesk(h *Helpdesk) {
	if h.Email != "" && h.URL != "" {
		v.add("spec.helpdesk", "set either email or url, not both (the portal has one helpdesk link)", "delete helpdesk.email or helpdesk.url")
	}
	if h.Email != "" {
		a, err := mail.ParseAddress(h.Email)
		if err != nil || a.Address != h.Email || a.Name != "" {
			v.add("spec.helpdesk.email", fmt.Sprintf("%s is not an email address", q(h.Email)), "write a plain address such as helpdesk@contoso.com")
		}
	}
	if h.URL != "" {
		u, err := url.Parse(h.URL)
		switch {
		case err == nil && u.Scheme == "http":
			v.add("spec.helpdesk.url", "must use https://, got an http:// URL", "change http:// to https:// and check the page is served over TLS")
		case err != nil || u.Scheme != "https" || u.Host == "":
			v.add("spec.helpdesk.url", fmt.Sprintf("%s is not an https:// URL", q(h.URL)), "write a full address such as https://support.contoso.com/password")
		}
	}
}

func (v *validator) checkDirectory(d *Directory) {
	const p = "spec.directory"
	switch {
	case d.Profile == "":
		v.add(p+".profile", "missing: the plan names the worker's directory profile; the DC, bind identity, its secret and the connector account are the profile's",
			"add profile: NAME, where NAME is one of the worker configuration's directories (directories: - profile: NAME ...)")
	case len(d.Profile) > MaxNameLength || !profileRE.MatchString(d.Profile):
		v.add(p+".profile", fmt.Sprintf("%s is not a directory profile name", q(d.Profile)),
			"use the name of a profile in the worker configuration: letters, digits, '.', '_' or '-', such as corp")
	}
	for i, dn := range d.Scope {
		if strings.TrimSpace(dn) == "" || !strings.Contains(dn, "=") {
			v.add(fmt.Sprintf("%s.scope[%d]", p, i), fmt.Sprintf("%s is not a distinguished name", q(dn)), "write a DN such as OU=Staff,DC=example,DC=com, or remove scope to use the domain root")
		}
	}
}

func (v *validator) checkWriteback(s *Spec) {
	w := &s.Writeback
	switch w.Mode {
	case WritebackConnect, WritebackCloudSync:
		if s.Directory == nil {
			v.add("spec.writeback.mode", fmt.Sprintf("writeback mode %q needs a directory section (the AD DS the connector account writes to)", w.Mode),
				"add spec.directory: {profile: NAME} naming a directory profile of the worker configuration, or set writeback mode: none")
		}
	case WritebackNone:
	default:
		v.add("spec.writeback.mode", fmt.Sprintf("must be %q, %q or %q, got %s", WritebackConnect, WritebackCloudSync, WritebackNone, q(string(w.Mode))),
			"set mode: connect (Entra Connect), cloudsync (Cloud Sync) or none")
	}
	if w.AgentTimeout < 0 {
		v.add("spec.writeback.agentTimeout", "must not be negative", `use a positive duration such as "1h"`)
	}
}

func (v *validator) checkStages(s *Spec) {
	if len(s.Stages) == 0 {
		v.add("spec.stages", "at least one stage is required", "add stages, for example a pilot with group and members, then {name: all, all: true}")
		return
	}
	last := len(s.Stages) - 1
	names := map[string]int{}
	upns := map[string]string{}
	for i := range s.Stages {
		st := &s.Stages[i]
		p := fmt.Sprintf("spec.stages[%d]", i)
		switch {
		case st.Name == "":
			v.add(p+".name", "missing", "give the stage a name such as pilot, wave-1 or all")
		case !nameRE.MatchString(st.Name) || len(st.Name) > MaxNameLength:
			v.add(p+".name", fmt.Sprintf("%s must be lowercase letters, digits and dashes", q(st.Name)), fmt.Sprintf("rename it, for example to %q", suggestName(st.Name)))
		default:
			if j, dup := names[st.Name]; dup {
				v.add(p+".name", fmt.Sprintf("duplicate stage name %q (also spec.stages[%d])", st.Name, j), "give every stage a different name")
			} else {
				names[st.Name] = i
			}
		}
		if i == 0 && st.Group == nil && !(last == 0 && st.All) {
			v.add(p+".group", "the first stage must name the SSPR group (the portal's \"Selected\" group)",
				"add group: {name: SSPR-Pilot} to the first stage; a plan that goes straight to everyone has a single stage {name: all, all: true}")
		}
		if i > 0 && st.Group != nil {
			v.add(p+".group", "only the first stage may have a group: later stages add members to the same group",
				"remove this group and list the stage's members instead")
		}
		if st.Group != nil && strings.TrimSpace(st.Group.Name) == "" {
			v.add(p+".group.name", "missing", "add name: the display name of the SSPR group, such as SSPR-Pilot")
		}
		switch {
		case st.All && i != last:
			v.add(p+".all", "only the final stage may set all: true",
				"remove all: true here; end the plan with a stage {name: all, all: true}")
		case st.Name == AllStageName && !st.All:
			v.add(p+".all", "the stage named \"all\" must set all: true", "add all: true to this stage")
		case st.All && st.Name != AllStageName && st.Name != "":
			v.add(p+".name", fmt.Sprintf("the stage with all: true must be named %q, got %s", AllStageName, q(st.Name)), "rename it to all")
		case i == last && last > 0 && !st.All:
			v.add(p, fmt.Sprintf("the final stage of a widening rollout must be {name: all, all: true}, got %s", q(st.Name)),
				"add a last stage with name: all and all: true")
		}
		switch {
		case st.All && len(st.Members) > 0:
			v.add(p+".members", "the all stage enables SSPR for everyone; members are not used", "remove members from this stage")
		case st.All && st.Select != nil:
			v.add(p+".select", "the all stage enables SSPR for everyone; it selects no one", "remove select from this stage, or add a wave before all that selects these users")
		case len(st.Members) > 0 && st.Select != nil:
			v.add(p+".select", "a stage lists members or selects them, not both", "keep members: or select:, or split them into two stages")
		case st.Select != nil:
			v.checkSelection(st.Select, p+".select")
		}
		if st.MemberList != nil {
			v.checkMemberList(st, p+".memberList")
		}
		if i > 0 && i < last && !st.Selects() && st.Select == nil {
			v.add(p+".members", "a wave must add at least one member to the SSPR group", "list member UPNs, select members (select: {groups: [...]}, {file: ...}, {filter: ...} or {percent: N}), or remove this stage")
		}
		for j, m := range st.Members {
			mp := fmt.Sprintf("%s.members[%d]", p, j)
			if !upnRE.MatchString(m) {
				v.add(mp, fmt.Sprintf("%s is not a user principal name", q(m)), "write the user's UPN, such as alice@contoso.onmicrosoft.com")
				continue
			}
			key := strings.ToLower(m)
			if other, dup := upns[key]; dup {
				v.add(mp, fmt.Sprintf("%s is already a member at %s", q(m), other), "list each user in one stage only")
				continue
			}
			upns[key] = mp
		}
		if st.Gate != nil {
			if i == last {
				v.add(p+".gate", "the final stage has no next stage to gate", "remove this gate")
			} else {
				v.checkGate(st.Gate, p+".gate", len(s.Approvers))
			}
		}
	}
	if s.DefaultGate != nil {
		v.checkGate(s.DefaultGate, "spec.defaultGate", len(s.Approvers))
	}
}

// checkSelection checks a stage's select: exactly one way of choosing, each
// well formed; what the tenant makes of it (a group that does not exist, a
// filter Graph refuses) the stage finds out when it resolves.
func (v *validator) checkSelection(sel *Selection, p string) {
	if k := sel.kinds(); len(k) != 1 {
		if len(k) == 0 && v.anyBad(p+".groups", p+".file", p+".filter", p+".percent") {
			return // the field that failed to decode is the problem
		}
		got := "none"
		if len(k) > 1 {
			got = strings.Join(k, " and ")
		}
		v.add(p, fmt.Sprintf("set exactly one of groups, file, filter and percent, got %s", got),
			"for example select: {groups: [All-Sales]}, {file: waves/hr.csv}, {filter: \"department eq 'Sales'\"} or {percent: 25}; use one stage per way of choosing")
		return
	}
	if sel.Groups != nil {
		v.checkGroupNames(sel.Groups, p+".groups", "write the group's display name as Entra ID > Groups shows it, such as All-Sales")
	}
	if f := sel.File; f != "" {
		if msg, fix := fileProblem(f); msg != "" {
			v.add(p+".file", msg, fix)
		}
	}
	if f := sel.Filter; f != "" {
		if msg, fix := filterProblem(f); msg != "" {
			v.add(p+".filter", msg, fix)
		}
	}
	if pc := sel.Percent; pc != 0 && !(pc > 0 && pc <= 100) {
		v.add(p+".percent", fmt.Sprintf("must be more than 0 and at most 100, got %v", pc), "set percent: 25 for a quarter of the in-scope users not yet added")
	}
}

// kinds lists the ways of choosing sel sets, in Kind's order. An empty
// groups list counts as set: it was written, and choosing nobody is a
// mistake to point at.
func (sel *Selection) kinds() []string {
	var k []string
	if sel.Groups != nil {
		k = append(k, SelectGroups)
	}
	if sel.File != "" {
		k = append(k, SelectFile)
	}
	if sel.Filter != "" {
		k = append(k, SelectFilter)
	}
	if sel.Percent != 0 {
		k = append(k, SelectPercent)
	}
	return k
}

// anyBad reports whether the decoder already reported one of paths.
func (v *validator) anyBad(paths ...string) bool {
	for _, p := range paths {
		if v.bad[p] {
			return true
		}
	}
	return false
}

// checkGroupNames checks a list of group display names: at least one,
// none empty, none twice (Entra compares display names without case).
func (v *validator) checkGroupNames(names []string, p, fix string) {
	if names != nil && len(names) == 0 {
		v.add(p, "the list is empty", fix)
		return
	}
	seen := map[string]int{}
	for j, g := range names {
		gp := fmt.Sprintf("%s[%d]", p, j)
		key := strings.ToLower(strings.TrimSpace(g))
		if key == "" {
			v.add(gp, "empty group name", fix)
			continue
		}
		if first, dup := seen[key]; dup {
			v.add(gp, fmt.Sprintf("%s is listed twice (also %s[%d])", q(g), p, first), "list each group once")
			continue
		}
		seen[key] = j
	}
}

// MaxFilterBytes bounds select.filter: Graph's URL length limit leaves
// room for about this much, and a longer filter is better a group.
const MaxFilterBytes = 4096

// fileProblem says what is wrong with a select.file path, or "". The path
// is relative to the plan file and must stay inside its directory: the CLI
// uploads what the plan names, and a plan must not make it read
// ~/.ssh/id_rsa or /etc/shadow.
func fileProblem(f string) (msg, fix string) {
	const inside = "write it relative to the plan file, inside its directory, such as waves/hr-wave.csv"
	slashed := strings.ReplaceAll(f, "\\", "/")
	clean := path.Clean(slashed)
	switch {
	case strings.ContainsRune(f, 0):
		return "the path contains a NUL byte", inside
	case strings.TrimSpace(f) != f:
		return fmt.Sprintf("%s starts or ends with a space", q(f)), "remove the spaces around the file name"
	case path.IsAbs(clean) || (len(f) > 1 && f[1] == ':'):
		return fmt.Sprintf("%s is an absolute path; it must be a path inside the plan's directory", q(f)), inside
	case clean == ".." || strings.HasPrefix(clean, "../"):
		return fmt.Sprintf("%s leaves the plan's directory; it must be a path inside the plan's directory", q(f)), inside
	case !strings.HasSuffix(strings.ToLower(clean), ".csv") && !strings.HasSuffix(strings.ToLower(clean), ".txt"):
		return fmt.Sprintf("%s is not a .csv or .txt file", q(f)), "save the list as CSV or text (one UPN or object id per line, or a userPrincipalName or id column); Excel: Save As > CSV UTF-8"
	}
	return "", ""
}

// filterProblem is a light syntax check of an OData $filter: not empty,
// not too long, no control characters, string literals closed (an
// apostrophe inside one is doubled: 'O”Neill') and parentheses balanced
// outside them. What the filter means is the tenant's to decide.
func filterProblem(f string) (msg, fix string) {
	t := strings.TrimSpace(f)
	lt := strings.ToLower(t)
	switch {
	case t == "":
		return "the filter is empty", "write a Graph $filter on users, such as department eq 'Engineering'"
	case len(f) > MaxFilterBytes:
		return fmt.Sprintf("the filter is %d bytes, more than %d", len(f), MaxFilterBytes), "select by a group instead, or split the stage into several"
	case strings.HasPrefix(lt, "$filter=") || strings.HasPrefix(lt, "?$filter=") || strings.HasPrefix(lt, "https://"):
		return "write the filter expression only, not a URL or $filter=", "keep what follows $filter=, such as department eq 'Engineering'"
	}
	inLiteral, depth := false, 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7f:
			return fmt.Sprintf("the filter contains a control character (byte %d)", i), "remove it; write the filter on one line"
		case c == '\'':
			if inLiteral && i+1 < len(f) && f[i+1] == '\'' {
				i++ // a doubled apostrophe inside a literal
				continue
			}
			inLiteral = !inLiteral
		case inLiteral:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return fmt.Sprintf("%s closes a parenthesis it never opened", q(f)), "balance the parentheses: every ) needs a ( before it"
			}
		}
	}
	switch {
	case inLiteral:
		return fmt.Sprintf("%s has an unclosed quote", q(f)), "close every 'literal'; an apostrophe inside one is doubled: surname eq 'O''Brien'"
	case depth > 0:
		return fmt.Sprintf("%s has unbalanced parentheses", q(f)), "close every ( with a )"
	}
	return "", ""
}

// checkMemberList checks the reference the worker puts in place of a
// stage's inline members or selected file. Plans loaded from YAML never
// have one (the loader refuses the key); a plan the worker accepted does.
func (v *validator) checkMemberList(st *Stage, p string) {
	ml := st.MemberList
	switch {
	case st.All:
		v.add(p, "the all stage has no member list", "remove memberList from the all stage")
	case len(st.Members) > 0:
		v.add(p, "a stage has inline members or a stored member list, not both (the worker replaces members with memberList)", "keep one of members and memberList")
	case st.Select != nil && st.Select.Kind() != SelectFile:
		v.add(p, fmt.Sprintf("a member list stands for inline members or select.file, not select.%s", st.Select.Kind()), "remove memberList; the stage resolves its selection when it runs")
	}
	if !digestRE.MatchString(ml.Digest) {
		v.add(p+".digest", fmt.Sprintf("%s is not a sha256 digest", q(ml.Digest)), `write "sha256:" and 64 lower-case hex digits, as the worker stores it`)
	}
	if ml.Count < 1 {
		v.add(p+".count", fmt.Sprintf("must be at least 1, got %d", ml.Count), "store a list with at least one member, or remove the stage")
	}
}

func (v *validator) checkGate(g *Gate, p string, approvers int) {
	switch {
	case g.Approvals < 0:
		v.add(p+".approvals", fmt.Sprintf("must not be negative, got %d", g.Approvals), "set approvals to 0 (no approval) or the number of approvers needed")
	case g.Approvals > approvers && approvers == 0:
		v.add(p+".approvals", fmt.Sprintf("needs %d approval(s) but spec.approvers is empty", g.Approvals),
			"list who may approve under spec.approvers (- id: alice), or set approvals: 0")
	case g.Approvals > approvers:
		v.add(p+".approvals", fmt.Sprintf("needs %d approvals but only %d approvers are listed", g.Approvals, approvers),
			fmt.Sprintf("add approvers under spec.approvers, or lower approvals to at most %d", approvers))
	}
	if f := g.MinRegistrationPercent; !(f >= 0 && f <= 100) || math.IsNaN(f) {
		v.add(p+".minRegistrationPercent", fmt.Sprintf("must be between 0 and 100, got %v", f), "set minRegistrationPercent to a percentage such as 60")
	}
	for _, d := range []struct {
		name string
		val  Duration
	}{{"soak", g.Soak}, {"metricTimeout", g.MetricTimeout}, {"timeout", g.Timeout}} {
		if d.val < 0 {
			v.add(p+"."+d.name, fmt.Sprintf("must not be negative, got %s", d.val), `use a positive duration such as "30m" or "1d"`)
		}
	}
}

func (v *validator) checkApprovers(s *Spec) {
	seen := map[string]int{}
	for i, a := range s.Approvers {
		p := fmt.Sprintf("spec.approvers[%d].id", i)
		switch {
		case a.ID == "":
			v.add(p, "missing", "add id: the NATS user this approver authenticates as, such as alice")
		case !approverIDRE.MatchString(a.ID):
			v.add(p, fmt.Sprintf("%s must be letters, digits, '.', '_', '@' or '-'", q(a.ID)), "use the approver's NATS user name, such as alice")
		default:
			if j, dup := seen[a.ID]; dup {
				v.add(p, fmt.Sprintf("duplicate approver id %q (also spec.approvers[%d])", a.ID, j), "list each approver once")
			} else {
				seen[a.ID] = i
			}
		}
	}
}
