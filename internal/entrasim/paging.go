package entrasim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
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
	// orderBy is the $orderby property (lower case), desc its direction;
	// search the $search clauses. Only users and groups take them.
	orderBy string
	desc    bool
	search  []searchClause
}

// searchClause is one "property:term" of $search; clauses are ANDed
// unless or is set (OR).
type searchClause struct {
	prop, term string
	or         bool
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
	for _, unsupported := range []string{"skip", "expand"} {
		if queryOption(q, unsupported) != "" {
			return p, fmt.Errorf("The query option '$%s' is not supported by the simulator.", unsupported)
		}
	}
	ordered := strings.HasSuffix(r.URL.Path, "/users") || strings.HasSuffix(r.URL.Path, "/groups")
	if v := queryOption(q, "orderby"); v != "" {
		if !ordered {
			return p, fmt.Errorf("The query option '$orderby' is not supported for this resource.")
		}
		prop, dir, _ := strings.Cut(strings.TrimSpace(v), " ")
		switch strings.ToLower(strings.TrimSpace(dir)) {
		case "", "asc":
		case "desc":
			p.desc = true
		default:
			return p, fmt.Errorf("Invalid $orderby direction '%s'.", dir)
		}
		p.orderBy = strings.ToLower(prop)
	}
	if v := queryOption(q, "search"); v != "" {
		if !ordered {
			return p, fmt.Errorf("The query option '$search' is not supported for this resource.")
		}
		if !strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") {
			return p, fmt.Errorf("Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
		}
		clauses, err := parseSearch(v)
		if err != nil {
			return p, err
		}
		p.search = clauses
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

// parseSearch reads $search: "prop:term" clauses in double quotes, joined
// by AND or OR, e.g. "displayName:wa" OR "mail:wa".
func parseSearch(v string) ([]searchClause, error) {
	var out []searchClause
	rest := strings.TrimSpace(v)
	or := false
	for rest != "" {
		if !strings.HasPrefix(rest, `"`) {
			return nil, fmt.Errorf("Syntax error: the $search clause must be a quoted \"property:value\" at '%s'.", rest)
		}
		end := strings.Index(rest[1:], `"`)
		if end < 0 {
			return nil, fmt.Errorf("Syntax error: unterminated quote in $search.")
		}
		clause := rest[1 : end+1]
		prop, term, ok := strings.Cut(clause, ":")
		if !ok || prop == "" || term == "" {
			return nil, fmt.Errorf("Syntax error: '%s' is not of the form property:value.", clause)
		}
		out = append(out, searchClause{prop: strings.ToLower(prop), term: strings.ToLower(term), or: or})
		rest = strings.TrimSpace(rest[end+2:])
		switch {
		case rest == "":
		case strings.HasPrefix(rest, "AND "):
			rest, or = strings.TrimSpace(rest[4:]), false
		case strings.HasPrefix(rest, "OR "):
			rest, or = strings.TrimSpace(rest[3:]), true
		default:
			return nil, fmt.Errorf("Syntax error: expected AND or OR at '%s'.", rest)
		}
	}
	return out, nil
}

// searchMatch applies $search clauses: a term matches a property when one
// of its words (split at spaces and punctuation) starts with it, as
// Graph's tokenised search does. prop returns a property's value and
// whether the resource has it.
func searchMatch(clauses []searchClause, prop func(name string) (string, bool)) (bool, error) {
	result := true
	for i, c := range clauses {
		v, ok := prop(c.prop)
		if !ok {
			return false, fmt.Errorf("Invalid search property '%s'.", c.prop)
		}
		hit := false
		for _, word := range strings.FieldsFunc(strings.ToLower(v), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
		}) {
			if strings.HasPrefix(word, c.term) {
				hit = true
				break
			}
		}
		switch {
		case i == 0:
			result = hit
		case c.or:
			result = result || hit
		default:
			result = result && hit
		}
	}
	return result, nil
}

// ordering returns the indices 0..n-1 sorted by key (stable), for
// $orderby; nil when p has no $orderby.
func ordering(p pageParams, n int, key func(i int) string) []int {
	if p.orderBy == "" {
		return nil
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ka, kb := strings.ToLower(key(idx[a])), strings.ToLower(key(idx[b]))
		if p.desc {
			return ka > kb
		}
		return ka < kb
	})
	return idx
}

// orderAndSearch checks $orderby and $search against the properties a
// collection documents for them, answering 400 itself.
func orderAndSearch(w http.ResponseWriter, r *http.Request, p pageParams, orderable, searchable []string) bool {
	if p.orderBy != "" && !slices.Contains(orderable, p.orderBy) {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Sorting not supported for '"+p.orderBy+"'.")
		return false
	}
	for _, c := range p.search {
		if !slices.Contains(searchable, c.prop) {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid search property '"+c.prop+"'.")
			return false
		}
	}
	return true
}
