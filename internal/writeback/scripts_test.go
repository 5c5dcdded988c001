package writeback

import (
	"strings"
	"testing"
)

func TestScriptTexts(t *testing.T) {
	for _, id := range ScriptIDs() {
		t.Run(id, func(t *testing.T) {
			text, err := ScriptText(id)
			if err != nil {
				t.Fatal(err)
			}
			// One statement, terminated by a blank line, so -Command - runs it whole.
			if !strings.HasPrefix(text, "& {\n") || !strings.HasSuffix(text, "}\n\n") {
				t.Errorf("script is not wrapped in one & { } block")
			}
			if o, c := strings.Count(text, "{"), strings.Count(text, "}"); o != c {
				t.Errorf("unbalanced braces: %d { vs %d }", o, c)
			}
			if o, c := strings.Count(text, "("), strings.Count(text, ")"); o != c {
				t.Errorf("unbalanced parentheses: %d ( vs %d )", o, c)
			}
			if strings.Contains(strings.TrimSuffix(text, "\n\n"), "\n\n") {
				t.Errorf("blank line inside the script would end the statement early under -Command -")
			}
			if strings.Contains(text, "\r") {
				t.Errorf("script text has CR")
			}
			// Arguments come only from $A (the JSON in SSPRFLOW_ARGS).
			for _, env := range []string{"$env:"} {
				rest := text
				for {
					i := strings.Index(rest, env)
					if i < 0 {
						break
					}
					name := rest[i+len(env):]
					if !strings.HasPrefix(name, "SSPRFLOW_ARGS") && !strings.HasPrefix(name, "ProgramFiles") {
						t.Errorf("script reads unexpected environment variable %q", name[:min(20, len(name))])
					}
					rest = rest[i+len(env):]
				}
			}
		})
	}
	if _, err := ScriptText("../../etc/passwd"); err == nil {
		t.Errorf("unknown script id accepted")
	}
}
