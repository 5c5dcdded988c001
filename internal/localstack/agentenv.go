package localstack

import "strings"

// agentEnvKeep are the variables the writeback agent inherits from the dev
// stack: what a process needs to run (and the Go runtime's own knobs), none
// of the stack's tokens or passwords. Everything else the agent needs comes
// as flags, or from the caller through extra.
var agentEnvKeep = map[string]bool{
	"PATH": true, "HOME": true, "TMPDIR": true, "LANG": true, "LC_ALL": true, "TZ": true,
	"GOMAXPROCS": true, "GODEBUG": true, "GOTRACEBACK": true, "GOCOVERDIR": true,
}

// agentEnv is the writeback agent's environment: the allow-listed entries of
// parent, then extra (KEY=VALUE, e.g. the payload codec key). An entry of
// extra replaces an inherited one of the same name. The agent runs on the
// sync server in production with only its Temporal identity; in dev it must
// not see the simulator's token, the NATS or AD passwords, or
// SSPRFLOW_CONFIG (which would make it read the main worker's configuration).
func agentEnv(parent, extra []string) []string {
	override := make(map[string]bool, len(extra))
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		override[k] = true
	}
	env := make([]string, 0, len(agentEnvKeep)+len(extra))
	seen := make(map[string]bool, len(agentEnvKeep))
	for _, kv := range parent {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !agentEnvKeep[k] || override[k] || seen[k] {
			continue
		}
		seen[k] = true
		env = append(env, kv)
	}
	return append(env, extra...)
}
