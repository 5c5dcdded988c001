// Package writeback enables, restores and verifies password writeback on the
// sync server (Microsoft Entra Connect or Entra Cloud Sync).
//
// The cmdlets only exist on a Windows host, so this package is meant to run in
// an agent on that host: a Temporal worker serving only the writeback
// activities on a host-specific task queue (see RunAgent). Every PowerShell
// invocation runs a fixed script shipped with this package; arguments travel as
// JSON data in an environment variable and are never spliced into code.
//
// internal/writebacksim stands in for the sync server when no Windows host
// exists (tests, the local stack): it replays recorded cmdlet output and says
// so in its logs. It is a separate package so that the agent does not carry
// it.
package writeback
