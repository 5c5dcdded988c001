// Package streams is the worker's JetStream layout: the streams ssprflow
// uses (approvals, events, blobs), with the replicas, placement and limits
// of the worker configuration (config.Streams). The worker creates a
// missing stream and checks an existing one; it never changes an existing
// stream, because a stream holds the audit trail and the blobs running
// rollouts read, and a silent change (a lower limit, a move to other
// servers) can lose them. A difference is reported with the fix instead:
// the `nats stream edit` that makes the stream match, or the configuration
// value that matches the stream.
//
// There are no KV or object store buckets: the blob store is a plain stream
// (see internal/blob).
package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/blob"
	"github.com/ssprflow/ssprflow/internal/config"
)

// ErrMismatch is matched (errors.Is) by a *MismatchError.
var ErrMismatch = errors.New("NATS streams differ from the worker configuration")

// Mismatch is one way an existing stream differs from its configuration.
type Mismatch struct {
	Stream string
	// Field is what differs, in `nats stream info` terms ("replicas").
	Field string
	// Have is the stream's value, Want the configuration's.
	Have, Want string
	// Fix says how to make them agree.
	Fix string
}

func (m Mismatch) String() string {
	if m.Have == "" {
		return fmt.Sprintf("%s: %s; fix: %s", m.Stream, m.Want, m.Fix)
	}
	return fmt.Sprintf("%s: %s is %s, configured %s; fix: %s", m.Stream, m.Field, m.Have, m.Want, m.Fix)
}

// MismatchError lists every difference between the streams and the
// configuration.
type MismatchError struct {
	Mismatches []Mismatch
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	b.WriteString(ErrMismatch.Error())
	b.WriteString(" (nats.streams); the worker changes no existing stream:")
	for _, m := range e.Mismatches {
		b.WriteString("\n  ")
		b.WriteString(m.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrMismatch) true.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// stream is one of the worker's streams: its configuration and which
// section of nats.streams sizes it.
type stream struct {
	cfg     jetstream.StreamConfig
	section string
}

// Configs returns the configuration of every stream the worker uses under
// c: ssprflow's own settings (subjects, storage, retention, de-duplication,
// direct get) with c's replicas, placement and limits.
func Configs(c config.Streams) []jetstream.StreamConfig {
	var out []jetstream.StreamConfig
	for _, s := range layout(c) {
		out = append(out, s.cfg)
	}
	return out
}

func layout(c config.Streams) []stream {
	all := []stream{
		{approval.ApprovalsStreamConfig(), "approvals"},
		{approval.EventsStreamConfig(), "events"},
		{blob.StreamConfig(), "blobs"},
	}
	limits := map[string]config.StreamLimits{"approvals": c.Approvals, "events": c.Events, "blobs": c.Blobs}
	for i := range all {
		s := &all[i].cfg
		s.Replicas = c.ReplicaCount()
		if p := c.Placement; p != nil && (p.Cluster != "" || len(p.Tags) > 0) {
			s.Placement = &jetstream.Placement{Cluster: p.Cluster, Tags: slices.Clone(p.Tags)}
		}
		l := limits[all[i].section]
		if l.MaxAge != 0 {
			s.MaxAge = l.MaxAge
		}
		if l.MaxBytes != 0 {
			s.MaxBytes = l.MaxBytes
		}
	}
	return all
}

// Ensure creates every missing stream from c and checks every existing one
// against it. It returns the names of the streams it created, and a
// *MismatchError listing every difference (and changes nothing) when an
// existing stream differs. Two workers starting at once both succeed: the
// one that loses the race to create a stream checks it instead.
func Ensure(ctx context.Context, js jetstream.JetStream, c config.Streams) (created []string, err error) {
	var mismatches []Mismatch
	for _, want := range layout(c) {
		have, err := info(ctx, js, want.cfg.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			_, err = js.CreateStream(ctx, want.cfg)
			if err == nil {
				created = append(created, want.cfg.Name)
				continue
			}
			if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				return created, fmt.Errorf("create stream %s: %w%s", want.cfg.Name, err, replicaHint(c))
			}
			have, err = info(ctx, js, want.cfg.Name)
		}
		if err != nil {
			return created, err
		}
		mismatches = append(mismatches, compare(have, want)...)
	}
	if len(mismatches) > 0 {
		return created, &MismatchError{Mismatches: mismatches}
	}
	return created, nil
}

// Check compares the streams with c and creates nothing: a missing stream
// is a mismatch too. The worker's readiness probe runs it.
func Check(ctx context.Context, js jetstream.JetStream, c config.Streams) error {
	var mismatches []Mismatch
	for _, want := range layout(c) {
		have, err := info(ctx, js, want.cfg.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			mismatches = append(mismatches, Mismatch{Stream: want.cfg.Name, Field: "stream", Want: "the stream does not exist",
				Fix: "restart a worker, which creates it (someone deleted it: restore it from a backup with nats stream restore first if its data matters)"})
			continue
		}
		if err != nil {
			return err
		}
		mismatches = append(mismatches, compare(have, want)...)
	}
	if len(mismatches) > 0 {
		return &MismatchError{Mismatches: mismatches}
	}
	return nil
}

func info(ctx context.Context, js jetstream.JetStream, name string) (jetstream.StreamConfig, error) {
	s, err := js.Stream(ctx, name)
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return jetstream.StreamConfig{}, err
		}
		return jetstream.StreamConfig{}, fmt.Errorf("read stream %s: %w", name, err)
	}
	return s.CachedInfo().Config, nil
}

func replicaHint(c config.Streams) string {
	if n := c.ReplicaCount(); n > 1 {
		return fmt.Sprintf(" (nats.streams.replicas is %d: that needs a NATS cluster with at least %d JetStream servers; with one server set replicas: 1)", n, n)
	}
	return ""
}

// compare lists how have differs from want: the fields the configuration
// sets (replicas, placement, limits) and the ones ssprflow relies on
// (subjects, storage, retention, discard and per-subject rules, direct get,
// the de-duplication window, the message size), never the description.
func compare(have jetstream.StreamConfig, want stream) []Mismatch {
	w := want.cfg
	name := w.Name
	edit := func(flags string) string { return "nats stream edit " + name + " " + flags }
	var out []Mismatch
	add := func(field, h, wv, fix string) {
		out = append(out, Mismatch{Stream: name, Field: field, Have: h, Want: wv, Fix: fix})
	}
	if have.Replicas != w.Replicas {
		add("replicas", strconv.Itoa(have.Replicas), strconv.Itoa(w.Replicas),
			fmt.Sprintf("%s (or set nats.streams.replicas: %d to keep the stream as it is)", edit("--replicas "+strconv.Itoa(w.Replicas)), have.Replicas))
	}
	if w.Placement != nil {
		var hc string
		var ht []string
		if have.Placement != nil {
			hc, ht = have.Placement.Cluster, have.Placement.Tags
		}
		if hc != w.Placement.Cluster {
			add("placement cluster", quote(hc), quote(w.Placement.Cluster),
				fmt.Sprintf("%s (moves the stream; or set nats.streams.placement.cluster: %s)", edit("--cluster "+w.Placement.Cluster), quote(hc)))
		}
		if !sameSet(ht, w.Placement.Tags) {
			var flags []string
			for _, t := range w.Placement.Tags {
				flags = append(flags, "--tag "+t)
			}
			add("placement tags", fmt.Sprint(ht), fmt.Sprint(w.Placement.Tags),
				fmt.Sprintf("%s (moves the stream; or set nats.streams.placement.tags: %s)", edit(strings.Join(flags, " ")), yamlList(ht)))
		}
	}
	section := "nats.streams." + want.section
	if have.MaxAge != w.MaxAge {
		add("max age", age(have.MaxAge), age(w.MaxAge),
			fmt.Sprintf("%s (or set %s.maxAge: %s)", edit("--max-age "+w.MaxAge.String()), section, have.MaxAge))
	}
	if unlimited(have.MaxBytes) != unlimited(w.MaxBytes) {
		add("max bytes", size(have.MaxBytes), size(w.MaxBytes),
			fmt.Sprintf("%s (or set %s.maxBytes: %d)", edit("--max-bytes "+strconv.FormatInt(unlimited(w.MaxBytes), 10)), section, unlimited(have.MaxBytes)))
	}
	if have.Storage != w.Storage {
		add("storage", have.Storage.String(), w.Storage.String(),
			"storage cannot change on an existing stream: back it up (nats stream backup "+name+" DIR), remove it, let a worker create it, and copy the messages back")
	}
	if have.Retention != w.Retention {
		add("retention", have.Retention.String(), w.Retention.String(), edit("--retention limits"))
	}
	if !sameSet(have.Subjects, w.Subjects) {
		add("subjects", fmt.Sprint(have.Subjects), fmt.Sprint(w.Subjects), edit(fmt.Sprintf("--subjects %q", strings.Join(w.Subjects, ","))))
	}
	if have.Discard != w.Discard {
		add("discard", have.Discard.String(), w.Discard.String(), edit("--discard "+map[jetstream.DiscardPolicy]string{jetstream.DiscardOld: "old", jetstream.DiscardNew: "new"}[w.Discard]))
	}
	if have.DiscardNewPerSubject != w.DiscardNewPerSubject {
		add("discard new per subject", strconv.FormatBool(have.DiscardNewPerSubject), strconv.FormatBool(w.DiscardNewPerSubject), edit("--discard-per-subject"))
	}
	if unlimited(have.MaxMsgsPerSubject) != unlimited(w.MaxMsgsPerSubject) {
		add("max messages per subject", strconv.FormatInt(have.MaxMsgsPerSubject, 10), strconv.FormatInt(unlimited(w.MaxMsgsPerSubject), 10),
			edit("--max-msgs-per-subject "+strconv.FormatInt(unlimited(w.MaxMsgsPerSubject), 10)))
	}
	if have.AllowDirect != w.AllowDirect {
		add("allow direct", strconv.FormatBool(have.AllowDirect), strconv.FormatBool(w.AllowDirect), edit("--allow-direct"))
	}
	if w.Duplicates != 0 && have.Duplicates != w.Duplicates {
		add("duplicate window", have.Duplicates.String(), w.Duplicates.String(), edit("--dupe-window "+w.Duplicates.String()))
	}
	if int64(unlimited32(have.MaxMsgSize)) != int64(unlimited32(w.MaxMsgSize)) {
		add("max message size", strconv.Itoa(int(have.MaxMsgSize)), strconv.Itoa(int(unlimited32(w.MaxMsgSize))),
			edit("--max-msg-size "+strconv.Itoa(int(unlimited32(w.MaxMsgSize)))))
	}
	return out
}

// unlimited maps JetStream's "unset" 0 to the -1 the server stores.
func unlimited(v int64) int64 {
	if v == 0 {
		return -1
	}
	return v
}

func unlimited32(v int32) int32 {
	if v == 0 {
		return -1
	}
	return v
}

func age(d time.Duration) string {
	if d == 0 {
		return "unlimited"
	}
	return d.String()
}

func size(v int64) string {
	if v <= 0 {
		return "unlimited"
	}
	return strconv.FormatInt(v, 10)
}

func quote(s string) string { return strconv.Quote(s) }

func yamlList(s []string) string {
	var q []string
	for _, v := range s {
		q = append(q, strconv.Quote(v))
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
