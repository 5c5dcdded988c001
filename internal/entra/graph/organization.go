package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/ssprflow/ssprflow/internal/entra"
)

// ssprPlans are the service plans that license SSPR with on-premises
// writeback (Entra ID P1 and P2, alone or inside a suite).
var ssprPlans = []string{"AAD_PREMIUM", "AAD_PREMIUM_P2"}

const permOrgRead = "Organization.Read.All (or Directory.Read.All)"

// Organization reads GET /organization (the tenant id is the one key for a
// tenant, whatever domain a plan names it by) and GET /subscribedSkus. A
// licence list that cannot be read is reported in LicenceError, not as an
// error: the id is what callers need first.
func (c *Client) Organization(ctx context.Context) (entra.Organization, error) {
	var org entra.Organization
	resp, err := c.sdk.Organization().Get(ctx, nil)
	if err != nil {
		return org, wrap(call{op: "read organization", object: "organization", perm: permOrgRead}, err)
	}
	orgs := resp.GetValue()
	if len(orgs) != 1 {
		return org, &entra.PermanentError{Op: "read organization", Message: "Graph returned no organization"}
	}
	o := orgs[0]
	org.ID, org.DisplayName = strings.ToLower(str(o.GetId())), str(o.GetDisplayName())
	for _, d := range o.GetVerifiedDomains() {
		org.Domains = append(org.Domains, strings.ToLower(str(d.GetName())))
	}
	skus, err := c.sdk.SubscribedSkus().Get(ctx, nil)
	if err != nil {
		org.LicenceError = wrap(call{op: "read subscribed SKUs", object: "subscribedSkus", perm: permOrgRead}, err).Error()
		return org, nil
	}
	for _, s := range skus.GetValue() {
		if str(s.GetCapabilityStatus()) != "Enabled" {
			continue
		}
		for _, sp := range s.GetServicePlans() {
			if name := str(sp.GetServicePlanName()); slices.Contains(ssprPlans, name) && !slices.Contains(org.Licences, name) {
				org.Licences = append(org.Licences, name)
			}
		}
	}
	return org, nil
}

// graphScope is the application token scope for Microsoft Graph.
const graphScope = "https://graph.microsoft.com/.default"

// GrantedPermissions returns the permissions the Graph credential's access
// token carries: its roles claim (application permissions) or scp claim
// (delegated scopes). The token is not verified: this only reads what the
// worker was issued, to say which permission a plan lacks before it runs.
func (c *Client) GrantedPermissions(ctx context.Context) ([]string, error) {
	tok, err := c.cfg.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{graphScope}})
	if err != nil {
		return nil, fmt.Errorf("get a Graph token: %w", err)
	}
	parts := strings.Split(tok.Token, ".")
	if len(parts) != 3 {
		return nil, errors.New("the Graph token is not a JWT: its permissions cannot be read")
	}
	body, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("the Graph token's claims: %w", err)
	}
	var cl struct {
		Roles []string `json:"roles"`
		Scp   string   `json:"scp"`
	}
	if err := json.Unmarshal(body, &cl); err != nil {
		return nil, fmt.Errorf("the Graph token's claims: %w", err)
	}
	return append(cl.Roles, strings.Fields(cl.Scp)...), nil
}
