package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
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
	// reportDefaultPage is the page size assumed when a tenant refuses
	// $top on the report (an estimate for choosing a strategy) [I].
	reportDefaultPage = 100
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
	strategyPerUser
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

	// Documented requests first: one userRegistrationDetails/{id} per
	// member, or one paged scan of the report. The `id in (...)` filter
	// (15 members a request) is not documented for this report: it is
	// tried when it would be cheaper, and once a tenant refuses it, never
	// again for this client.
	byFilter := (len(ids) + inFilterMax - 1) / inFilterMax
	tenantTotal := -1
	if strategy == strategyAuto && len(ids) > 1 {
		tenant, err := c.tenantCoverage(ctx)
		if err != nil {
			return entra.Coverage{}, fmt.Errorf("coverage: %w", err)
		}
		tenantTotal = tenant.Total
	}
	scanPages := func() int {
		size := reportPageSize
		if c.noReportTop.Load() {
			size = reportDefaultPage
		}
		return (tenantTotal + size - 1) / size
	}
	scan := func() (entra.Coverage, error) {
		c.log.Debug("graph: coverage by full scan", "group", groupID, "members", len(ids))
		if err := c.eachRegistration(ctx, "", func(d models.UserRegistrationDetailsable) bool { count(d); return len(ids) > 0 }); err != nil {
			return entra.Coverage{}, fmt.Errorf("coverage: %w", err)
		}
		return cov, nil
	}
	perUser := func() (entra.Coverage, error) {
		c.log.Debug("graph: coverage per member", "group", groupID, "members", len(ids))
		for _, id := range sortedKeys(ids) {
			d, err := c.registration(ctx, id)
			if errors.Is(err, entra.ErrNotFound) {
				delete(ids, id) // not in the report yet: not registered
				continue
			}
			if err != nil {
				return entra.Coverage{}, fmt.Errorf("coverage: %w", err)
			}
			count(d)
		}
		return cov, nil
	}
	switch {
	case strategy == strategyScan:
		return scan()
	case strategy == strategyPerUser:
		return perUser()
	case strategy == strategyFilter, strategy == strategyAuto && !c.noIDIn.Load() && tenantTotal >= 0 &&
		byFilter < len(ids) && byFilter < scanPages():
		err := c.coverageByFilter(ctx, groupID, ids, count)
		var refused *queryRefusedError
		if !errors.As(err, &refused) || strategy == strategyFilter {
			if err != nil {
				return entra.Coverage{}, fmt.Errorf("coverage: %w", err)
			}
			return cov, nil
		}
		// A tenant that refuses one undocumented shape is taken to refuse the
		// other ($top on the report) too: documented requests only from now.
		c.noIDIn.Store(true)
		c.noReportTop.Store(true)
		c.log.Info("graph: the tenant refuses `id in` on userRegistrationDetails; coverage uses documented requests", "err", refused.msg)
	}
	if tenantTotal >= 0 && scanPages() < len(ids) {
		return scan()
	}
	return perUser()
}

// coverageByFilter counts the members' rows with `id in (...)` filters.
// count removes each member it counts from ids, so after a refusal the
// documented fallback counts only the members not yet counted.
func (c *Client) coverageByFilter(ctx context.Context, groupID string, ids map[string]bool, count func(models.UserRegistrationDetailsable)) error {
	c.log.Debug("graph: coverage by id filter", "group", groupID, "members", len(ids))
	all := sortedKeys(ids)
	batch := make([]string, 0, inFilterMax)
	for start := 0; start < len(all); start += inFilterMax {
		batch = batch[:0]
		for _, id := range all[start:min(start+inFilterMax, len(all))] {
			batch = append(batch, odataQuote(id))
		}
		filter := "id in (" + strings.Join(batch, ",") + ")"
		if err := c.eachRegistration(ctx, filter, func(d models.UserRegistrationDetailsable) bool { count(d); return true }); err != nil {
			return err
		}
	}
	return nil
}

// registration reads one user's row (documented: GET
// /reports/authenticationMethods/userRegistrationDetails/{id}).
func (c *Client) registration(ctx context.Context, id string) (models.UserRegistrationDetailsable, error) {
	d, err := c.sdk.Reports().AuthenticationMethods().UserRegistrationDetails().ByUserRegistrationDetailsId(id).Get(ctx, nil)
	if err != nil {
		return nil, wrap(call{op: "read user registration details", object: "registration details of user " + id, perm: permReports}, err)
	}
	return d, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// queryRefusedError is a 400 for a query shape the tenant does not support.
type queryRefusedError struct{ msg string }

func (e *queryRefusedError) Error() string { return "query refused: " + e.msg }

// eachRegistration streams userRegistrationDetails (optionally filtered)
// page by page with the SDK's page iterator; fn returns false to stop. A
// 400 for the query shape is a *queryRefusedError; an unfiltered scan
// refused its $top (undocumented for this report) is asked again without.
func (c *Client) eachRegistration(ctx context.Context, filter string, fn func(models.UserRegistrationDetailsable) bool) error {
	op := call{op: "read user registration details", perm: permReports}
	q := &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetQueryParameters{
		Select: []string{"id", "userPrincipalName", "isSsprEnabled", "isSsprRegistered", "isSsprCapable"},
	}
	withTop := filter == "" && !c.noReportTop.Load()
	if filter != "" {
		q.Filter = &filter
	} else if withTop {
		top := int32(reportPageSize)
		q.Top = &top
	}
	resp, err := c.sdk.Reports().AuthenticationMethods().UserRegistrationDetails().Get(ctx,
		&reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration{QueryParameters: q})
	if e, ok := fromSDK(err); ok && e.status == http.StatusBadRequest {
		if withTop {
			c.noReportTop.Store(true)
			c.log.Info("graph: the tenant refuses $top on userRegistrationDetails; scanning with its default page size", "err", e.message)
			return c.eachRegistration(ctx, filter, fn)
		}
		if filter != "" {
			return &queryRefusedError{msg: e.message}
		}
	}
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
