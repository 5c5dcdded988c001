package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/directoryroles"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/ssprflow/ssprflow/internal/entra"
)

// Member selection at organisation scale: paged reads of 999 and JSON
// batches of 20, so resolving 50,000 members costs tens of requests, not
// 50,000 (see activities/resolve_members.go for how the resolver chooses).

// userSelect is what selection needs of a user: who, and whether SSPR can
// apply to them at all.
var userSelect = []string{"id", "userPrincipalName", "userType", "accountEnabled"}

// lookupPerFilter is how many keys one "in" filter names. Graph documents
// the in operator on id and userPrincipalName; 15 stays within the limit
// on expressions in one $filter.
const lookupPerFilter = 15

// maxPage is Graph's largest page for directory collections.
const maxPage = int32(999)

func userOf(u models.Userable) entra.User {
	out := entra.User{ID: strings.ToLower(str(u.GetId())), UPN: strings.ToLower(str(u.GetUserPrincipalName()))}
	if t := u.GetUserType(); t != nil && strings.EqualFold(*t, "Guest") {
		out.Guest = true
	}
	if e := u.GetAccountEnabled(); e != nil && !*e {
		out.Disabled = true
	}
	return out
}

func eventual() *abs.RequestHeaders {
	h := abs.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	return h
}

// CountUsers implements entra.Tenant: GET /users/$count, an advanced query
// (ConsistencyLevel: eventual), one request.
func (c *Client) CountUsers(ctx context.Context) (int, error) {
	n, err := c.sdk.Users().Count().Get(ctx, &users.CountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	if err != nil {
		return 0, wrap(call{op: "count users", perm: permUserRead}, err)
	}
	if n == nil {
		return 0, errors.New("count users: empty answer")
	}
	return int(*n), nil
}

// EachUser implements entra.Tenant. A filter Graph answers only as an
// advanced query (ne, not, endsWith, null) is retried once with
// ConsistencyLevel: eventual and $count=true, as Graph's docs prescribe.
func (c *Client) EachUser(ctx context.Context, filter string, fn func(entra.User) error) error {
	op := call{op: "list users", object: "users", perm: permUserRead}
	if filter != "" {
		op.op = fmt.Sprintf("list users where %s", filter)
	}
	get := func(advanced bool) (models.UserCollectionResponseable, error) {
		top := maxPage
		q := &users.UsersRequestBuilderGetQueryParameters{Select: userSelect, Top: &top}
		cfg := &users.UsersRequestBuilderGetRequestConfiguration{QueryParameters: q}
		if filter != "" {
			q.Filter = &filter
		}
		if advanced {
			t := true
			q.Count, cfg.Headers = &t, eventual()
		}
		return c.sdk.Users().Get(ctx, cfg)
	}
	resp, err := get(false)
	if err != nil && filter != "" && isUnsupportedQuery(err) {
		c.log.Info("graph: filter needs an advanced query, retrying with ConsistencyLevel: eventual", "filter", filter)
		resp, err = get(true)
	}
	if err != nil {
		return wrap(op, err)
	}
	return eachPage(ctx, c, op, resp, models.CreateUserCollectionResponseFromDiscriminatorValue, func(u models.Userable) error {
		return fn(userOf(u))
	})
}

// EachGroupMember implements entra.Tenant with the documented OData cast
// .../members/microsoft.graph.user (or transitiveMembers), so nested groups,
// devices and contacts are not returned.
func (c *Client) EachGroupMember(ctx context.Context, groupID string, transitive bool, fn func(entra.User) error) error {
	op := call{op: "list group members", object: "group " + groupID, perm: permGroupRead + " and " + permUserRead}
	top := maxPage
	var resp models.UserCollectionResponseable
	var err error
	if transitive {
		op.op = "list transitive group members"
		resp, err = c.sdk.Groups().ByGroupId(groupID).TransitiveMembers().GraphUser().Get(ctx,
			&groups.ItemTransitiveMembersGraphUserRequestBuilderGetRequestConfiguration{
				QueryParameters: &groups.ItemTransitiveMembersGraphUserRequestBuilderGetQueryParameters{Select: userSelect, Top: &top}})
	} else {
		resp, err = c.sdk.Groups().ByGroupId(groupID).Members().GraphUser().Get(ctx,
			&groups.ItemMembersGraphUserRequestBuilderGetRequestConfiguration{
				QueryParameters: &groups.ItemMembersGraphUserRequestBuilderGetQueryParameters{Select: userSelect, Top: &top}})
	}
	if err != nil {
		return wrap(op, err)
	}
	return eachPage(ctx, c, op, resp, models.CreateUserCollectionResponseFromDiscriminatorValue, func(u models.Userable) error {
		return fn(userOf(u))
	})
}

// EachAdmin implements entra.Tenant: the user members of every activated
// directory role (GET /directoryRoles, then each role's members).
func (c *Client) EachAdmin(ctx context.Context, fn func(string) error) error {
	op := call{op: "list directory roles", object: "directory roles", perm: permRoleRead}
	roles, err := c.sdk.DirectoryRoles().Get(ctx, nil)
	if err != nil {
		return wrap(op, err)
	}
	var ids []string
	err = eachPage(ctx, c, op, roles, models.CreateDirectoryRoleCollectionResponseFromDiscriminatorValue, func(r models.DirectoryRoleable) error {
		ids = append(ids, str(r.GetId()))
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		mop := call{op: "list directory role members", object: "directory role " + id, perm: permRoleRead}
		resp, err := c.sdk.DirectoryRoles().ByDirectoryRoleId(id).Members().Get(ctx,
			&directoryroles.ItemMembersRequestBuilderGetRequestConfiguration{
				QueryParameters: &directoryroles.ItemMembersRequestBuilderGetQueryParameters{Select: []string{"id"}}})
		if err != nil {
			return wrap(mop, err)
		}
		err = eachPage(ctx, c, mop, resp, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue, func(o models.DirectoryObjectable) error {
			if t := o.GetOdataType(); t != nil && !strings.EqualFold(*t, "#microsoft.graph.user") {
				return nil
			}
			return fn(strings.ToLower(str(o.GetId())))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// eachPage is iterate with a callback that can fail; its error is
// returned as is.
func eachPage[T any](ctx context.Context, c *Client, op call, resp any, create serialization.ParsableFactory, fn func(T) error) error {
	var ferr error
	err := iterate(ctx, c, op, resp, create, func(v T) bool {
		ferr = fn(v)
		return ferr == nil
	})
	if ferr != nil {
		return ferr
	}
	return err
}

// LookupUsers implements entra.Tenant: keys go out 15 to a "$filter=... in
// (...)" and 20 such requests to a JSON batch, so 300 keys cost one HTTP
// request and 20 resource units.
func (c *Client) LookupUsers(ctx context.Context, keys []string, fn func(string, entra.User, bool) error) error {
	for start := 0; start < len(keys); start += lookupPerFilter * entra.MaxBind {
		chunk := keys[start:min(start+lookupPerFilter*entra.MaxBind, len(keys))]
		var reqs []*abs.RequestInformation
		for i := 0; i < len(chunk); i += lookupPerFilter {
			part := chunk[i:min(i+lookupPerFilter, len(chunk))]
			// Object ids and UPNs go in separate filters: one property per "in".
			var ids, upns []string
			for _, k := range part {
				if looksLikeGUID(k) {
					ids = append(ids, k)
				} else {
					upns = append(upns, k)
				}
			}
			for _, set := range []struct {
				prop string
				keys []string
			}{{"id", ids}, {"userPrincipalName", upns}} {
				if len(set.keys) == 0 {
					continue
				}
				quoted := make([]string, len(set.keys))
				for j, k := range set.keys {
					quoted[j] = odataQuote(k)
				}
				filter := set.prop + " in (" + strings.Join(quoted, ",") + ")"
				top := int32(lookupPerFilter)
				ri, err := c.sdk.Users().ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
					QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &filter, Select: userSelect, Top: &top}})
				if err != nil {
					return fmt.Errorf("look up users: %w", err)
				}
				reqs = append(reqs, ri)
			}
		}
		// Two filters per 15 keys at most: send them in batches of 20.
		found := map[string]entra.User{}
		for b := 0; b < len(reqs); b += entra.MaxBind {
			res, err := c.batch(ctx, "look up users", permUserRead, reqs[b:min(b+entra.MaxBind, len(reqs))])
			if err != nil {
				return err
			}
			for _, r := range res {
				if r.status != 200 {
					return r.err("look up users", permUserRead)
				}
				vals, _ := r.body["value"].([]any)
				for _, v := range vals {
					m, _ := v.(map[string]any)
					u := userFromMap(m)
					found[u.ID], found[u.UPN] = u, u
				}
			}
		}
		for _, k := range chunk {
			u, ok := found[strings.ToLower(k)]
			if err := fn(k, u, ok); err != nil {
				return err
			}
		}
	}
	return nil
}

func userFromMap(m map[string]any) entra.User {
	s := func(k string) string { v, _ := m[k].(string); return v }
	u := entra.User{ID: strings.ToLower(s("id")), UPN: strings.ToLower(s("userPrincipalName"))}
	u.Guest = strings.EqualFold(s("userType"), "Guest")
	if e, ok := m["accountEnabled"].(bool); ok && !e {
		u.Disabled = true
	}
	return u
}

func looksLikeGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// BindMembers implements entra.Tenant.
func (c *Client) BindMembers(ctx context.Context, groupID string, ids []string) (entra.BindResult, error) {
	var res entra.BindResult
	if len(ids) == 0 {
		return res, nil
	}
	if len(ids) > entra.MaxBind {
		return res, fmt.Errorf("bind members: %d ids, at most %d per request", len(ids), entra.MaxBind)
	}
	if len(ids) > 1 {
		err := c.bindMembers(ctx, groupID, ids)
		if err == nil {
			res.Added = append(res.Added, ids...)
			return res, nil
		}
		if !isAlreadyMember(err) && !isNotFound(err) {
			return res, wrap(call{op: "add members", object: "group " + groupID, perm: permGroupWrite}, err)
		}
		// Some already are members (a resumed attempt, or someone else), or
		// one was deleted since selection: the PATCH changed nothing, so add
		// one by one and let each answer say which.
		c.log.Info("graph: bulk add refused, adding one by one", "group", groupID, "error", err)
	}
	for _, id := range ids {
		added, err := c.addMember(ctx, groupID, id)
		var nf *entra.NotFoundError
		switch {
		case errors.As(err, &nf):
			if _, gerr := c.getGroup(ctx, groupID); gerr != nil {
				return res, gerr
			}
			res.NotFound = append(res.NotFound, id)
		case err != nil:
			return res, err
		case added:
			res.Added = append(res.Added, id)
		default:
			res.Already = append(res.Already, id)
		}
	}
	return res, nil
}

// UnbindMembers implements entra.Tenant: one JSON batch of DELETE
// /groups/{id}/members/{userId}/$ref; 404 means not a member (any more).
func (c *Client) UnbindMembers(ctx context.Context, groupID string, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if len(ids) > entra.MaxBind {
		return 0, fmt.Errorf("remove members: %d ids, at most %d per batch", len(ids), entra.MaxBind)
	}
	reqs := make([]*abs.RequestInformation, len(ids))
	for i, id := range ids {
		ri, err := c.sdk.Groups().ByGroupId(groupID).Members().ByDirectoryObjectId(id).Ref().ToDeleteRequestInformation(ctx, nil)
		if err != nil {
			return 0, fmt.Errorf("remove members: %w", err)
		}
		reqs[i] = ri
	}
	res, err := c.batch(ctx, "remove members from group "+groupID, permGroupWrite, reqs)
	if err != nil {
		return 0, err
	}
	removed := 0
	for i, r := range res {
		switch {
		case r.status == 204 || r.status == 200:
			removed++
		case r.status == 404:
			// Not a member, or the group is gone: the first is success, the
			// second the caller learns from its next read.
		default:
			return removed, r.err("remove member "+ids[i]+" from group "+groupID, permGroupWrite)
		}
	}
	return removed, nil
}

func isUnsupportedQuery(err error) bool {
	e, ok := fromSDK(err)
	return ok && e.status == 400 && (strings.EqualFold(e.code, "Request_UnsupportedQuery") ||
		strings.Contains(strings.ToLower(e.message), "consistencylevel"))
}
