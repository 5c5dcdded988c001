package graph

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/ssprflow/ssprflow/internal/entra"
)

// bindBatch is Graph's limit of members@odata.bind entries per PATCH.
const bindBatch = 20

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// odataQuote quotes a string literal for $filter.
func odataQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// FindGroup returns the security group named name, or an error matching
// entra.ErrNotFound. Two groups with the name are a permanent error: the
// rollout must not guess.
func (c *Client) FindGroup(ctx context.Context, name string) (entra.Group, error) {
	op := call{op: "find group", object: fmt.Sprintf("group %q", name), perm: permGroupRead}
	filter := "displayName eq " + odataQuote(name)
	resp, err := c.sdk.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Filter: &filter, Select: []string{"id", "displayName", "securityEnabled"}},
	})
	if err != nil {
		return entra.Group{}, wrap(op, err)
	}
	var found []entra.Group
	for _, g := range resp.GetValue() {
		if se := g.GetSecurityEnabled(); se != nil && !*se {
			continue
		}
		found = append(found, entra.Group{ID: str(g.GetId()), DisplayName: str(g.GetDisplayName())})
	}
	switch len(found) {
	case 0:
		return entra.Group{}, &entra.NotFoundError{Op: op.op, Object: op.object}
	case 1:
		return found[0], nil
	default:
		ids := make([]string, len(found))
		for i, g := range found {
			ids[i] = g.ID
		}
		return entra.Group{}, &entra.PermanentError{Op: op.op, Message: fmt.Sprintf(
			"%d security groups are named %q (%s): rename all but one", len(found), name, strings.Join(ids, ", "))}
	}
}

// CreateGroup creates a security group, or returns the existing one with
// that name (so a retried step does not create a second group).
func (c *Client) CreateGroup(ctx context.Context, name string) (entra.Group, error) {
	if g, err := c.FindGroup(ctx, name); err == nil {
		return g, nil
	} else if !errors.Is(err, entra.ErrNotFound) {
		return entra.Group{}, fmt.Errorf("create group: %w", err)
	}
	body := models.NewGroup()
	body.SetDisplayName(&name)
	nick := mailNickname(name)
	body.SetMailNickname(&nick)
	f, t := false, true
	body.SetMailEnabled(&f)
	body.SetSecurityEnabled(&t)
	desc := "SSPR group managed by ssprflow"
	body.SetDescription(&desc)
	g, err := c.sdk.Groups().Post(ctx, body, nil)
	if err != nil {
		return entra.Group{}, wrap(call{op: "create group", object: fmt.Sprintf("group %q", name), perm: permGroupCreate}, err)
	}
	c.log.Info("graph: created group", "name", name, "id", str(g.GetId()))
	return entra.Group{ID: str(g.GetId()), DisplayName: str(g.GetDisplayName())}, nil
}

// mailNickname derives the required (unused for security groups) nickname:
// ASCII letters and digits only.
func mailNickname(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "ssprflow-group"
	}
	if b.Len() > 64 {
		return b.String()[:64]
	}
	return b.String()
}

// DeleteGroup deletes a group; a group already gone is not an error.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	err := c.sdk.Groups().ByGroupId(id).Delete(ctx, nil)
	if err != nil && !isNotFound(err) {
		return wrap(call{op: "delete group", object: "group " + id, perm: permGroupDelete}, err)
	}
	if err == nil {
		c.log.Info("graph: deleted group", "id", id)
	}
	return nil
}

func (c *Client) getGroup(ctx context.Context, id string) (entra.Group, error) {
	g, err := c.sdk.Groups().ByGroupId(id).Get(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}},
	})
	if err != nil {
		return entra.Group{}, wrap(call{op: "read group", object: "group " + id, perm: permGroupRead}, err)
	}
	return entra.Group{ID: str(g.GetId()), DisplayName: str(g.GetDisplayName())}, nil
}

// member is a user in a group.
type member struct {
	id, upn string
	user    bool // a user, not a nested group, device or contact
}

// eachMember streams a group's members page by page.
func (c *Client) eachMember(ctx context.Context, groupID string, fn func(member)) error {
	op := call{op: "list group members", object: "group " + groupID, perm: permGroupRead}
	top := int32(999)
	resp, err := c.sdk.Groups().ByGroupId(groupID).Members().Get(ctx, &groups.ItemMembersRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemMembersRequestBuilderGetQueryParameters{Select: []string{"id", "userPrincipalName"}, Top: &top},
	})
	if err != nil {
		return wrap(op, err)
	}
	return iterate(ctx, c, op, resp, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue, func(o models.DirectoryObjectable) bool {
		m := member{id: str(o.GetId())}
		if u, ok := o.(models.Userable); ok {
			m.upn, m.user = str(u.GetUserPrincipalName()), true
		} else if v, ok := o.GetAdditionalData()["userPrincipalName"].(*string); ok {
			m.upn, m.user = str(v), str(v) != ""
		}
		fn(m)
		return true
	})
}

// Members lists the UPNs (lower case, sorted) of a group's user members.
func (c *Client) Members(ctx context.Context, groupID string) ([]string, error) {
	var upns []string
	err := c.eachMember(ctx, groupID, func(m member) {
		if m.upn != "" {
			upns = append(upns, strings.ToLower(m.upn))
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(upns)
	return upns, nil
}

// resolveUser returns a user's id by UPN (or id); ok is false when no such
// user exists.
func (c *Client) resolveUser(ctx context.Context, upn string) (string, bool, error) {
	u, err := c.sdk.Users().ByUserId(upn).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "userPrincipalName"}},
	})
	if isNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, wrap(call{op: "resolve user", object: "user " + upn, perm: permUserRead}, err)
	}
	return str(u.GetId()), true, nil
}

// AddMembers adds users by UPN: existing members are reported, not re-added;
// new ones are bound in PATCHes of up to 20 (members@odata.bind), falling
// back to one members/$ref POST each if a batch collides with a concurrent
// add ("already exist" answers count as already a member). Unknown UPNs are
// reported in NotFound.
func (c *Client) AddMembers(ctx context.Context, groupID string, upns []string) (entra.AddResult, error) {
	var res entra.AddResult
	current := map[string]bool{}
	if err := c.eachMember(ctx, groupID, func(m member) { current[m.id] = true }); err != nil {
		return res, fmt.Errorf("add members: %w", err)
	}
	seen := map[string]bool{}
	var toAdd []string
	for _, upn := range upns {
		key := strings.ToLower(strings.TrimSpace(upn))
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		id, ok, err := c.resolveUser(ctx, key)
		if err != nil {
			return res, fmt.Errorf("add members: %w", err)
		}
		switch {
		case !ok:
			res.NotFound = append(res.NotFound, upn)
		case current[id]:
			res.AlreadyMember = append(res.AlreadyMember, id)
		case !seen["id:"+id]:
			seen["id:"+id] = true
			toAdd = append(toAdd, id)
		}
	}
	for start := 0; start < len(toAdd); start += bindBatch {
		chunk := toAdd[start:min(start+bindBatch, len(toAdd))]
		if len(chunk) > 1 {
			err := c.bindMembers(ctx, groupID, chunk)
			if err == nil {
				res.Added = append(res.Added, chunk...)
				continue
			}
			if !isAlreadyMember(err) {
				return res, wrap(call{op: "add members", object: "group " + groupID, perm: permGroupWrite}, err)
			}
			c.log.Info("graph: batch add collided with existing members, adding one by one", "group", groupID)
		}
		for _, id := range chunk {
			added, err := c.addMember(ctx, groupID, id)
			if err != nil {
				return res, err
			}
			if added {
				res.Added = append(res.Added, id)
			} else {
				res.AlreadyMember = append(res.AlreadyMember, id)
			}
		}
	}
	if len(res.Added) > 0 {
		c.log.Info("graph: added group members", "group", groupID, "added", len(res.Added))
	}
	return res, nil
}

func (c *Client) directoryObjectURL(id string) string {
	return c.cfg.BaseURL + "/directoryObjects/" + id
}

func (c *Client) bindMembers(ctx context.Context, groupID string, ids []string) error {
	refs := make([]string, len(ids))
	for i, id := range ids {
		refs[i] = c.directoryObjectURL(id)
	}
	body := models.NewGroup()
	body.SetAdditionalData(map[string]any{"members@odata.bind": refs})
	_, err := c.sdk.Groups().ByGroupId(groupID).Patch(ctx, body, nil)
	return err
}

// addMember adds one member with members/$ref; false means it already was one.
func (c *Client) addMember(ctx context.Context, groupID, userID string) (bool, error) {
	ref := models.NewReferenceCreate()
	u := c.directoryObjectURL(userID)
	ref.SetOdataId(&u)
	err := c.sdk.Groups().ByGroupId(groupID).Members().Ref().Post(ctx, ref, nil)
	switch {
	case err == nil:
		return true, nil
	case isAlreadyMember(err):
		return false, nil
	default:
		return false, wrap(call{op: "add member", object: "group " + groupID + " or user " + userID, perm: permGroupWrite}, err)
	}
}

// RemoveMembers removes users (ids or UPNs) from a group. Users not in the
// group or not in the tenant are ignored; a missing group is an error.
func (c *Client) RemoveMembers(ctx context.Context, groupID string, usersOrUPNs []string) error {
	if len(usersOrUPNs) == 0 {
		return nil
	}
	if _, err := c.getGroup(ctx, groupID); err != nil {
		return fmt.Errorf("remove members: %w", err)
	}
	removed := 0
	for _, u := range usersOrUPNs {
		id := u
		if strings.Contains(u, "@") {
			var ok bool
			var err error
			if id, ok, err = c.resolveUser(ctx, u); err != nil {
				return fmt.Errorf("remove members: %w", err)
			} else if !ok {
				continue
			}
		}
		err := c.sdk.Groups().ByGroupId(groupID).Members().ByDirectoryObjectId(id).Ref().Delete(ctx, nil)
		switch {
		case err == nil:
			removed++
		case isNotFound(err):
		default:
			return wrap(call{op: "remove member", object: "group " + groupID + " member " + id, perm: permGroupWrite}, err)
		}
	}
	c.log.Info("graph: removed group members", "group", groupID, "removed", removed)
	return nil
}
