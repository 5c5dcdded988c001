package plan

import (
	"slices"
	"time"
)

// The portal's defaults, applied when a plan omits the field. They are
// the one source of these values: internal/entra's settings table shows them
// (FieldSpec.Default) and its tests check that a plan omitting everything
// asks the tenant for exactly them.
const (
	DefaultMethodsRequired          = 1
	DefaultRequireOnSignIn          = true
	DefaultReconfirmDays            = 180
	DefaultNotifyUsersOnReset       = true
	DefaultNotifyAdminsOnAdminReset = false
	DefaultUnlockAccounts           = true
	DefaultGateTimeout              = Duration(72 * time.Hour)
	DefaultAgentTimeout             = Duration(time.Hour)
	// Who spec.exclude leaves out of every selection unless the plan says
	// otherwise. Guests and disabled accounts gain nothing from SSPR;
	// directory role holders stay in, since SSPR for administrators
	// follows Microsoft's own policy whatever the group.
	DefaultExcludeAdmins   = false
	DefaultExcludeGuests   = true
	DefaultExcludeDisabled = true
)

// DefaultMethods are the methods the portal enables out of the box.
func DefaultMethods() []Method { return []Method{MethodEmail, MethodMobilePhone} }

// WithDefaults returns a deep copy of r in which every omitted setting holds
// the portal's default, so later code never has to guess what nil or zero
// means. r itself is not changed. Load already returns a defaulted Rollout;
// calling WithDefaults again changes nothing.
//
// Writeback mode defaults to connect (Entra Connect, as in the walkthrough)
// when a directory is given and to none otherwise. A gate's zero timeout
// means 72h, and its zero metric timeout means the gate's timeout. Methods
// default only when nil (omitted); an empty list stays empty, and Validate
// refuses it. spec.exclude's admins, guests and disabled take
// DefaultExcludeAdmins, DefaultExcludeGuests and DefaultExcludeDisabled.
func (r *Rollout) WithDefaults() *Rollout {
	c := r.clone()
	s := &c.Spec
	if s.SSPRPolicy.Mode == "" {
		s.SSPRPolicy.Mode = PolicyModeManual
	}
	if s.MethodsRequired == 0 {
		s.MethodsRequired = DefaultMethodsRequired
	}
	if s.Methods == nil {
		// Only an omitted list: an empty one written out is a mistake
		// that validation reports, not a request for the default.
		s.Methods = DefaultMethods()
	}
	setBool(&s.Registration.RequireOnSignIn, DefaultRequireOnSignIn)
	if s.Registration.ReconfirmDays == nil {
		days := DefaultReconfirmDays
		s.Registration.ReconfirmDays = &days
	}
	setBool(&s.Notifications.NotifyUsersOnReset, DefaultNotifyUsersOnReset)
	setBool(&s.Notifications.NotifyAdminsOnAdminReset, DefaultNotifyAdminsOnAdminReset)
	if s.Directory != nil {
		setBool(&s.Directory.RequireMinPasswordAgeZero, true)
	}
	if s.Writeback.Mode == "" {
		s.Writeback.Mode = WritebackNone
		if s.Directory != nil {
			s.Writeback.Mode = WritebackConnect
		}
	}
	setBool(&s.Writeback.UnlockAccounts, DefaultUnlockAccounts)
	if s.Writeback.AgentTimeout == 0 {
		s.Writeback.AgentTimeout = DefaultAgentTimeout
	}
	if s.FailurePolicy == "" {
		s.FailurePolicy = RollbackAll
	}
	if s.MissingMembers == "" {
		s.MissingMembers = MissingMembersStop
	}
	setBool(&s.Exclude.Admins, DefaultExcludeAdmins)
	setBool(&s.Exclude.Guests, DefaultExcludeGuests)
	setBool(&s.Exclude.Disabled, DefaultExcludeDisabled)
	defaultGate(s.DefaultGate)
	for i := range s.Stages {
		st := &s.Stages[i]
		if st.Group != nil {
			setBool(&st.Group.Create, true)
		}
		defaultGate(st.Gate)
	}
	return c
}

func defaultGate(g *Gate) {
	if g == nil {
		return
	}
	if g.Timeout == 0 {
		g.Timeout = DefaultGateTimeout
	}
	if g.MetricTimeout == 0 {
		g.MetricTimeout = g.Timeout
	}
}

func setBool(p **bool, v bool) {
	if *p == nil {
		*p = &v
	}
}

// clone deep-copies r so defaults and callers never share memory with it.
func (r *Rollout) clone() *Rollout {
	c := *r
	s := &c.Spec
	s.Methods = slices.Clone(s.Methods)
	s.Registration.RequireOnSignIn = clonePtr(s.Registration.RequireOnSignIn)
	s.Registration.ReconfirmDays = clonePtr(s.Registration.ReconfirmDays)
	s.Notifications.NotifyUsersOnReset = clonePtr(s.Notifications.NotifyUsersOnReset)
	s.Notifications.NotifyAdminsOnAdminReset = clonePtr(s.Notifications.NotifyAdminsOnAdminReset)
	if s.Directory != nil {
		dir := *s.Directory
		dir.Scope = slices.Clone(dir.Scope)
		dir.RequireMinPasswordAgeZero = clonePtr(dir.RequireMinPasswordAgeZero)
		s.Directory = &dir
	}
	s.Writeback.UnlockAccounts = clonePtr(s.Writeback.UnlockAccounts)
	s.DefaultGate = clonePtr(s.DefaultGate)
	s.Approvers = slices.Clone(s.Approvers)
	s.Exclude.Groups = slices.Clone(s.Exclude.Groups)
	s.Exclude.Admins = clonePtr(s.Exclude.Admins)
	s.Exclude.Guests = clonePtr(s.Exclude.Guests)
	s.Exclude.Disabled = clonePtr(s.Exclude.Disabled)
	s.Stages = slices.Clone(s.Stages)
	for i := range s.Stages {
		st := &s.Stages[i]
		if st.Group != nil {
			g := *st.Group
			g.Create = clonePtr(g.Create)
			st.Group = &g
		}
		st.Members = slices.Clone(st.Members)
		if st.Select != nil {
			sel := *st.Select
			sel.Groups = slices.Clone(sel.Groups)
			st.Select = &sel
		}
		st.MemberList = clonePtr(st.MemberList)
		st.Gate = clonePtr(st.Gate)
	}
	return &c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
