package cli

import (
	"context"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
)

// HistoryStats is the size of a rollout's Temporal history over every run
// of its continue-as-new chain: what the server stores and replays.
type HistoryStats struct {
	Bytes   int // sum of the encoded events
	Events  int
	Largest int // the largest single event, bytes
	Runs    int
}

// History measures the history of rollout id from run runID on.
func History(ctx context.Context, tc client.Client, id, runID string) (HistoryStats, error) {
	var st HistoryStats
	for run := runID; run != ""; {
		next := ""
		st.Runs++
		it := tc.GetWorkflowHistory(ctx, id, run, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return st, fmt.Errorf("read history of %s run %s: %w", id, run, err)
			}
			n := proto.Size(ev)
			st.Bytes, st.Events, st.Largest = st.Bytes+n, st.Events+1, max(st.Largest, n)
			if a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				next = a.GetNewExecutionRunId()
			}
		}
		run = next
	}
	return st, nil
}
