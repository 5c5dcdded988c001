package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/reports"

	"github.com/ssprflow/ssprflow/internal/entra"
)

const (
	// inFilterMax is how many ids one `id in (...)` filter carries (Graph's
	// limit for `in` on directory-backed resources is 15).
	inFilterMax = 15
	// reportPageSize is the page size asked of userRegistrationDetails.
	reportPageSize = 999
)

// Coverage reads SSPR registration coverage. For the whole tenant
// (groupID == "") it is one usersRegisteredByFeature request. For a group it
// streams the group's members, then whichever costs fewer report requests
// (the reports API is throttled hardest, ~5 requests per 10 s): the
// members' rows by `id in (...)` filters, or one paged scan of
// userRegistrationDetails counting the members' rows. Either way only the
// member ids and one page are held in memory.
func (c *Client) Coverage(ctx context.Context, groupID string) (entra.Coverage, error) {
	return c.coverage(ctx, groupID, strategyAuto)
}

// coverageStrategy forces a group coverage method (tests compare them).
type coverageStrategy int

const (
	strategyAuto coverageStrategy = iota
	strategyFilter
	strategyScan
)

func (c *Client) coverage(ctx context.Context, groupID string, strategy coverageStrategy) (entra.Coverage, error) {
	if groupID == "" {
		cov, err := c.tenantCoverage(ctx)
		if err != nil {
			return entra.Coverage{}, fmt.Errorf("coverage: %w", err)
		}
		return cov, nil
	}
	ids := map[string]bool{}
	err := c.eachMember(ctx, groupID, func(m member) {
		if m.id != "" && m.user {
			ids[m.id] = true
		}
	})
	if err != nil {
		return entra.Coverage{}, fmt.Errorf("coverage: %w", err)
	}
	cov := entra.Coverage{Total: len(ids)}
	if len(ids) == 0 {
		return cov, nil
	}
	count := func(d models.UserRegistrationDetailsable) {
		if !ids[str(d.GetId())] {
			return
		}
		delete(ids, str(d.GetId())) // count each member once
		if b := d.GetIsSsprEnabled(); b != nil && *b {
			cov.Enabled++
		}
		if b := d.GetIsSsprRegistered(); b != nil && *b {
			cov.Registered++
		}
		if b := d.GetIsSsprCapable(); b != nil && *b {
			cov.Capable++
		}
	}

	byFilter := (len(ids) + inFilterMax - 1) / inFilterMax
	scanPages := -1
	if byFilter > 1 && strategy == strategyAuto {
		tenant, err := c.tenantCoverage(ctx)
		if err != nil {
			return entra.Coverage{}, fmt.Errorf("coverage: %w", err)
		}
		scanPages = (tenant.Total + reportPageSize - 1) / reportPageSize
	}
	if strategy == strategyScan || scanPages >= 0 && scanPages < byFilter {
		c.log.Debug("graph: coverage by full scan", "group", groupID, "members", len(ids), "pages", scanPages)
		if err := c.eachRegistration(ctx, "", func(d models.UserRegistrationDetailsable) bool { count(d); return len(ids) > 0 }); err != nil {
			return entra.Coverage{}, fmt.Errorf("coverage: %w", err)
		}
		return cov, nil
	}
	c.log.Debug("graph: coverage by id filter", "group", groupID, "members", len(ids), "requests", byFilter)
	batch := make([]string, 0, inFilterMax)
	all := make([]string, 0, len(ids))
	for id := range ids {
		all = append(all, id)
	}
	for start := 0; start < len(all); start += inFilterMax {
		batch = batch[:0]
		for _, id := range all[start:min(start+inFilterMax, len(all))] {
			batch = append(batch, odataQuote(id))
		}
		filter := "id in (" + strings.Join(batch, ",") + ")"
		if err := c.eachRegistration(ctx, filter, func(d models.UserRegistrationDetailsable) bool { count(d); return true }); err != nil {
			return entra.Coverage{}, fmt.Errorf("coverage: %w", err)
		}
	}
	return cov, nil
}

// eachRegistration streams userRegistrationDetails (optionally filtered)
// page by page with the SDK's page iterator; fn returns false to stop.
func (c *Client) eachRegistration(ctx context.Context, filter string, fn func(models.UserRegistrationDetailsable) bool) error {
	op := call{op: "read user registration details", perm: permReports}
	q := &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetQueryParameters{
		Select: []string{"id", "userPrincipalName", "isSsprEnabled", "isSsprRegistered", "isSsprCapable"},
	}
	if filter != "" {
		q.Filter = &filter
	} else {
		top := int32(reportPageSize)
		q.Top = &top
	}
	resp, err := c.sdk.Reports().AuthenticationMethods().UserRegistrationDetails().Get(ctx,
		&reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration{QueryParameters: q})
	if err != nil {
		return wrap(op, err)
	}
	return iterate(ctx, c, op, resp, models.CreateUserRegistrationDetailsCollectionResponseFromDiscriminatorValue, fn)
}

// iterate walks a collection response page by page with the SDK's page
// iterator (it follows @odata.nextLink); fn returns false to stop.
func iterate[T any](ctx context.Context, c *Client, op call, resp any, create serialization.ParsableFactory, fn func(T) bool) error {
	it, err := msgraphgocore.NewPageIterator[T](resp, c.adapter, create)
	if err != nil {
		return fmt.Errorf("%s: %w", op.op, err)
	}
	return wrap(op, it.Iterate(ctx, fn))
}

// tenantCoverage is usersRegisteredByFeature for all users and roles.
func (c *Client) tenantCoverage(ctx context.Context) (entra.Coverage, error) {
	all := "all"
	sum, err := c.sdk.Reports().AuthenticationMethods().
		UsersRegisteredByFeatureWithIncludedUserTypesWithIncludedUserRoles(&all, &all).Get(ctx, nil)
	if err != nil {
		return entra.Coverage{}, wrap(call{op: "read users registered by feature", perm: permReports}, err)
	}
	var cov entra.Coverage
	if n := sum.GetTotalUserCount(); n != nil {
		cov.Total = int(*n)
	}
	for _, fc := range sum.GetUserRegistrationFeatureCounts() {
		if fc.GetFeature() == nil || fc.GetUserCount() == nil {
			continue
		}
		n := int(*fc.GetUserCount())
		switch fc.GetFeature().String() {
		case "ssprEnabled":
			cov.Enabled = n
		case "ssprRegistered":
			cov.Registered = n
		case "ssprCapable":
			cov.Capable = n
		}
	}
	return cov, nil
}

// regDetail is one userRegistrationDetails row.
type regDetail = models.UserRegistrationDetailsable
