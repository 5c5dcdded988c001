package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/ssprflow/ssprflow/internal/entra"
)

// JSON batching (POST /$batch, at most 20 requests). Requests are built by
// the SDK's request builders, so URLs and query encoding are the SDK's; the
// envelope goes through the SDK's request adapter (auth, retry, pacing) and
// its answer is decoded here with encoding/json, which keeps every
// sub-response's status, headers and body exactly.

type batchItem struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

type batchAnswer struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"responses"`
}

// batchResult is one sub-request's answer.
type batchResult struct {
	status  int
	headers map[string]string
	body    map[string]any
}

// err turns a failed sub-response into the typed error a top-level
// response with that status would give.
func (r batchResult) err(op, perm string) error {
	e := apiError{status: r.status}
	if m, ok := r.body["error"].(map[string]any); ok {
		e.code, _ = m["code"].(string)
		e.message, _ = m["message"].(string)
	}
	if d, ok := parseRetryAfter(r.header("Retry-After"), time.Now()); ok {
		e.retryAfter = d
	}
	return classify(call{op: op, perm: perm}, e, fmt.Errorf("status %d %s: %s", r.status, e.code, e.message))
}

func (r batchResult) header(name string) string {
	for k, v := range r.headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func throttled(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// batch sends up to 20 requests as one JSON batch and returns their answers
// in order. Sub-requests Graph throttled (429, 503, 504; each is evaluated
// against the budgets on its own) are sent again after their Retry-After,
// within MaxRetryWait; other failures are returned for the caller to judge.
func (c *Client) batch(ctx context.Context, op, perm string, reqs []*abs.RequestInformation) ([]batchResult, error) {
	if len(reqs) > entra.MaxBind {
		return nil, fmt.Errorf("%s: %d requests in one batch, at most %d", op, len(reqs), entra.MaxBind)
	}
	base := c.adapter.GetBaseUrl()
	items := make([]batchItem, len(reqs))
	for i, ri := range reqs {
		if _, ok := ri.PathParameters["baseurl"]; !ok {
			ri.PathParameters["baseurl"] = base
		}
		u, err := ri.GetUri()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		rel := strings.TrimPrefix(u.String(), base)
		if rel == u.String() {
			return nil, fmt.Errorf("%s: request URL %s is not below %s", op, u, base)
		}
		it := batchItem{ID: strconv.Itoa(i + 1), Method: ri.Method.String(), URL: rel}
		if len(ri.Content) > 0 {
			it.Body = json.RawMessage(ri.Content)
			it.Headers = map[string]string{"Content-Type": "application/json"}
		}
		items[i] = it
	}
	out := make([]batchResult, len(reqs))
	pending := make([]int, len(reqs))
	for i := range pending {
		pending[i] = i
	}
	var waited time.Duration
	for attempt := 0; len(pending) > 0; attempt++ {
		send := make([]batchItem, len(pending))
		for j, i := range pending {
			send[j] = items[i]
		}
		answers, err := c.sendBatch(ctx, send)
		if err != nil {
			return nil, wrap(call{op: op, perm: perm}, err)
		}
		var again []int
		var wait time.Duration
		for _, i := range pending {
			a, ok := answers[items[i].ID]
			if !ok {
				return nil, fmt.Errorf("%s: the batch answer has no response for request %s", op, items[i].ID)
			}
			out[i] = a
			if throttled(a.status) {
				again = append(again, i)
				d, ok := parseRetryAfter(a.header("Retry-After"), time.Now())
				if !ok {
					d = time.Second << min(attempt, 5)
				}
				wait = max(wait, d)
			}
		}
		if len(again) == 0 {
			break
		}
		if waited+wait > c.cfg.MaxRetryWait {
			c.log.Warn("graph: batch still throttled, giving up", "op", op, "throttled", len(again), "waited", waited)
			break
		}
		c.log.Debug("graph: batch partly throttled, retrying", "op", op, "throttled", len(again), "wait", wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		waited += wait
		pending = again
	}
	return out, nil
}

func (c *Client) sendBatch(ctx context.Context, items []batchItem) (map[string]batchResult, error) {
	body, err := json.Marshal(map[string]any{"requests": items})
	if err != nil {
		return nil, err
	}
	ri := abs.NewRequestInformation()
	ri.Method = abs.POST
	ri.UrlTemplate = "{+baseurl}/$batch"
	ri.PathParameters["baseurl"] = c.adapter.GetBaseUrl()
	ri.Headers.Add("Accept", "application/json")
	ri.SetStreamContentAndContentType(body, "application/json")
	raw, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
	if err != nil {
		return nil, err
	}
	b, ok := raw.([]byte)
	if !ok {
		return nil, errors.New("batch: empty answer")
	}
	var ans batchAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		return nil, fmt.Errorf("batch: decode answer: %w", err)
	}
	res := make(map[string]batchResult, len(ans.Responses))
	for _, r := range ans.Responses {
		br := batchResult{status: r.Status, headers: r.Headers}
		if len(r.Body) > 0 && r.Body[0] == '{' {
			if err := json.Unmarshal(r.Body, &br.body); err != nil {
				return nil, fmt.Errorf("batch: decode response %s: %w", r.ID, err)
			}
		}
		res[r.ID] = br
	}
	return res, nil
}
