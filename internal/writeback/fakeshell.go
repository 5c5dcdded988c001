package writeback

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
	"strconv"
	"strings"
	"sync"
	"time"
)

// recorded holds the recorded script outputs the simulated sync server
// replays (see testdata/recorded/README.md).
//
//go:embed testdata/recorded/*.json testdata/recorded/*.txt
var recorded embed.FS

// Failure is a failure FakeShell can inject into a script run.
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

// Formatting makes FakeShell's output odd the ways real hosts do.
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
	Connectors []Connector
	// Writeback is the password writeback flag per AAD connector name.
	Writeback map[string]bool
	// CloudSyncEnabled is Cloud Sync's writeback flag; CloudSyncReadable false
	// simulates an agent without Get-AADCloudSyncPasswordWritebackConfiguration.
	CloudSyncEnabled  bool
	CloudSyncReadable bool
	// ServiceBusBlocked makes enabling log 32002 instead of healthy events.
	ServiceBusBlocked bool
	Events            []EventRecord
}

// FakeShell is a Runner that plays a SIMULATED sync server: it answers this
// package's scripts from recorded cmdlet outputs and a small state (writeback
// flags, an event log), records every invocation, and can inject failures and
// odd formatting. Use it in tests, and in the local demo where no Windows
// host exists; it logs that it is a simulation.
type FakeShell struct {
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
	pending     []EventRecord
}

// NewFakeShell returns an in-memory simulated sync server with the recorded
// Entra Connect connectors, writeback disabled and an empty event log.
func NewFakeShell() *FakeShell {
	f := &FakeShell{
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
	b, err := recorded.ReadFile("testdata/recorded/list-connectors.json")
	if err == nil {
		if out, perr := ParseOutput(ScriptListConnectors, b, nil, 0); perr == nil {
			if conns, lerr := ListConnectors(context.Background(), staticRunner{out}); lerr == nil {
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

type staticRunner struct{ out Output }

func (s staticRunner) Run(context.Context, string, map[string]string) (Output, error) {
	return s.out, nil
}

// NewSimulatedSyncServer returns a FakeShell whose state survives restarts in
// stateFile (JSON; created on first change). It logs through slog.Default that
// it is a simulation; use WithLogger to change that.
func NewSimulatedSyncServer(stateFile string) (*FakeShell, error) {
	f := NewFakeShell()
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
func (f *FakeShell) WithLogger(l *slog.Logger) *FakeShell {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l != nil {
		f.logger = l
	}
	return f
}

// WithClock sets the clock used for event times and returns f.
func (f *FakeShell) WithClock(now func() time.Time) *FakeShell {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now != nil {
		f.now = now
	}
	return f
}

// FailNext makes the next run of script (or of any script for "*") fail.
func (f *FakeShell) FailNext(script string, fl Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext[script] = append(f.failNext[script], fl)
}

// FailAlways makes every run of script (or of any script for "*") fail; an
// empty Failure clears it.
func (f *FakeShell) FailAlways(script string, fl Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl == "" {
		delete(f.failAlways, script)
		return
	}
	f.failAlways[script] = fl
}

// SetFormatting sets how output is rendered.
func (f *FakeShell) SetFormatting(fm Formatting) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.format = fm
}

// SetEventLag delays the events logged by enabling until the event log has
// been read n more times (simulates onboarding taking a while).
func (f *FakeShell) SetEventLag(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.eventLag = n
}

// SetServiceBusBlocked makes the next enabling log ServiceBusError 32002
// instead of healthy events.
func (f *FakeShell) SetServiceBusBlocked(blocked bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.ServiceBusBlocked = blocked
	f.persistLocked()
}

// SetWriteback sets the writeback flag of an AAD connector directly.
func (f *FakeShell) SetWriteback(connector string, enabled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.Writeback[connector] = enabled
	f.persistLocked()
}

// Writeback returns the writeback flag of an AAD connector.
func (f *FakeShell) Writeback(connector string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state.Writeback[connector]
}

// SetCloudSync sets Cloud Sync's writeback flag and whether it can be read.
func (f *FakeShell) SetCloudSync(enabled, readable bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.CloudSyncEnabled, f.state.CloudSyncReadable = enabled, readable
	f.persistLocked()
}

// CloudSyncWriteback returns Cloud Sync's writeback flag.
func (f *FakeShell) CloudSyncWriteback() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state.CloudSyncEnabled
}

// SetConnectorAccount changes the AD DS connector account of the AD
// connector(s), as DOMAIN\user or user.
func (f *FakeShell) SetConnectorAccount(account string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	user, domain := splitAccount(account)
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
func (f *FakeShell) AddEvents(events ...EventRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.Events = append(f.state.Events, events...)
	f.persistLocked()
}

// AddRecordedEvents appends a recorded event set ("events-enabled",
// "events-servicebus-blocked", "events-min-password-age"), re-timed to start
// at the simulated clock's now.
func (f *FakeShell) AddRecordedEvents(name string) error {
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
func (f *FakeShell) Invocations() []Invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Invocation, len(f.invocations))
	for i, inv := range f.invocations {
		out[i] = Invocation{Script: inv.Script, Args: maps.Clone(inv.Args)}
	}
	return out
}

// ScriptsRun returns the script ids run so far, oldest first.
func (f *FakeShell) ScriptsRun() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, len(f.invocations))
	for i, inv := range f.invocations {
		ids[i] = inv.Script
	}
	return ids
}

// secretArgs are redacted in invocations and logs.
var secretArgs = map[string]bool{"password": true}

func redact(args map[string]string) map[string]string {
	out := make(map[string]string, len(args))
	for k, v := range args {
		if secretArgs[strings.ToLower(k)] {
			v = "[redacted]"
		}
		out[k] = v
	}
	return out
}

// Run implements Runner.
func (f *FakeShell) Run(ctx context.Context, script string, args map[string]string) (Output, error) {
	if err := ctx.Err(); err != nil {
		return Output{Script: script}, fmt.Errorf("run %s: %w", script, err)
	}
	if _, err := ScriptText(script); err != nil {
		return Output{Script: script}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invocations = append(f.invocations, Invocation{Script: script, Args: redact(args)})
	f.logger.Info("SIMULATED sync server: run script", "script", script, "args", redact(args))

	if fl, ok := f.takeFailureLocked(script); ok {
		stdout, stderr, code := f.failureOutput(fl)
		return ParseOutput(script, stdout, stderr, code)
	}
	data, err := f.handleLocked(script, args)
	if err != nil {
		// A simulated error record (e.g. unknown connector).
		env, _ := json.Marshal(map[string]any{"ok": false, "error": map[string]string{
			"message": err.Error(), "errorId": "SimulatedError", "category": "InvalidArgument", "exceptionType": "System.ArgumentException"}})
		return ParseOutput(script, f.render(env, nil), nil, 1)
	}
	f.persistLocked()
	return ParseOutput(script, f.render(nil, data), nil, 0)
}

func (f *FakeShell) takeFailureLocked(script string) (Failure, bool) {
	for _, key := range []string{script, "*"} {
		if q := f.failNext[key]; len(q) > 0 {
			f.failNext[key] = q[1:]
			return q[0], true
		}
	}
	for _, key := range []string{script, "*"} {
		if fl, ok := f.failAlways[key]; ok {
			return fl, true
		}
	}
	return "", false
}

func (f *FakeShell) failureOutput(fl Failure) (stdout, stderr []byte, code int) {
	file := map[Failure]string{
		FailModuleMissing: "error-module-missing.json",
		FailNotRecognized: "error-not-recognized.json",
		FailAccessDenied:  "error-access-denied.json",
	}[fl]
	switch {
	case fl == FailModuleMissingStderr:
		b, _ := recorded.ReadFile("testdata/recorded/stderr-module-missing.txt")
		return nil, b, 1
	case fl == FailGarbage:
		return []byte("WARNING: the connection was reset\r\n{\"ok\":tr"), nil, 0
	case file != "":
		b, _ := recorded.ReadFile("testdata/recorded/" + file)
		return f.render(b, nil), nil, 1
	}
	return nil, []byte("unknown simulated failure " + string(fl)), 1
}

// handleLocked simulates one script and returns its data.
func (f *FakeShell) handleLocked(script string, args map[string]string) (any, error) {
	switch script {
	case ScriptListConnectors:
		return f.connectorsData(), nil
	case ScriptGetPasswordResetConfig, ScriptSetPasswordResetConfig:
		name := args["Connector"]
		cur, ok := f.state.Writeback[name]
		if !ok {
			return nil, fmt.Errorf("Connector '%s' could not be found.", name)
		}
		if script == ScriptSetPasswordResetConfig {
			enable, err := strconv.ParseBool(args["Enable"])
			if err != nil {
				return nil, fmt.Errorf("Cannot convert value %q to type System.Boolean.", args["Enable"])
			}
			if enable != cur {
				f.state.Writeback[name] = enable
				f.logWritebackChangeLocked(enable)
			}
			cur = enable
		}
		return []map[string]any{{"Connector": name, "Enabled": cur}}, nil
	case ScriptCloudSyncGetWriteback:
		if !f.state.CloudSyncReadable {
			return []map[string]any{{"Known": false, "Enabled": false}}, nil
		}
		return []map[string]any{{"Known": true, "Enabled": f.state.CloudSyncEnabled}}, nil
	case ScriptCloudSyncSetWriteback:
		if args["User"] == "" || args["Password"] == "" {
			return nil, errors.New("Cannot bind argument to parameter 'Credential' because it is null.")
		}
		enable, err := strconv.ParseBool(args["Enable"])
		if err != nil {
			return nil, fmt.Errorf("Cannot convert value %q to type System.Boolean.", args["Enable"])
		}
		if enable != f.state.CloudSyncEnabled {
			f.state.CloudSyncEnabled = enable
			f.logWritebackChangeLocked(enable)
		}
		return []map[string]any{{"Known": true, "Enabled": enable}}, nil
	case ScriptReadWritebackEvents:
		return f.eventsData(args["Since"])
	}
	return nil, fmt.Errorf("simulated sync server has no handler for %q", script)
}

func (f *FakeShell) connectorsData() []map[string]any {
	out := make([]map[string]any, 0, len(f.state.Connectors))
	for _, c := range f.state.Connectors {
		params := map[string]string{}
		if c.IsAD() {
			params["forest-name"] = c.ForestName
			params["forest-login-user"] = c.LoginUser
			params["forest-login-domain"] = c.LoginDomain
		}
		out = append(out, map[string]any{"Name": c.Name, "Identifier": c.Identifier, "Type": c.Type,
			"ConnectorTypeName": c.ConnectorTypeName, "Subtype": c.Subtype, "ConnectivityParameters": params})
	}
	return out
}

// logWritebackChangeLocked appends what the PasswordResetService logs when
// writeback is switched on (recorded onboarding events, or 32002 when Service
// Bus is blocked) or off (offboarding).
func (f *FakeShell) logWritebackChangeLocked(enabled bool) {
	now := f.now()
	var evs []EventRecord
	if enabled {
		name := "events-enabled"
		if f.state.ServiceBusBlocked {
			name = "events-servicebus-blocked"
		}
		evs, _ = recordedEvents(name, now)
	} else {
		for i, id := range []int{31012, 31013} {
			n, k, m := ClassifyEvent(ProviderPasswordResetService, id)
			evs = append(evs, EventRecord{ID: id, Provider: ProviderPasswordResetService, TimeCreated: now.Add(time.Duration(i) * time.Second),
				Level: "Information", Name: n, Kind: k, Meaning: m, Message: n})
		}
	}
	if f.eventLag > 0 {
		f.pending = append(f.pending, evs...)
		return
	}
	f.state.Events = append(f.state.Events, evs...)
}

// recordedEvents loads a recorded event set and shifts it to start at base.
func recordedEvents(name string, base time.Time) ([]EventRecord, error) {
	b, err := recorded.ReadFile("testdata/recorded/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("recorded events %q: %w", name, err)
	}
	out, err := ParseOutput(ScriptReadWritebackEvents, b, nil, 0)
	if err != nil {
		return nil, err
	}
	raw, err := decodeList[eventJSON](out)
	if err != nil {
		return nil, err
	}
	var first time.Time
	evs := make([]EventRecord, 0, len(raw))
	for i, e := range raw {
		if i == 0 {
			first = e.TimeCreated.Time
		}
		n, k, m := ClassifyEvent(e.ProviderName, e.ID)
		evs = append(evs, EventRecord{ID: e.ID, Provider: e.ProviderName, TimeCreated: base.Add(e.TimeCreated.Sub(first)).UTC(),
			Level: e.Level, Name: n, Kind: k, Meaning: m, Message: e.Message})
	}
	return evs, nil
}

func (f *FakeShell) eventsData(sinceArg string) (any, error) {
	since, err := time.Parse(time.RFC3339Nano, sinceArg)
	if err != nil {
		return nil, fmt.Errorf("Exception calling \"Parse\" with \"3\" argument(s): \"String '%s' was not recognized as a valid DateTime.\"", sinceArg)
	}
	if len(f.pending) > 0 {
		if f.eventLag > 0 {
			f.eventLag--
		}
		if f.eventLag == 0 {
			f.state.Events = append(f.state.Events, f.pending...)
			f.pending = nil
		}
	}
	out := []map[string]any{}
	for _, e := range f.state.Events {
		if e.TimeCreated.Before(since) {
			continue
		}
		out = append(out, map[string]any{"Id": e.ID, "ProviderName": e.Provider,
			"TimeCreated": e.TimeCreated.UTC().Format("2006-01-02T15:04:05.0000000Z"), "Level": e.Level, "Message": e.Message})
	}
	return out, nil
}

// render builds stdout: the envelope (given, or {"ok":true,"data":data})
// with the configured odd formatting applied.
func (f *FakeShell) render(envelopeJSON []byte, data any) []byte {
	fm := f.format
	var body []byte
	switch {
	case envelopeJSON != nil:
		body = []byte(strings.TrimSpace(string(envelopeJSON)))
	default:
		var d any = data
		if fm.Unwrap {
			if list, ok := data.([]map[string]any); ok && len(list) == 1 {
				d = list[0]
			}
		} else if fm.PS51ArrayWrap {
			if list, ok := data.([]map[string]any); ok {
				d = map[string]any{"value": list, "Count": len(list)}
			}
		}
		var v any = map[string]any{"ok": true, "data": d}
		if fm.Unwrap {
			v = d
		}
		if fm.Pretty {
			body, _ = json.MarshalIndent(v, "", "    ")
		} else {
			body, _ = json.Marshal(v)
		}
	}
	var sb strings.Builder
	if fm.BOM {
		sb.WriteString("\uFEFF")
	}
	for _, w := range fm.Warnings {
		sb.WriteString(w)
		sb.WriteString("\n")
	}
	sb.Write(body)
	sb.WriteString("\n")
	s := sb.String()
	if fm.CRLF {
		s = strings.ReplaceAll(s, "\n", "\r\n")
	}
	return []byte(s)
}

// persistLocked writes the state file atomically (when there is one).
func (f *FakeShell) persistLocked() {
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
