package writebacksim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ssprflow/ssprflow/internal/writeback"
)

// How the simulated sync server answers each script.

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

// Run implements writeback.Runner.
func (f *SyncServer) Run(ctx context.Context, script string, args map[string]string) (writeback.Output, error) {
	if err := ctx.Err(); err != nil {
		return writeback.Output{Script: script}, fmt.Errorf("run %s: %w", script, err)
	}
	if _, err := writeback.ScriptText(script); err != nil {
		return writeback.Output{Script: script}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invocations = append(f.invocations, Invocation{Script: script, Args: redact(args)})
	f.logger.Info("SIMULATED sync server: run script", "script", script, "args", redact(args))

	if fl, ok := f.takeFailureLocked(script); ok {
		stdout, stderr, code := f.failureOutput(fl)
		return writeback.ParseOutput(script, stdout, stderr, code)
	}
	data, err := f.handleLocked(script, args)
	if err != nil {
		// A simulated error record (e.g. unknown connector).
		env, _ := json.Marshal(map[string]any{"ok": false, "error": map[string]string{
			"message": err.Error(), "errorId": "SimulatedError", "category": "InvalidArgument", "exceptionType": "System.ArgumentException"}})
		return writeback.ParseOutput(script, f.render(env, nil), nil, 1)
	}
	f.persistLocked()
	return writeback.ParseOutput(script, f.render(nil, data), nil, 0)
}

func (f *SyncServer) takeFailureLocked(script string) (Failure, bool) {
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

func (f *SyncServer) failureOutput(fl Failure) (stdout, stderr []byte, code int) {
	file := map[Failure]string{
		FailModuleMissing: "error-module-missing.json",
		FailNotRecognized: "error-not-recognized.json",
		FailAccessDenied:  "error-access-denied.json",
	}[fl]
	switch {
	case fl == FailModuleMissingStderr:
		b, _ := recorded.ReadFile("recorded/stderr-module-missing.txt")
		return nil, b, 1
	case fl == FailGarbage:
		return []byte("WARNING: the connection was reset\r\n{\"ok\":tr"), nil, 0
	case file != "":
		b, _ := recorded.ReadFile("recorded/" + file)
		return f.render(b, nil), nil, 1
	}
	return nil, []byte("unknown simulated failure " + string(fl)), 1
}

// handleLocked simulates one script and returns its data.
func (f *SyncServer) handleLocked(script string, args map[string]string) (any, error) {
	switch script {
	case writeback.ScriptListConnectors:
		return f.connectorsData(), nil
	case writeback.ScriptGetPasswordResetConfig, writeback.ScriptSetPasswordResetConfig:
		name := args["Connector"]
		cur, ok := f.state.Writeback[name]
		if !ok {
			return nil, fmt.Errorf("Connector '%s' could not be found.", name)
		}
		if script == writeback.ScriptSetPasswordResetConfig {
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
	case writeback.ScriptCloudSyncGetWriteback:
		if !f.state.CloudSyncReadable {
			return []map[string]any{{"Known": false, "Enabled": false}}, nil
		}
		return []map[string]any{{"Known": true, "Enabled": f.state.CloudSyncEnabled}}, nil
	case writeback.ScriptCloudSyncSetWriteback:
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
	case writeback.ScriptReadWritebackEvents:
		return f.eventsData(args["Since"])
	}
	return nil, fmt.Errorf("simulated sync server has no handler for %q", script)
}

func (f *SyncServer) connectorsData() []map[string]any {
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
func (f *SyncServer) logWritebackChangeLocked(enabled bool) {
	now := f.now()
	var evs []writeback.EventRecord
	if enabled {
		name := "events-enabled"
		if f.state.ServiceBusBlocked {
			name = "events-servicebus-blocked"
		}
		evs, _ = recordedEvents(name, now)
	} else {
		for i, id := range []int{31012, 31013} {
			n, k, m := writeback.ClassifyEvent(writeback.ProviderPasswordResetService, id)
			evs = append(evs, writeback.EventRecord{ID: id, Provider: writeback.ProviderPasswordResetService, TimeCreated: now.Add(time.Duration(i) * time.Second),
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
func recordedEvents(name string, base time.Time) ([]writeback.EventRecord, error) {
	b, err := recorded.ReadFile("recorded/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("recorded events %q: %w", name, err)
	}
	out, err := writeback.ParseOutput(writeback.ScriptReadWritebackEvents, b, nil, 0)
	if err != nil {
		return nil, err
	}
	evs, err := writeback.ReadWritebackEvents(context.Background(), staticRunner{out}, time.Time{})
	if err != nil || len(evs) == 0 {
		return evs, err
	}
	first := evs[0].TimeCreated
	for i := range evs {
		evs[i].TimeCreated = base.Add(evs[i].TimeCreated.Sub(first)).UTC()
	}
	return evs, nil
}

func (f *SyncServer) eventsData(sinceArg string) (any, error) {
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
func (f *SyncServer) render(envelopeJSON []byte, data any) []byte {
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
