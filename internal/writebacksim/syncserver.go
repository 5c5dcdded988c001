// Package writebacksim is a simulated sync server (Microsoft Entra Connect
// or Cloud Sync) for tests and the local stack, where no Windows host
// exists: a writeback.Runner that answers internal/writeback's scripts from
// recorded cmdlet outputs (recorded/) and a small state, and says in its
// logs that it is a simulation. The production agent does not link it.
package writebacksim

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ssprflow/ssprflow/internal/writeback"
)

// recorded holds the recorded script outputs the simulated sync server
// replays (see recorded/README.md).
//
//go:embed recorded/*.json recorded/*.txt
var recorded embed.FS

// Failure is a failure SyncServer can inject into a script run.
type Failure string

// Injectable failures, each replaying a recorded output.
const (
	// FailModuleMissing: Import-Module ADSync (or the Cloud Sync module) fails.
	FailModuleMissing Failure = "module-missing"
	// FailModuleMissingStderr: the same, as raw PowerShell error text on stderr and no JSON.
	FailModuleMissingStderr Failure = "module-missing-stderr"
	// FailNotRecognized: the cmdlet is unknown.
	FailNotRecognized Failure = "not-recognized"
	// FailAccessDenied: the agent's account may not run the cmdlet.
	FailAccessDenied Failure = "access-denied"
	// FailGarbage: exit 0 with text and no JSON (a truncated run).
	FailGarbage Failure = "garbage"
)

// Formatting makes SyncServer's output odd the ways real hosts do.
type Formatting struct {
	BOM      bool     // UTF-8 byte order mark first
	CRLF     bool     // Windows line ends
	Warnings []string // lines printed before the JSON (WARNING: ...)
	Pretty   bool     // multi-line JSON
	// PS51ArrayWrap renders the data array as {"value":[...],"Count":n}.
	PS51ArrayWrap bool
	// Unwrap drops the envelope and a one-element array: bare cmdlet JSON.
	Unwrap bool
}

// Invocation is one recorded Run call. Secret arguments are redacted.
type Invocation struct {
	Script string
	Args   map[string]string
}

// simState is what the simulated sync server remembers (and persists).
type simState struct {
	Connectors []writeback.Connector
	// Writeback is the password writeback flag per AAD connector name.
	Writeback map[string]bool
	// CloudSyncEnabled is Cloud Sync's writeback flag; CloudSyncReadable false
	// simulates an agent without Get-AADCloudSyncPasswordWritebackConfiguration.
	CloudSyncEnabled  bool
	CloudSyncReadable bool
	// ServiceBusBlocked makes enabling log 32002 instead of healthy events.
	ServiceBusBlocked bool
	Events            []writeback.EventRecord
}

// SyncServer is a writeback.Runner that plays a SIMULATED sync server: it
// answers internal/writeback's scripts from recorded cmdlet outputs and a small state (writeback
// flags, an event log), records every invocation, and can inject failures and
// odd formatting. Use it in tests, and in the local demo where no Windows
// host exists; it logs that it is a simulation.
type SyncServer struct {
	mu          sync.Mutex
	state       simState
	stateFile   string
	logger      *slog.Logger
	now         func() time.Time
	invocations []Invocation
	failNext    map[string][]Failure
	failAlways  map[string]Failure
	format      Formatting
	eventLag    int
	pending     []writeback.EventRecord
}

// New returns an in-memory simulated sync server with the recorded
// Entra Connect connectors, writeback disabled and an empty event log.
func New() *SyncServer {
	f := &SyncServer{
		logger:     slog.New(slog.DiscardHandler),
		now:        time.Now,
		failNext:   map[string][]Failure{},
		failAlways: map[string]Failure{},
	}
	f.state = defaultSimState()
	return f
}

func defaultSimState() simState {
	st := simState{Writeback: map[string]bool{}, CloudSyncReadable: true}
	b, err := recorded.ReadFile("recorded/list-connectors.json")
	if err == nil {
		if out, perr := writeback.ParseOutput(writeback.ScriptListConnectors, b, nil, 0); perr == nil {
			if conns, lerr := writeback.ListConnectors(context.Background(), staticRunner{out}); lerr == nil {
				st.Connectors = conns
			}
		}
	}
	for _, c := range st.Connectors {
		if c.IsAAD() {
			st.Writeback[c.Name] = false
		}
	}
	return st
}

type staticRunner struct{ out writeback.Output }

func (s staticRunner) Run(context.Context, string, map[string]string) (writeback.Output, error) {
	return s.out, nil
}

// Open returns a SyncServer whose state survives restarts in
// stateFile (JSON; created on first change). It logs through slog.Default that
// it is a simulation; use WithLogger to change that.
func Open(stateFile string) (*SyncServer, error) {
	f := New()
	f.logger = slog.Default()
	f.stateFile = stateFile
	b, err := os.ReadFile(stateFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open simulated sync server state: %w", err)
	default:
		var st simState
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("open simulated sync server state %s: %w (delete the file to start fresh)", stateFile, err)
		}
		if st.Writeback == nil {
			st.Writeback = map[string]bool{}
		}
		f.state = st
	}
	f.logger.Warn("SIMULATED sync server: no Windows host, PowerShell cmdlets are simulated from recorded outputs", "stateFile", stateFile)
	return f, nil
}

// WithLogger sets the logger and returns f.
func (f *SyncServer) WithLogger(l *slog.Logger) *SyncServer {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l != nil {
		f.logger = l
	}
	return f
}

// WithClock sets the clock used for event times and returns f.
func (f *SyncServer) WithClock(now func() time.Time) *SyncServer {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now != nil {
		f.now = now
	}
	return f
}

// FailNext makes the next run of script (or of any script for "*") fail.
func (f *SyncServer) FailNext(script string, fl Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext[script] = append(f.failNext[script], fl)
}

// FailAlways makes every run of script (or of any script for "*") fail; an
// empty Failure clears it.
func (f *SyncServer) FailAlways(script string, fl Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl == "" {
		delete(f.failAlways, script)
		return
	}
	f.failAlways[script] = fl
}

// SetFormatting sets how output is rendered.
func (f *SyncServer) SetFormatting(fm Formatting) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.format = fm
}

// SetEventLag delays the events logged by enabling until the event log has
// been read n more times (simulates onboarding taking a while).
func (f *SyncServer) SetEventLag(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.eventLag = n
}

// SetServiceBusBlocked makes the next enabling log ServiceBusError 32002
// instead of healthy events.
func (f *SyncServer) SetServiceBusBlocked(blocked bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.ServiceBusBlocked = blocked
	f.persistLocked()
}

// SetWriteback sets the writeback flag of an AAD connector directly.
func (f *SyncServer) SetWriteback(connector string, enabled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.Writeback[connector] = enabled
	f.persistLocked()
}

// Writeback returns the writeback flag of an AAD connector.
func (f *SyncServer) Writeback(connector string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state.Writeback[connector]
}

// SetCloudSync sets Cloud Sync's writeback flag and whether it can be read.
func (f *SyncServer) SetCloudSync(enabled, readable bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.CloudSyncEnabled, f.state.CloudSyncReadable = enabled, readable
	f.persistLocked()
}

// CloudSyncWriteback returns Cloud Sync's writeback flag.
func (f *SyncServer) CloudSyncWriteback() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state.CloudSyncEnabled
}

// SetConnectorAccount changes the AD DS connector account of the AD
// connector(s), as DOMAIN\user or user.
func (f *SyncServer) SetConnectorAccount(account string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	user, domain := writeback.SplitAccount(account)
	for i, c := range f.state.Connectors {
		if c.IsAD() {
			f.state.Connectors[i].LoginUser = user
			if domain != "" {
				f.state.Connectors[i].LoginDomain = domain
			}
		}
	}
	f.persistLocked()
}

// AddEvents appends entries to the simulated Application log.
func (f *SyncServer) AddEvents(events ...writeback.EventRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.Events = append(f.state.Events, events...)
	f.persistLocked()
}

// AddRecordedEvents appends a recorded event set ("events-enabled",
// "events-servicebus-blocked", "events-min-password-age"), re-timed to start
// at the simulated clock's now.
func (f *SyncServer) AddRecordedEvents(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	evs, err := recordedEvents(name, f.now())
	if err != nil {
		return err
	}
	f.state.Events = append(f.state.Events, evs...)
	f.persistLocked()
	return nil
}

// Invocations returns every Run so far, oldest first.
func (f *SyncServer) Invocations() []Invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Invocation, len(f.invocations))
	for i, inv := range f.invocations {
		out[i] = Invocation{Script: inv.Script, Args: maps.Clone(inv.Args)}
	}
	return out
}

// ScriptsRun returns the script ids run so far, oldest first.
func (f *SyncServer) ScriptsRun() []string {
	var ids []string
	for _, inv := range f.Invocations() {
		ids = append(ids, inv.Script)
	}
	return ids
}

// persistLocked writes the state file atomically (when there is one).
func (f *SyncServer) persistLocked() {
	if f.stateFile == "" {
		return
	}
	b, err := json.MarshalIndent(f.state, "", "  ")
	if err != nil {
		f.logger.Error("SIMULATED sync server: encode state", "err", err)
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.stateFile), ".syncserver-*.json")
	if err != nil {
		f.logger.Error("SIMULATED sync server: save state", "err", err)
		return
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		f.logger.Error("SIMULATED sync server: save state", "err", errors.Join(werr, cerr))
		return
	}
	if err := os.Rename(tmp.Name(), f.stateFile); err != nil {
		os.Remove(tmp.Name())
		f.logger.Error("SIMULATED sync server: save state", "err", err)
	}
}
