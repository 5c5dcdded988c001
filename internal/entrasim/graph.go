package entrasim

import (
	"net/http"
	"strings"
	"time"
)

// The Graph v1.0 surface: this file routes a request to its resource
// (authmethods.go, groups.go, users.go, reports.go, directory.go) and holds
// the permissions each needs; paging.go and respond.go are shared by all.

const metadata = "https://graph.microsoft.com/v1.0/$metadata#"

// require answers 403 unless the token grants one of perms.
func require(w http.ResponseWriter, r *http.Request, c claims, perms ...string) bool {
	if c.has(perms...) {
		return true
	}
	writeError(w, r, http.StatusForbidden, codeDenied, msgDenied)
	return false
}

var (
	permPolicyRead  = []string{RolePolicyReadAuthMethod, RolePolicyReadWriteAuthMethod, RolePolicyReadAll}
	permPolicyWrite = []string{RolePolicyReadWriteAuthMethod}
	permReports     = []string{RoleAuditLogReadAll}
	permOnPrem      = []string{RoleOnPremSyncReadAll, RoleOnPremSyncReadWriteAll}
	permGroupRead   = []string{RoleGroupReadAll, RoleGroupReadWriteAll, RoleGroupMemberReadAll, RoleGroupMemberReadWriteAll, RoleDirectoryReadAll, RoleDirectoryReadWriteAll}
	permGroupCreate = []string{RoleGroupCreate, RoleGroupReadWriteAll, RoleDirectoryReadWriteAll}
	permGroupWrite  = []string{RoleGroupReadWriteAll, RoleDirectoryReadWriteAll}
	permMemberWrite = []string{RoleGroupMemberReadWriteAll, RoleGroupReadWriteAll, RoleDirectoryReadWriteAll}
	permUserRead    = []string{RoleUserReadAll, RoleUserReadWriteAll, RoleDirectoryReadAll, RoleDirectoryReadWriteAll}
	permOrgRead     = []string{RoleOrganizationReadAll, RoleDirectoryReadAll, RoleDirectoryReadWriteAll}
)

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, t *tenant, c claims) {
	seg := segments(r.URL.Path, "/v1.0")
	if len(seg) == 0 {
		notFoundSegment(w, r)
		return
	}
	switch strings.ToLower(seg[0]) {
	case "policies":
		if len(seg) >= 2 && strings.EqualFold(seg[1], "authenticationMethodsPolicy") {
			s.serveMethodsPolicy(w, r, t, c, seg[2:])
			return
		}
	case "groups":
		s.serveGroups(w, r, t, c, seg[1:])
		return
	case "users":
		s.serveUsers(w, r, t, c, seg[1:])
		return
	case "directoryroles":
		s.serveDirectoryRoles(w, r, t, c, seg[1:])
		return
	case "reports":
		if len(seg) >= 3 && strings.EqualFold(seg[1], "authenticationMethods") {
			s.serveReports(w, r, t, c, seg[2:])
			return
		}
	case "directory":
		if (len(seg) == 2 || len(seg) == 3) && strings.EqualFold(seg[1], "onPremisesSynchronization") {
			s.serveOnPremSync(w, r, t, c, seg[2:])
			return
		}
	case "subscribedskus":
		if len(seg) == 1 {
			s.serveSkus(w, r, t, c)
			return
		}
	case "organization":
		if len(seg) == 1 {
			s.serveOrganization(w, r, t, c)
			return
		}
	}
	notFoundSegment(w, r)
}

// nowString formats a time the way Graph does.
func nowString(t time.Time) string { return t.UTC().Format(graphTimeLayout) }

// graphTimeLayout is Graph's seven-digit fractional UTC timestamp.
const graphTimeLayout = "2006-01-02T15:04:05.0000000Z"
