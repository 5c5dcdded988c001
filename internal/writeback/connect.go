package writeback

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Connector is one Entra Connect sync connector, as Get-ADSyncConnector reports it.
type Connector struct {
	Name              string
	Identifier        string
	Type              string
	ConnectorTypeName string
	Subtype           string
	// From ConnectivityParameters (AD connectors only).
	ForestName  string
	LoginUser   string
	LoginDomain string
}

// IsAAD reports whether c is the connector to Microsoft Entra ID: type
// Extensible2 with the Azure AD subtype, or the wizard's "<tenant> - AAD" name.
func (c Connector) IsAAD() bool {
	if strings.Contains(strings.ToLower(c.Subtype), "azure active directory") {
		return true
	}
	ext := strings.EqualFold(c.Type, "Extensible2") || strings.EqualFold(c.ConnectorTypeName, "Extensible2")
	name := strings.ToLower(strings.TrimSpace(c.Name))
	return strings.HasSuffix(name, " - aad") || (ext && strings.Contains(name, "aad"))
}

// IsAD reports whether c is an on-premises AD DS connector.
func (c Connector) IsAD() bool {
	return strings.EqualFold(c.Type, "AD") || strings.EqualFold(c.ConnectorTypeName, "AD")
}

// Account returns the AD DS connector account as DOMAIN\user (or user alone
// when the domain is unknown); "" for connectors without one.
func (c Connector) Account() string {
	u := strings.TrimSpace(c.LoginUser)
	if u == "" {
		return ""
	}
	if strings.ContainsAny(u, `\@`) {
		return u
	}
	if d := strings.TrimSpace(c.LoginDomain); d != "" {
		return d + `\` + u
	}
	return u
}

type connectorJSON struct {
	Name                   string          `json:"Name"`
	Identifier             string          `json:"Identifier"`
	Type                   json.RawMessage `json:"Type"`
	ConnectorTypeName      string          `json:"ConnectorTypeName"`
	Subtype                string          `json:"Subtype"`
	ConnectivityParameters json.RawMessage `json:"ConnectivityParameters"`
}

// ListConnectors runs Get-ADSyncConnector.
func ListConnectors(ctx context.Context, r Runner) ([]Connector, error) {
	raw, err := runList[connectorJSON](ctx, r, "list connectors", ScriptListConnectors, nil)
	if err != nil {
		return nil, err
	}
	conns := make([]Connector, 0, len(raw))
	for _, j := range raw {
		c := Connector{Name: j.Name, Identifier: j.Identifier, Type: enumString(j.Type),
			ConnectorTypeName: j.ConnectorTypeName, Subtype: j.Subtype}
		params := parseParams(j.ConnectivityParameters)
		c.ForestName = params["forest-name"]
		c.LoginUser = params["forest-login-user"]
		c.LoginDomain = params["forest-login-domain"]
		conns = append(conns, c)
	}
	return conns, nil
}

// enumString accepts an enum serialised as its name or (ConvertTo-Json without
// [string]) as its number; 1 is AD and 2 Extensible2 in the ADSync object model.
func enumString(d json.RawMessage) string {
	var s string
	if json.Unmarshal(d, &s) == nil {
		return s
	}
	var n int
	if json.Unmarshal(d, &n) == nil {
		switch n {
		case 1:
			return "AD"
		case 2:
			return "Extensible2"
		}
		return strconv.Itoa(n)
	}
	return ""
}

// parseParams accepts {"name":"value"} or [{"Name":..,"Value":..}].
func parseParams(d json.RawMessage) map[string]string {
	out := map[string]string{}
	var obj map[string]any
	if json.Unmarshal(d, &obj) == nil {
		for k, v := range obj {
			if v != nil {
				out[strings.ToLower(k)] = fmt.Sprint(v)
			}
		}
		return out
	}
	var list []struct {
		Name  string `json:"Name"`
		Value any    `json:"Value"`
	}
	if json.Unmarshal(d, &list) == nil {
		for _, p := range list {
			if p.Value != nil {
				out[strings.ToLower(p.Name)] = fmt.Sprint(p.Value)
			}
		}
	}
	return out
}

// FindAADConnector returns the single AAD connector. It fails with
// ErrConnectorNotFound when there is none, and when there are several (a
// staging or multi-tenant setup needs a human to choose).
func FindAADConnector(conns []Connector) (Connector, error) {
	var found []Connector
	for _, c := range conns {
		if c.IsAAD() {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		names := make([]string, len(conns))
		for i, c := range conns {
			names[i] = c.Name
		}
		return Connector{}, fmt.Errorf("find AAD connector: %w: no connector of type Extensible2/AAD among %q; is this an Entra Connect server?", ErrConnectorNotFound, names)
	default:
		return Connector{}, fmt.Errorf("find AAD connector: %w: %d AAD connectors (%s, %s, ...); choose one by hand", ErrConnectorNotFound, len(found), found[0].Name, found[1].Name)
	}
}

// ADConnectorAccounts returns the AD DS connector accounts of all AD connectors.
func ADConnectorAccounts(conns []Connector) []string {
	var accts []string
	for _, c := range conns {
		if c.IsAD() {
			if a := c.Account(); a != "" {
				accts = append(accts, a)
			}
		}
	}
	return accts
}

// AccountsMatch compares two account names given as DOMAIN\user, user@domain
// or user: the user parts must be equal (case-insensitively) and, when both
// name a domain, the domains too — a NetBIOS name matches the first label of a
// DNS name (CONTOSO and contoso.com).
func AccountsMatch(a, b string) bool {
	ua, da := SplitAccount(a)
	ub, db := SplitAccount(b)
	if ua == "" || !strings.EqualFold(ua, ub) {
		return false
	}
	if da == "" || db == "" || strings.EqualFold(da, db) {
		return true
	}
	first := func(d string) string { l, _, _ := strings.Cut(d, "."); return l }
	return (!strings.Contains(da, ".") || !strings.Contains(db, ".")) && strings.EqualFold(first(da), first(db))
}

// SplitAccount splits an account name given as DOMAIN\user, user@domain or
// user into its user and domain ("" when none).
func SplitAccount(s string) (user, domain string) {
	s = strings.TrimSpace(s)
	if d, u, ok := strings.Cut(s, `\`); ok {
		return u, d
	}
	if u, d, ok := strings.Cut(s, "@"); ok {
		return u, d
	}
	return s, ""
}

type resetConfigJSON struct {
	Connector string   `json:"Connector"`
	Enabled   flexBool `json:"Enabled"`
}

// GetPasswordWriteback runs Get-ADSyncAADPasswordResetConfiguration for the
// AAD connector and returns its Enabled flag.
func GetPasswordWriteback(ctx context.Context, r Runner, connector string) (bool, error) {
	out, err := r.Run(ctx, ScriptGetPasswordResetConfig, map[string]string{"Connector": connector})
	if err != nil {
		return false, fmt.Errorf("get password writeback of %q: %w", connector, err)
	}
	return parseResetConfig(out, connector)
}

// SetPasswordWriteback runs Set-ADSyncAADPasswordResetConfiguration -Enable
// and returns the state read back afterwards.
func SetPasswordWriteback(ctx context.Context, r Runner, connector string, enable bool) (bool, error) {
	out, err := r.Run(ctx, ScriptSetPasswordResetConfig, map[string]string{"Connector": connector, "Enable": strconv.FormatBool(enable)})
	if err != nil {
		return false, fmt.Errorf("set password writeback of %q to %t: %w", connector, enable, err)
	}
	return parseResetConfig(out, connector)
}

func parseResetConfig(out Output, connector string) (bool, error) {
	items, err := decodeList[resetConfigJSON](out)
	if err != nil {
		return false, err
	}
	if len(items) == 0 || !items[0].Enabled.Set {
		return false, fmt.Errorf("read password writeback of %q: %w: no Enabled value", connector, ErrBadOutput)
	}
	return items[0].Enabled.Value, nil
}

type cloudSyncJSON struct {
	Known   flexBool `json:"Known"`
	Enabled flexBool `json:"Enabled"`
}

// CloudSyncWriteback reads Cloud Sync's writeback state with
// Get-AADCloudSyncPasswordWritebackConfiguration; known is false when the
// agent's module has no such cmdlet.
func CloudSyncWriteback(ctx context.Context, r Runner) (enabled, known bool, err error) {
	items, err := runList[cloudSyncJSON](ctx, r, "get cloud sync password writeback", ScriptCloudSyncGetWriteback, nil)
	if err != nil {
		return false, false, err
	}
	if len(items) == 0 {
		return false, false, nil
	}
	return items[0].Enabled.Value, items[0].Known.Value && items[0].Enabled.Set, nil
}

// SetCloudSyncWriteback runs Set-AADCloudSyncPasswordWritebackConfiguration
// -Enable with a tenant admin credential. The password travels only in the
// child process's environment; it is never logged or returned.
func SetCloudSyncWriteback(ctx context.Context, r Runner, enable bool, user, password string) error {
	if user == "" || password == "" {
		return fmt.Errorf("set cloud sync password writeback: %w: empty user or password", ErrCredentialMissing)
	}
	_, err := r.Run(ctx, ScriptCloudSyncSetWriteback, map[string]string{
		"Enable": strconv.FormatBool(enable), "User": user, "Password": password,
	})
	if err != nil {
		return fmt.Errorf("set cloud sync password writeback to %t: %w", enable, err)
	}
	return nil
}
