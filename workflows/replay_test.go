package workflows

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ssprflow/ssprflow/internal/payloadcrypt"
)

// TestReplayRecordedHistories replays histories recorded from real rollouts
// (success, rollback after a rejection, pause then resume) against the
// current workflow code. A change that would break running rollouts fails
// here: guard it with workflow.GetVersion, then re-record
// (go test ./internal/e2e -run TestRecordHistories -update-histories).
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("expected recorded histories of each shape, found %v", files)
	}
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	// The recorded histories are in clear text: they replay with the
	// worker's payload codec too, which passes unencrypted payloads through.
	codec, err := payloadcrypt.New("k1", map[string][]byte{"k1": make([]byte, payloadcrypt.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(RolloutWorkflow)
			r.RegisterWorkflowWithOptions(DriftCheck, workflow.RegisterOptions{Name: DriftCheckWorkflowName})
			r.RegisterWorkflowWithOptions(RolloutWorkflow, workflow.RegisterOptions{Name: RevertWorkflowName})
			r.RegisterWorkflowWithOptions(RolloutWorkflow, workflow.RegisterOptions{Name: RemediateWorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
				t.Fatalf("replaying %s: %v", f, err)
			}
			rc, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
				DataConverter: codec.DataConverter(), FailureConverter: codec.FailureConverter()})
			if err != nil {
				t.Fatal(err)
			}
			rc.RegisterWorkflow(RolloutWorkflow)
			rc.RegisterWorkflowWithOptions(DriftCheck, workflow.RegisterOptions{Name: DriftCheckWorkflowName})
			rc.RegisterWorkflowWithOptions(RolloutWorkflow, workflow.RegisterOptions{Name: RevertWorkflowName})
			rc.RegisterWorkflowWithOptions(RolloutWorkflow, workflow.RegisterOptions{Name: RemediateWorkflowName})
			if err := rc.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
				t.Fatalf("replaying %s with the payload codec: %v", f, err)
			}
		})
	}
}
