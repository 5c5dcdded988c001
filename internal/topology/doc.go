// Package topology proves ssprflow on the production topology, on one
// machine: a Temporal server process on PostgreSQL (temporalpg, behind a
// TCP proxy the tests control), three clustered nats-server processes with
// R3 streams, two ssprflow-worker processes on one task queue, the
// writeback agent as its own process, the tenant simulator and a Samba AD
// DC. Its tests inject one fault each during a rollout with a pilot, a
// wave of several thousand members and a gate, and prove from the
// simulator's write audit and the DC's security descriptors that every
// change was applied exactly once. `make test-topology` runs them.
//
// The tests build the binaries they run (go build, so the build cache
// makes a rebuild cheap); the package itself imports neither the Temporal
// server nor anything the operator CLI links.
package topology
