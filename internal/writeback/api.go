package writeback

import "time"

// Activity names, registered by Register. Workflows schedule the activities by
// these names on the sync server's task queue.
const (
	// ActivityStatusWriteback reads the sync engine's writeback state
	// without changing it. The rollout calls it before EnableWriteback so it
	// records the state to restore before anything changes: a crash between
	// the change and its result then cannot make it forget what was there.
	ActivityStatusWriteback  = "Writeback.StatusWriteback"
	ActivityEnableWriteback  = "Writeback.EnableWriteback"
	ActivityRestoreWriteback = "Writeback.RestoreWriteback"
	ActivityVerifyWriteback  = "Writeback.VerifyWriteback"
)

// Mode names the sync engine on the host.
type Mode string

// Sync engines.
const (
	// ModeEntraConnect is Microsoft Entra Connect Sync (ADSync module).
	ModeEntraConnect Mode = "entra-connect"
	// ModeCloudSync is Microsoft Entra Cloud Sync (provisioning agent 1.1.977.0 or later).
	ModeCloudSync Mode = "cloud-sync"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeEntraConnect || m == ModeCloudSync }

// EnableInput is the input of EnableWriteback.
type EnableInput struct {
	// Mode must match the agent's mode when set (it catches a rollout sent to
	// the wrong host); empty means the agent's mode.
	Mode Mode
	// ExpectedConnectorAccount is the AD DS account the AD step granted
	// writeback rights to ("DOMAIN\user", "user@domain" or "user"). When set
	// (Entra Connect only), it must be the account the sync engine uses.
	ExpectedConnectorAccount string
}

// EnableResult is the outcome of EnableWriteback. PreviousEnabled is what
// compensation must restore.
type EnableResult struct {
	PreviousEnabled bool
	// PreviousUnknown is true when the host could not report the previous
	// state (Cloud Sync agents without Get-AADCloudSyncPasswordWritebackConfiguration);
	// an automatic restore would then be a guess and needs a human.
	PreviousUnknown bool
	Changed         bool
	// Connector is the AAD connector name (Entra Connect only).
	Connector string
	// SyncConnectorAccount is the AD DS connector account the sync engine uses
	// (Entra Connect only), as DOMAIN\user.
	SyncConnectorAccount string
}

// RestoreInput is the input of RestoreWriteback.
type RestoreInput struct {
	Mode            Mode
	PreviousEnabled bool
}

// RestoreResult is the outcome of RestoreWriteback.
type RestoreResult struct {
	Changed   bool
	Enabled   bool
	Connector string
}

// VerifyInput is the input of VerifyWriteback.
type VerifyInput struct {
	Mode Mode
	// Since is the earliest event time considered (usually when writeback was
	// enabled). Zero means one hour before the activity started.
	Since time.Time
	// Wait bounds how long to poll for a healthy event (zero: one read only;
	// capped at MaxVerifyWait).
	Wait time.Duration
}

// VerifyResult is the outcome of VerifyWriteback.
type VerifyResult struct {
	Healthy  bool
	Events   []EventRecord
	Problems []string
}

// MaxVerifyWait caps VerifyInput.Wait.
const MaxVerifyWait = 30 * time.Minute

// EventRecord is one classified Application event log entry.
type EventRecord struct {
	ID          int
	Provider    string
	TimeCreated time.Time
	Level       string `json:",omitempty"`
	// Name is the documented event name (e.g. OnboardingEventSuccess).
	Name string `json:",omitempty"`
	// Kind is "healthy", "failure" or "info".
	Kind    EventKind
	Meaning string `json:",omitempty"`
	// Message is the event's own text, truncated.
	Message string `json:",omitempty"`
}

// EventKind classifies an event for writeback health.
type EventKind string

// Event kinds.
const (
	EventHealthy EventKind = "healthy"
	EventFailure EventKind = "failure"
	EventInfo    EventKind = "info"
)
