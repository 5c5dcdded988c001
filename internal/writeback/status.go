package writeback

import (
	"context"
)

// StatusInput is the input of StatusWriteback.
type StatusInput struct {
	Mode Mode
}

// StatusResult is the sync engine's writeback state.
type StatusResult struct {
	Enabled bool
	// Unknown is true when the host cannot report the state (older Cloud
	// Sync agents).
	Unknown bool
	// Connector is the AAD connector name (Entra Connect only).
	Connector string
	// SyncConnectorAccounts are the AD DS connector accounts the sync engine
	// uses (Entra Connect only).
	SyncConnectorAccounts []string
}

// StatusWriteback reads whether password writeback is enabled (read-only).
func (a *Activities) StatusWriteback(ctx context.Context, in StatusInput) (StatusResult, error) {
	return onEngine(ctx, a, "read writeback state", in.Mode, in, a.statusCloudSync, a.statusEntraConnect)
}

func (a *Activities) statusCloudSync(ctx context.Context, _ StatusInput) (StatusResult, error) {
	enabled, known, err := CloudSyncWriteback(ctx, a.Runner)
	if err != nil {
		return StatusResult{}, err
	}
	return StatusResult{Enabled: enabled, Unknown: !known}, nil
}

func (a *Activities) statusEntraConnect(ctx context.Context, _ StatusInput) (StatusResult, error) {
	conns, aad, err := a.connectors(ctx)
	if err != nil {
		return StatusResult{}, err
	}
	enabled, err := GetPasswordWriteback(ctx, a.Runner, aad.Name)
	if err != nil {
		return StatusResult{}, err
	}
	return StatusResult{Enabled: enabled, Connector: aad.Name, SyncConnectorAccounts: ADConnectorAccounts(conns)}, nil
}
