package graph

import (
	"context"
	"slices"
	"strings"

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
