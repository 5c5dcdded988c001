package writeback

import (
	"embed"
	"fmt"
	"strings"
)

// Script ids: the only scripts a Runner is asked to run. Their text is fixed
// and shipped with this package (scripts/*.ps1); plan values reach them only
// as data through ArgsEnv.
const (
	ScriptListConnectors         = "list-connectors"
	ScriptGetPasswordResetConfig = "get-password-reset-config"
	ScriptSetPasswordResetConfig = "set-password-reset-config"
	ScriptCloudSyncGetWriteback  = "cloudsync-get-writeback"
	ScriptCloudSyncSetWriteback  = "cloudsync-set-writeback"
	ScriptReadWritebackEvents    = "read-writeback-events"
)

// ArgsEnv is the environment variable that carries a script's arguments as a
// JSON object of strings; the script reads it with ConvertFrom-Json into $A.
const ArgsEnv = "SSPRFLOW_ARGS"

//go:embed scripts/*.ps1
var scriptFS embed.FS

// scriptPrelude and scriptEpilogue wrap every script body. The whole text is
// one `& { ... }` statement so that `-Command -` parses it completely before
// running it (it otherwise executes stdin line by line). The body's output is
// returned as {"ok":true,"data":[...]}; a terminating error as
// {"ok":false,"error":{...}} with exit code 1.
const scriptPrelude = `& {
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try { [Console]::OutputEncoding = [Text.UTF8Encoding]::new($false) } catch { }
$A = [pscustomobject]@{}
if ($env:SSPRFLOW_ARGS) { $A = $env:SSPRFLOW_ARGS | ConvertFrom-Json }
Remove-Item -Path Env:SSPRFLOW_ARGS -ErrorAction SilentlyContinue
try {
$ssprflowData = @(& {
`

const scriptEpilogue = `
})
[pscustomobject]@{ ok = $true; data = $ssprflowData } | ConvertTo-Json -Depth 5 -Compress
} catch {
$r = $_
[pscustomobject]@{ ok = $false; error = [pscustomobject]@{ message = [string]$r.Exception.Message; errorId = [string]$r.FullyQualifiedErrorId; category = [string]$r.CategoryInfo.Category; exceptionType = [string]$r.Exception.GetType().FullName } } | ConvertTo-Json -Depth 5 -Compress
exit 1
}
}

`

// ScriptIDs lists every script id, for tests and diagnostics.
func ScriptIDs() []string {
	return []string{ScriptListConnectors, ScriptGetPasswordResetConfig, ScriptSetPasswordResetConfig,
		ScriptCloudSyncGetWriteback, ScriptCloudSyncSetWriteback, ScriptReadWritebackEvents}
}

// ScriptText returns the complete PowerShell text run for a script id. It
// fails for ids this package does not ship.
func ScriptText(id string) (string, error) {
	known := false
	for _, s := range ScriptIDs() {
		if s == id {
			known = true
			break
		}
	}
	if !known {
		return "", fmt.Errorf("script text: %w: unknown script %q", ErrBadInput, id)
	}
	body, err := scriptFS.ReadFile("scripts/" + id + ".ps1")
	if err != nil {
		return "", fmt.Errorf("script text %s: %w", id, err)
	}
	// Normalise to LF so the text is byte-identical on every platform, and drop
	// blank lines: with -Command -, an empty line ends a multi-line statement.
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return scriptPrelude + strings.Join(lines, "\n") + scriptEpilogue, nil
}
