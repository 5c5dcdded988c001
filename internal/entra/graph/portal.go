package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/signin"
)

// The portal's PasswordReset API (undocumented): both objects are read and
// written whole.
const (
	pathResetPolicies  = "/api/PasswordReset/" + entra.ObjectResetPolicies
	pathOnPremPolicies = "/api/PasswordReset/" + entra.ObjectOnPremPolicies
)

// portalKey is a portal field's row of the settings table and its object's
// path.
type portalKey struct {
	entra.FieldSpec
	path string
}

// portalKeys are the settings table's portal rows.
var portalKeys = func() map[entra.Field]portalKey {
	m := map[entra.Field]portalKey{}
	for _, s := range entra.Fields() {
		if s.Surface == entra.SurfacePortal {
			m[s.Field] = portalKey{FieldSpec: s, path: "/api/PasswordReset/" + s.Object}
		}
	}
	return m
}()

var scopeCodes = map[entra.Scope]int{entra.ScopeNone: 0, entra.ScopeSelected: 1, entra.ScopeAll: 2}

type portalObject map[string]json.RawMessage

// decode reads field k from obj as a canonical string; ok is false when absent.
func decode(obj portalObject, k portalKey) (string, bool, error) {
	raw, ok := obj[k.Key]
	if !ok || string(raw) == "null" {
		if k.Kind == entra.KindGroup || k.Kind == entra.KindText {
			return "", true, nil
		}
		return "", false, nil
	}
	switch k.Kind {
	case entra.KindBool:
		var b bool
		err := json.Unmarshal(raw, &b)
		return strconv.FormatBool(b), true, err
	case entra.KindInt:
		var n int
		err := json.Unmarshal(raw, &n)
		return strconv.Itoa(n), true, err
	case entra.KindText:
		var s string
		err := json.Unmarshal(raw, &s)
		return s, true, err
	case entra.KindScope:
		var n int
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", false, err
		}
		for s, code := range scopeCodes {
			if code == n {
				return string(s), true, nil
			}
		}
		return "", false, fmt.Errorf("unknown enablementType %d", n)
	case entra.KindGroup:
		var ids []string
		if err := json.Unmarshal(raw, &ids); err != nil {
			return "", false, err
		}
		if len(ids) == 0 {
			return "", true, nil
		}
		return ids[0], true, nil
	}
	return "", false, nil
}

// encode turns a canonical value, checked against the table, into the
// portal's JSON.
func encode(ch entra.Change, k portalKey) (json.RawMessage, error) {
	if err := entra.Check([]entra.Change{ch}); err != nil {
		return nil, err
	}
	switch k.Kind {
	case entra.KindBool:
		b, _ := strconv.ParseBool(ch.To)
		return json.Marshal(b)
	case entra.KindInt:
		n, _ := strconv.Atoi(ch.To)
		return json.Marshal(n)
	case entra.KindScope:
		return json.Marshal(scopeCodes[entra.Scope(ch.To)])
	case entra.KindGroup:
		ids := []string{}
		if ch.To != "" {
			ids = append(ids, ch.To)
		}
		return json.Marshal(ids)
	default:
		return json.Marshal(ch.To)
	}
}

// readPortal reads both portal objects into settings and returns the SSPR
// group's display name.
func (c *Client) readPortal(ctx context.Context, into entra.Settings) (string, error) {
	objs := map[string]portalObject{}
	for _, path := range []string{pathResetPolicies, pathOnPremPolicies} {
		obj, err := c.portalGet(ctx, path)
		if err != nil {
			return "", err
		}
		objs[path] = obj
	}
	for f, k := range portalKeys {
		v, ok, err := decode(objs[k.path], k)
		if err != nil {
			return "", &entra.PermanentError{Op: "read portal " + k.path, Message: fmt.Sprintf("field %s: %v", k.Key, err)}
		}
		if ok {
			into[f] = v
		}
	}
	var name string
	if raw, ok := objs[pathResetPolicies]["passwordResetEnabledGroupName"]; ok {
		_ = json.Unmarshal(raw, &name)
	}
	return name, nil
}

// applyPortal writes portal changes: read-modify-write of each whole object.
// The writeback toggles go in separate PUTs (as the portal does), switching
// writeback on before unlock and unlock off before writeback.
func (c *Client) applyPortal(ctx context.Context, changes []entra.Change) error {
	byPath := map[string][]entra.Change{}
	for _, ch := range changes {
		k := portalKeys[ch.Field]
		byPath[k.path] = append(byPath[k.path], ch)
	}
	if chs := byPath[pathResetPolicies]; len(chs) > 0 {
		obj, err := c.portalGet(ctx, pathResetPolicies)
		if err != nil {
			return err
		}
		dirty := false
		for _, ch := range chs {
			k := portalKeys[ch.Field]
			cur, ok, _ := decode(obj, k)
			if ok && cur == ch.To {
				continue
			}
			raw, err := encode(ch, k)
			if err != nil {
				return err
			}
			obj[k.Key] = raw
			dirty = true
			if ch.Field == entra.FieldGroup {
				name := ""
				if ch.To != "" {
					g, err := c.getGroup(ctx, ch.To)
					if err != nil {
						return fmt.Errorf("set SSPR group: %w", err)
					}
					name = g.DisplayName
				}
				obj["passwordResetEnabledGroupName"], _ = json.Marshal(name)
			}
		}
		if dirty {
			if err := c.portalPut(ctx, pathResetPolicies, obj); err != nil {
				return err
			}
		}
	}
	if chs := byPath[pathOnPremPolicies]; len(chs) > 0 {
		// Enabling: writeback first; disabling: unlock first.
		if len(chs) == 2 && chs[0].Field == entra.FieldUnlockEnabled && chs[1].To == "true" ||
			len(chs) == 2 && chs[0].Field == entra.FieldWritebackEnabled && chs[0].To == "false" {
			chs[0], chs[1] = chs[1], chs[0]
		}
		for _, ch := range chs {
			obj, err := c.portalGet(ctx, pathOnPremPolicies)
			if err != nil {
				return err
			}
			k := portalKeys[ch.Field]
			if cur, ok, _ := decode(obj, k); ok && cur == ch.To {
				continue
			}
			raw, err := encode(ch, k)
			if err != nil {
				return err
			}
			obj[k.Key] = raw
			if err := c.portalPut(ctx, pathOnPremPolicies, obj); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Client) portalGet(ctx context.Context, path string) (portalObject, error) {
	var obj portalObject
	if err := c.portalDo(ctx, http.MethodGet, path, nil, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		obj = portalObject{}
	}
	return obj, nil
}

func (c *Client) portalPut(ctx context.Context, path string, obj portalObject) error {
	if err := c.portalDo(ctx, http.MethodPut, path, obj, nil); err != nil {
		return err
	}
	c.log.Info("graph: updated portal password reset policy", "path", path)
	return nil
}

// errNoPortalCredential explains what is missing when the portal is needed.
func errNoPortalCredential(op string) error {
	return &entra.PermanentError{Op: op, Message: "no portal credential configured: the PasswordReset API needs " +
		permPortal + " (Config.PortalCredential), or use policy mode \"manual\""}
}

// portalDo sends one portal request with the delegated token, retrying
// 429/503/504 like the Graph adapter does (Retry-After, else backoff) within
// MaxRetryWait.
func (c *Client) portalDo(ctx context.Context, method, path string, in, out any) error {
	op := map[string]string{http.MethodGet: "read portal ", http.MethodPut: "update portal "}[method] + path
	if c.cfg.PortalCredential == nil {
		return errNoPortalCredential(op)
	}
	tok, err := c.cfg.PortalCredential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{PortalScope}})
	if err != nil {
		var se *signin.Error
		if errors.As(err, &se) {
			// Retrying cannot sign a person in again: the step fails with the fix.
			return &entra.PermanentError{Op: op, Message: se.Error()}
		}
		return fmt.Errorf("%s: get portal token: %w", op, err)
	}
	var body []byte
	if in != nil {
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s: encode: %w", op, err)
		}
	}
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, c.cfg.PortalURL+path, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("X-Requested-With", "XMLHttpRequest")
		req.Header.Set("x-ms-client-request-id", newRequestID())
		req.Header.Set("Accept", "application/json")
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s: read response: %w", op, err)
		}
		if resp.StatusCode < 300 {
			if out != nil && len(bytes.TrimSpace(data)) > 0 {
				if err := json.Unmarshal(data, out); err != nil {
					return &entra.PermanentError{Op: op, Status: resp.StatusCode, Message: "unexpected response: " + err.Error()}
				}
			}
			return nil
		}
		e := parseErrorBody(resp.StatusCode, data)
		e.retryAfter, _ = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if retryable(resp.StatusCode) && attempt <= 10 {
			d := retryDelay(resp.Header, attempt, time.Second)
			if waited+d <= c.cfg.MaxRetryWait {
				c.log.Debug("graph: retrying portal request", "path", path, "status", resp.StatusCode, "wait", d)
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return fmt.Errorf("%s: %w", op, ctx.Err())
				case <-t.C:
				}
				waited += d
				continue
			}
		}
		return classify(call{op: op, object: "portal object " + path, perm: permPortal}, e, nil)
	}
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// parseErrorBody reads an OData error body, or the portal's {"message":...}.
func parseErrorBody(status int, data []byte) apiError {
	e := apiError{status: status}
	var odata struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &odata) == nil {
		e.code, e.message = odata.Error.Code, odata.Error.Message
		if e.message == "" {
			e.message = odata.Message
		}
	}
	if e.message == "" {
		e.message = http.StatusText(status)
	}
	return e
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
