package entrasim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// OData paging of collections: $top, $skiptoken (absolute nextLinks, as the
// SDK's page iterator fetches them verbatim), $count, $select.

// pageParams are the OData query options of a collection request.
type pageParams struct {
	top    int
	start  int
	filter string
	sel    []string
	count  bool // $count=true: add @odata.count
}

func queryOption(q url.Values, name string) string {
	if v := q.Get("$" + name); v != "" {
		return v
	}
	return q.Get(name)
}

// Page sizes of directory collections.
const (
	defaultPageSize = 100
	maxPageSize     = 999
)

// paging parses a directory collection's query options, answering 400
// itself when they are invalid.
func paging(w http.ResponseWriter, r *http.Request) (pageParams, bool) {
	p, err := parsePaging(r)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return p, false
	}
	return p, true
}

func parsePaging(r *http.Request) (pageParams, error) {
	const defTop, maxTop = defaultPageSize, maxPageSize
	q := r.URL.Query()
	p := pageParams{top: defTop, filter: queryOption(q, "filter")}
	if v := queryOption(q, "top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, fmt.Errorf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, maxTop)
		}
		if n > maxTop {
			return p, fmt.Errorf("Invalid page size specified: '%d'. Must be between 1 and %d inclusive.", n, maxTop)
		}
		p.top = n
	}
	if v := queryOption(q, "skiptoken"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "entrasim:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(raw), "entrasim:") || n < 0 {
			return p, fmt.Errorf("Invalid $skiptoken value '%s'.", v)
		}
		p.start = n
	}
	for _, unsupported := range []string{"search", "orderby", "skip", "expand"} {
		if queryOption(q, unsupported) != "" {
			return p, fmt.Errorf("The query option '$%s' is not supported by the simulator.", unsupported)
		}
	}
	switch v := strings.ToLower(queryOption(q, "count")); v {
	case "", "false":
	case "true":
		// Directory objects count only as advanced queries, as in Graph.
		if !strings.Contains(r.URL.Path, "/reports/") && !strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") {
			return p, fmt.Errorf("$count is not currently supported without the header 'ConsistencyLevel: eventual'.")
		}
		p.count = true
	default:
		return p, fmt.Errorf("Invalid $count value '%s'.", v)
	}
	if v := queryOption(q, "select"); v != "" {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				p.sel = append(p.sel, f)
			}
		}
	}
	return p, nil
}

// nextLink is the absolute URL of the page starting at index next.
func nextLink(r *http.Request, next int) string {
	q := r.URL.Query()
	q.Del("$skiptoken")
	q.Del("skiptoken")
	q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("entrasim:"+strconv.Itoa(next))))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path + "?" + q.Encode()
}

// jsonAppender is implemented by hot-path items that encode themselves
// without reflection (userRegistrationDetails rows).
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// pageBuffers recycles page buffers: a 999-row page is about 400 KB.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writePage writes one page of a collection of n items. item(i) returns the
// i-th item when it matches the filter. Only the page is held in memory.
func writePage(w http.ResponseWriter, r *http.Request, ctx string, n int, p pageParams, item func(i int) (any, bool)) {
	buf := pageBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 8<<20 {
			pageBuffers.Put(buf)
		}
	}()
	buf.WriteString(`{"@odata.context":`)
	if len(p.sel) > 0 {
		ctx += "(" + strings.Join(p.sel, ",") + ")" // as Graph names a projection
	}
	cb, _ := json.Marshal(ctx)
	buf.Write(cb)
	if p.count && p.start == 0 { // Graph gives the count on the first page only
		total := 0
		for j := 0; j < n; j++ {
			if _, ok := item(j); ok {
				total++
			}
		}
		buf.WriteString(`,"@odata.count":`)
		buf.WriteString(strconv.Itoa(total))
	}
	buf.WriteString(`,"value":[`)
	count, i := 0, p.start
	var scratch []byte
	for ; i < n && count < p.top; i++ {
		v, ok := item(i)
		if !ok {
			continue
		}
		if count > 0 {
			buf.WriteByte(',')
		}
		if a, ok := v.(jsonAppender); ok {
			scratch = a.appendJSON(scratch[:0])
			buf.Write(scratch)
		} else {
			b, err := json.Marshal(v)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			buf.Write(b)
		}
		count++
	}
	buf.WriteByte(']')
	if i < n {
		buf.WriteString(`,"@odata.nextLink":`)
		lb, _ := json.Marshal(nextLink(r, i))
		buf.Write(lb)
	}
	buf.WriteByte('}')
	w.Header().Set("Content-Type", graphContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// selectFields keeps only the $select-ed properties of o (case-insensitive).
func selectFields(o map[string]any, sel []string) (map[string]any, error) {
	if len(sel) == 0 {
		return o, nil
	}
	out := make(map[string]any, len(sel))
	for _, f := range sel {
		found := false
		for k, v := range o {
			if strings.EqualFold(k, f) {
				out[k], found = v, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("Could not find a property named '%s' on the requested type.", f)
		}
	}
	if ot, ok := o["@odata.type"]; ok {
		out["@odata.type"] = ot
	}
	return out, nil
}

// writeSelected writes one page of n directory objects with $select
// applied; obj(i) returns the i-th object when it matches the filter. An
// unknown $select property is a 400 before anything is written.
func writeSelected(w http.ResponseWriter, r *http.Request, ctx string, n int, p pageParams, obj func(i int) (map[string]any, bool)) {
	var selErr error
	item := func(i int) (any, bool) {
		o, ok := obj(i)
		if !ok {
			return nil, false
		}
		o, err := selectFields(o, p.sel)
		if err != nil {
			selErr = err
			return nil, false
		}
		return o, true
	}
	if n > 0 && len(p.sel) > 0 {
		if item(0); selErr != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, selErr.Error())
			return
		}
	}
	writePage(w, r, ctx, n, p, item)
}
