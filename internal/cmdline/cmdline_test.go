package cmdline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// program is a small tree: ssprflow-test rollout resume --action A [--output json].
func program() Program {
	resume := func(ctx context.Context, io IO, args []string) error {
		fs := NewFlags(io, "ssprflow-test", "rollout resume", "ID", "answer a paused rollout")
		action := fs.String("action", "", "retry|rollback|abort")
		out := OutputFlag(fs)
		if _, err := Parse(fs, args); err != nil {
			return err
		}
		if err := OneOf("action", *action, "retry", "rollback", "abort"); err != nil {
			return err
		}
		if *out == "json" {
			return PrintJSON(io.Out, map[string]string{"action": *action})
		}
		return errors.New("no worker answered")
	}
	return Program{Version: "v1.2.3", Root: &Command{Name: "ssprflow-test", Summary: "test", Subs: []*Command{
		{Name: "rollout", Summary: "rollouts", Subs: []*Command{{Name: "resume", Summary: "resume", Run: resume}}},
		{Name: "plan", Summary: "plans", Run: func(context.Context, IO, []string) error { return nil }},
	}}}
}

func TestMain(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string // substring
		stderr   string // substring
		maxLines int    // of stderr; 0 = any
	}{
		{name: "version", args: []string{"--version"}, code: 0, stdout: "ssprflow-test v1.2.3"},
		{name: "command typo", args: []string{"rolout"}, code: 2, stderr: `did you mean "rollout"?`, maxLines: 1},
		{name: "flag typo", args: []string{"rollout", "resume", "x", "--actoin", "retry"}, code: 2, stderr: "did you mean --action?", maxLines: 1},
		{name: "bad value before any connection", args: []string{"rollout", "resume", "x", "--action", "retyr"}, code: 2, stderr: `did you mean "retry"?`, maxLines: 1},
		{name: "plain error", args: []string{"rollout", "resume", "x", "--action", "retry"}, code: 1, stderr: "ssprflow-test: no worker answered"},
		{name: "help", args: []string{"--help"}, code: 0, stdout: "Commands:"},
		{name: "no command", args: nil, code: 2, stdout: "Commands:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := program().Main(context.Background(), tt.args, &out, &errb)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stdout %q, stderr %q)", code, tt.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout %q (want %q), stderr %q (want %q)", out.String(), tt.stdout, errb.String(), tt.stderr)
			}
			if n := strings.Count(strings.TrimSpace(errb.String()), "\n") + 1; tt.maxLines > 0 && n > tt.maxLines {
				t.Errorf("stderr has %d lines, want at most %d:\n%s", n, tt.maxLines, errb.String())
			}
		})
	}
}

// TestErrorsAsJSON: a script that asked for JSON gets JSON, errors included.
func TestErrorsAsJSON(t *testing.T) {
	for _, args := range [][]string{
		{"rollout", "resume", "x", "--action", "retyr", "--output", "json"},
		{"rollout", "resume", "x", "--output=json", "--action", "nope"},
	} {
		var out, errb bytes.Buffer
		code := program().Main(context.Background(), args, &out, &errb)
		var got struct {
			Error    string `json:"error"`
			ExitCode int    `json:"exitCode"`
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("%v: stdout is not JSON: %q (%v)", args, out.String(), err)
		}
		if code != 2 || got.ExitCode != 2 || !strings.Contains(got.Error, "--action") || errb.Len() != 0 {
			t.Errorf("%v: exit %d, %+v, stderr %q", args, code, got, errb.String())
		}
	}
}
