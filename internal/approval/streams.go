package approval

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream retention settings.
const (
	ApprovalsMaxAge = 30 * 24 * time.Hour
	EventsMaxAge    = 90 * 24 * time.Hour
	DuplicateWindow = 10 * time.Minute
)

// ApprovalsStreamConfig returns the configuration of SSPRFLOW_APPROVALS:
// requests and decisions, file storage, limits retention, 30 days, a 10
// minute de-duplication window and 16 KiB messages.
func ApprovalsStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        ApprovalsStream,
		Description: "ssprflow approval requests and decisions",
		Subjects:    []string{RequestSubjects, DecisionSubjects},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      ApprovalsMaxAge,
		Duplicates:  DuplicateWindow,
		MaxMsgSize:  MaxStoredMsgSize,
		Replicas:    1,
	}
}

// EventsStreamConfig returns the configuration of SSPRFLOW_EVENTS: rollout
// events, file storage, limits retention, 90 days, and direct get allowed:
// approvers and operators read the audit trail with DIRECT.GET only (see
// ListEvents), which needs no consumer and changes nothing.
func EventsStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        EventsStream,
		Description: "ssprflow rollout events (CloudEvents JSON)",
		Subjects:    []string{EventSubjects},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      EventsMaxAge,
		Duplicates:  DuplicateWindow,
		Replicas:    1,
		AllowDirect: true,
	}
}

// EnsureStreams creates SSPRFLOW_APPROVALS and SSPRFLOW_EVENTS or updates
// them to the current configuration. Calling it again is a no-op; stored
// messages are kept.
func EnsureStreams(ctx context.Context, js jetstream.JetStream) error {
	for _, cfg := range []jetstream.StreamConfig{ApprovalsStreamConfig(), EventsStreamConfig()} {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}
