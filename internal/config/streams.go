package config

import (
	"errors"
	"fmt"
	"time"
)

// Streams sizes and places the worker's JetStream streams (approvals,
// events, blobs). The worker creates a missing stream from it and refuses to
// start when an existing stream differs (see internal/streams): it never
// changes a stream that holds data.
type Streams struct {
	// Replicas is each stream's replica count: 1 (the default) on a single
	// server, 3 (or 5) on a NATS cluster with that many JetStream servers.
	Replicas int `yaml:"replicas,omitempty"`
	// Placement pins the streams to a cluster or to servers with tags
	// (optional).
	Placement *Placement `yaml:"placement,omitempty"`
	// Approvals, Events and Blobs override a stream's limits.
	Approvals StreamLimits `yaml:"approvals,omitempty"`
	Events    StreamLimits `yaml:"events,omitempty"`
	Blobs     StreamLimits `yaml:"blobs,omitempty"`
}

// Placement is JetStream's stream placement.
type Placement struct {
	Cluster string   `yaml:"cluster,omitempty"`
	Tags    []string `yaml:"tags,omitempty"`
}

// StreamLimits are a stream's retention limits; zero keeps ssprflow's
// default for that stream.
type StreamLimits struct {
	// MaxAge is how long a message is kept, as a Go duration ("720h").
	MaxAge time.Duration `yaml:"maxAge,omitempty"`
	// MaxBytes bounds the stream's size in bytes; JetStream reserves it
	// from every replica's store up front.
	MaxBytes int64 `yaml:"maxBytes,omitempty"`
}

// MaxReplicas is JetStream's largest replica count.
const MaxReplicas = 5

// minStreamAge is the streams' de-duplication window: JetStream refuses a
// max age below it.
const minStreamAge = 10 * time.Minute

// maxBlobSize is blob.MaxSize (blob imports this package).
const maxBlobSize = 64 << 20

// ReplicaCount is the configured replica count, 1 when unset.
func (s Streams) ReplicaCount() int {
	if s.Replicas == 0 {
		return 1
	}
	return s.Replicas
}

func (s Streams) validate() []error {
	var errs []error
	if s.Replicas < 0 || s.Replicas > MaxReplicas {
		errs = append(errs, fmt.Errorf("nats.streams.replicas %d: use 1 (one NATS server) to %d; 3 on a three-node NATS cluster", s.Replicas, MaxReplicas))
	}
	if p := s.Placement; p != nil {
		for i, tag := range p.Tags {
			if tag == "" {
				errs = append(errs, fmt.Errorf("nats.streams.placement.tags[%d] is empty: remove it, or give a server tag from the NATS servers' server_tags", i))
			}
		}
	}
	for _, l := range []struct {
		name   string
		limits StreamLimits
		noAge  bool
	}{{"approvals", s.Approvals, false}, {"events", s.Events, false}, {"blobs", s.Blobs, true}} {
		switch {
		case l.noAge && l.limits.MaxAge != 0:
			errs = append(errs, fmt.Errorf("nats.streams.blobs.maxAge: blobs have no age limit (a rollout reads its plan until it ends, which may be months); remove it and bound the stream with maxBytes"))
		case l.limits.MaxAge < 0:
			errs = append(errs, fmt.Errorf("nats.streams.%s.maxAge %v: must be positive, e.g. 720h (or omit it for the default)", l.name, l.limits.MaxAge))
		case l.limits.MaxAge != 0 && l.limits.MaxAge < minStreamAge:
			errs = append(errs, fmt.Errorf("nats.streams.%s.maxAge %v: must be at least %v, the streams' de-duplication window (or omit it for the default)", l.name, l.limits.MaxAge, minStreamAge))
		}
		switch {
		case l.limits.MaxBytes < 0:
			errs = append(errs, fmt.Errorf("nats.streams.%s.maxBytes %d: must be positive, in bytes (or omit it for the default)", l.name, l.limits.MaxBytes))
		case l.noAge && l.limits.MaxBytes != 0 && l.limits.MaxBytes < maxBlobSize:
			errs = append(errs, fmt.Errorf("nats.streams.blobs.maxBytes %d: must be at least %d (64 MiB, the largest blob), or omit it for the default 512 MiB", l.limits.MaxBytes, maxBlobSize))
		}
	}
	if len(errs) > 0 {
		return []error{errors.Join(errs...)}
	}
	return nil
}
