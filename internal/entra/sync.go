package entra

// SyncStatus is the tenant's on-premises synchronization as Graph reports it
// (directory/onPremisesSynchronization). It is informational: Graph documents
// passwordWritebackEnabled as not in use, and writeback cannot be enabled
// through Graph.
type SyncStatus struct {
	// Configured is false when the tenant has no synchronization object.
	Configured               bool `json:"configured"`
	PasswordSyncEnabled      bool `json:"passwordSyncEnabled"`
	PasswordWritebackEnabled bool `json:"passwordWritebackEnabled"`
}
