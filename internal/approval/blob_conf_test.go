package approval

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/blob"
)

// TestShippedNATSConfBlobs runs the real nats-server with the shipped
// deploy/nats.conf: the worker creates the blob stream; an operator can
// upload a member file (direct get to see whether it is there, then
// publish) and the worker reads it back; an approver can do neither; an
// operator can neither purge nor delete the stream, nor replace a stored
// chunk.
func TestShippedNATSConfBlobs(t *testing.T) {
	srv := startShippedServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	wnc, wjs := srv.connect(t, DefaultWorkerUser)
	if err := blob.EnsureStream(ctx, wjs); err != nil {
		t.Fatalf("worker creates %s: %v", blob.Stream, err)
	}
	onc, ojs := srv.connect(t, "ops1")
	ops, _ := blob.New(onc, "")
	list := []byte("user0001@contoso.onmicrosoft.com\no'brien@contoso.onmicrosoft.com\n")
	d, err := ops.PutBytes(ctx, list)
	if err != nil {
		t.Fatalf("operator upload: %v", err)
	}
	w, _ := blob.New(wnc, t.TempDir())
	if got, err := w.Bytes(ctx, d); err != nil || !bytes.Equal(got, list) {
		t.Fatalf("worker reads the upload: %q, %v", got, err)
	}

	anc, _ := srv.connect(t, "alice")
	apr, _ := blob.New(anc, "")
	if _, err := apr.PutBytes(ctx, []byte("approvers upload nothing\n")); err == nil {
		t.Error("an approver uploaded a blob")
	}
	if _, err := apr.Bytes(ctx, d); err == nil {
		t.Error("an approver read a member list")
	}

	if err := ojs.DeleteStream(ctx, blob.Stream); err == nil {
		t.Error("an operator deleted the blob stream")
	}
	if s, err := ojs.Stream(ctx, blob.Stream); err == nil {
		if err := s.Purge(ctx); err == nil {
			t.Error("an operator purged the blob stream")
		}
	}
	hexd, _ := blob.ParseDigest(d)
	if _, err := ojs.Publish(ctx, "ssprflow.blob."+hexd+".0", []byte("attacker@evil.example\n")); err == nil {
		t.Error("an operator replaced a stored chunk")
	}
	// Refused requests get no answer and time out: read with a fresh context.
	rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer rcancel()
	if got, err := w.Bytes(rctx, d); err != nil || !bytes.Equal(got, list) {
		t.Fatalf("the list after the attacks: %q, %v", got, err)
	}
}
