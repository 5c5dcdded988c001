//go:build race

package topology

// raceEnabled: the test binary is built with -race; TestMain builds the
// binaries it runs with -race too, so they reuse the race-instrumented
// packages `make test` compiles anyway (one cold compile, not two).
const raceEnabled = true
