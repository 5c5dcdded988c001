package approval_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ssprflow/ssprflow/internal/approval"
)

// An approver's CLI: connect as the approver's NATS user with its inbox
// prefix, publish the decision and wait for the verdict.
func ExamplePublishDecision() {
	nc, err := nats.Connect("tls://nats.example.com:4222",
		nats.UserCredentials("alice.creds"),
		nats.CustomInboxPrefix(approval.InboxPrefix("alice")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	d := approval.Decision{ID: approval.NewDecisionID(), Gate: "pilot", Verdict: approval.VerdictApprove, Comment: "coverage is fine"}
	v, err := approval.PublishDecision(context.Background(), nc, js, "contoso", "rollout-1", "alice", d, 30*time.Second)
	if err != nil {
		fmt.Println(err) // ErrNoVerdict: retry later with the same d
		return
	}
	fmt.Println(v.Accepted, v.GateState, v.Reason)
}

// The worker: ensure the streams, then run the bridge until shutdown.
func ExampleNewBridge() {
	var decider approval.Decider // the worker's Temporal Update client
	nc, err := nats.Connect("tls://nats.example.com:4222", nats.UserCredentials("worker.creds"), nats.MaxReconnects(-1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if err := approval.EnsureStreams(ctx, js); err != nil {
		fmt.Println(err)
		return
	}
	b := approval.NewBridge(js, nc, decider, approval.BridgeOptions{Logger: slog.Default()})
	if err := b.Run(ctx); err != nil {
		fmt.Println(err)
	}
}
