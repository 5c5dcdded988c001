package entrasim

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
)

// Application permissions (the token's roles claim) the simulator checks.
const (
	RolePolicyReadAuthMethod      = "Policy.Read.AuthenticationMethod"
	RolePolicyReadWriteAuthMethod = "Policy.ReadWrite.AuthenticationMethod"
	RolePolicyReadAll             = "Policy.Read.All"
	RoleAuditLogReadAll           = "AuditLog.Read.All"
	RoleOnPremSyncReadAll         = "OnPremDirectorySynchronization.Read.All"
	RoleOnPremSyncReadWriteAll    = "OnPremDirectorySynchronization.ReadWrite.All"
	RoleGroupCreate               = "Group.Create"
	RoleGroupReadAll              = "Group.Read.All"
	RoleGroupReadWriteAll         = "Group.ReadWrite.All"
	RoleGroupMemberReadAll        = "GroupMember.Read.All"
	RoleGroupMemberReadWriteAll   = "GroupMember.ReadWrite.All"
	RoleUserReadAll               = "User.Read.All"
	RoleUserReadWriteAll          = "User.ReadWrite.All"
	RoleDirectoryReadAll          = "Directory.Read.All"
	RoleDirectoryReadWriteAll     = "Directory.ReadWrite.All"
	RoleOrganizationReadAll       = "Organization.Read.All"
)

// AllRoles lists every application permission the simulator knows.
func AllRoles() []string {
	return []string{
		RolePolicyReadAuthMethod, RolePolicyReadWriteAuthMethod, RolePolicyReadAll,
		RoleAuditLogReadAll, RoleOnPremSyncReadAll, RoleOnPremSyncReadWriteAll,
		RoleGroupCreate, RoleGroupReadAll, RoleGroupReadWriteAll,
		RoleGroupMemberReadAll, RoleGroupMemberReadWriteAll,
		RoleUserReadAll, RoleUserReadWriteAll, RoleDirectoryReadAll, RoleDirectoryReadWriteAll,
		RoleOrganizationReadAll,
	}
}

// portalScope is the delegated scope of a portal (main.iam.ad.ext.azure.com) token.
const portalScope = "user_impersonation"

// portalResource is the portal API's resource (audience).
const portalResource = "74658136-14ec-4630-ad9b-26e160ff0fc6"

// claims is the part of a bearer token the simulator reads.
type claims struct {
	Aud   string   `json:"aud"`
	Tid   string   `json:"tid"`
	Roles []string `json:"roles,omitempty"`
	Scp   string   `json:"scp,omitempty"`
	Appid string   `json:"appid,omitempty"`
	UPN   string   `json:"upn,omitempty"`
	Iss   string   `json:"iss,omitempty"`
	Ver   string   `json:"ver,omitempty"`
	Iat   int64    `json:"iat,omitempty"`
	Nbf   int64    `json:"nbf,omitempty"`
	Exp   int64    `json:"exp,omitempty"`
}

func (c claims) delegated() bool { return c.Scp != "" }

// has reports whether the token grants any of perms (roles for application
// tokens, scp for delegated ones).
func (c claims) has(perms ...string) bool {
	var granted []string
	if c.delegated() {
		granted = strings.Fields(c.Scp)
	} else {
		granted = c.Roles
	}
	for _, p := range perms {
		if slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, p) }) {
			return true
		}
	}
	return false
}

// IssueToken returns an unsigned JWT-shaped bearer token for tenant (a domain
// or tenant id) carrying roles as application permissions, or, when
// delegated, as the space-separated scp claim. The simulator does not check
// signatures.
func (s *Server) IssueToken(tenant string, roles []string, delegated bool) string {
	if tenant == "" {
		tenant = s.opts.Tenant
	}
	t := s.tenant(tenant)
	c := claims{
		Aud:   "https://graph.microsoft.com",
		Tid:   t.id,
		Appid: "00000000-0000-0000-0000-0000551a51a0",
		Iss:   "https://sts.windows.net/" + t.id + "/",
	}
	if delegated {
		c.Scp = strings.Join(roles, " ")
		c.UPN = "admin@" + t.domain
	} else {
		c.Roles = append([]string{}, roles...)
		if c.Roles == nil {
			c.Roles = []string{}
		}
	}
	return encodeToken(c)
}

// Token is the default application token: the default tenant with
// Options.Roles (all roles unless configured), or Options.Token when set.
func (s *Server) Token() string {
	if s.opts.Token != "" {
		return s.opts.Token
	}
	return s.IssueToken(s.opts.Tenant, s.opts.Roles, false)
}

// PortalToken is a delegated admin token for the portal PasswordReset API of
// the default tenant. It also carries the Graph scopes, as a Global
// Administrator's token would.
func (s *Server) PortalToken() string { return s.PortalTokenFor(s.opts.Tenant) }

// PortalTokenFor is PortalToken for another tenant (a domain or tenant id),
// for tests and benchmarks that simulate many tenants.
func (s *Server) PortalTokenFor(tenant string) string {
	t := s.tenant(tenant)
	c := claims{
		Aud:   portalResource,
		Tid:   t.id,
		Scp:   strings.Join(append([]string{portalScope}, AllRoles()...), " "),
		UPN:   "admin@" + t.domain,
		Appid: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", // the Azure portal's client id
		Iss:   "https://sts.windows.net/" + t.id + "/",
	}
	return encodeToken(c)
}

// tokenExpiry is 2100-01-01: simulator tokens never expire in practice, but
// carry exp for clients that read it.
const tokenExpiry = 4102444800

func encodeToken(c claims) string {
	c.Ver, c.Iat, c.Nbf, c.Exp = "1.0", 1700000000, 1700000000, tokenExpiry
	return encodeClaims(c)
}

// encodeClaims makes an unsigned JWT of any claims set.
func encodeClaims(c any) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	body, _ := json.Marshal(c) // claims are plain data
	return header + "." + enc.EncodeToString(body) + "."
}

// parseToken reads claims from a JWT-shaped token without verifying it.
func (s *Server) parseToken(raw string) (claims, bool) {
	if raw == "" {
		return claims{}, false
	}
	if s.opts.Token != "" && raw == s.opts.Token {
		t := s.tenant(s.opts.Tenant)
		return claims{Tid: t.id, Roles: s.opts.Roles}, true
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return claims{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return claims{}, false
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil || c.Tid == "" {
		return claims{}, false
	}
	return c, true
}

// TenantID is the id of a tenant named by domain (or by id).
func (s *Server) TenantID(tenant string) string { return s.tenant(tenant).id }

// UserID is the object id of a tenant's user (by UPN).
func (s *Server) UserID(tenant, upn string) (string, bool) {
	t := s.tenant(tenant)
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.byUPN[strings.ToLower(upn)]
	if !ok {
		return "", false
	}
	return t.users[i].id, true
}
