// Package devstack runs the local stack in-process: a real Temporal server on
// SQLite and a real NATS server with JetStream. `ssprflow dev`, the demo and
// integration tests use it; production points the same worker at real clusters.
//
// It is the only package that imports go.temporal.io/server, because anything
// importing the server takes minutes to build cold.
package devstack
