package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// quietLevel is the least severe level the embedded servers may log at: both
// servers are chatty at info, and a developer running `ssprflow dev` wants the
// rollout's output, not the servers'.
const quietLevel = slog.LevelWarn

// quietLogger returns l (or a discarding logger when l is nil) restricted to
// warnings and errors.
func quietLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(minLevelHandler{Handler: l.Handler(), min: quietLevel})
}

// minLevelHandler drops records below min, whatever the wrapped handler allows.
type minLevelHandler struct {
	slog.Handler
	min slog.Level
}

func (h minLevelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min && h.Handler.Enabled(ctx, level)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithGroup(name), min: h.min}
}

// logGate silences the Temporal server's expected noise. While its services
// start they dial each other before all listen, and once Stop begins every
// internal poller and client reports the closed connections (some keep
// redialling after Stop returns); none of that needs a human.
type logGate struct{ state atomic.Int32 }

const (
	gateStarting int32 = iota // errors only
	gateRunning               // warnings and errors
	gateStopped               // nothing
)

func (g *logGate) allows(level slog.Level) bool {
	switch g.state.Load() {
	case gateStarting:
		return level >= slog.LevelError
	case gateRunning:
		return true
	default:
		return false
	}
}

// temporalLogger adapts a *slog.Logger to the Temporal server's logger.
type temporalLogger struct {
	l    *slog.Logger
	gate *logGate
}

var (
	_ serverlog.Logger      = temporalLogger{}
	_ serverlog.WithLogger  = temporalLogger{}
	_ serverlog.SLogWrapper = temporalLogger{}
)

func (t temporalLogger) Debug(msg string, tags ...tag.Tag) { t.log(slog.LevelDebug, msg, tags) }
func (t temporalLogger) Info(msg string, tags ...tag.Tag)  { t.log(slog.LevelInfo, msg, tags) }
func (t temporalLogger) Warn(msg string, tags ...tag.Tag)  { t.log(slog.LevelWarn, msg, tags) }
func (t temporalLogger) Error(msg string, tags ...tag.Tag) { t.log(slog.LevelError, msg, tags) }

// The server's panic and fatal levels must not take down the process that
// embeds it (a test binary or `ssprflow dev`): they are logged as errors.
func (t temporalLogger) DPanic(msg string, tags ...tag.Tag) { t.log(slog.LevelError, msg, tags) }
func (t temporalLogger) Panic(msg string, tags ...tag.Tag)  { t.log(slog.LevelError, msg, tags) }
func (t temporalLogger) Fatal(msg string, tags ...tag.Tag)  { t.log(slog.LevelError, msg, tags) }

// With returns a logger that adds tags to every record.
func (t temporalLogger) With(tags ...tag.Tag) serverlog.Logger {
	return temporalLogger{l: t.l.With(tagArgs(tags)...), gate: t.gate}
}

// SLog lets server code that wants a *slog.Logger use the same quiet logger.
func (t temporalLogger) SLog() *slog.Logger {
	return slog.New(gatedHandler{Handler: t.l.Handler(), gate: t.gate})
}

// gatedHandler applies a logGate to slog records.
type gatedHandler struct {
	slog.Handler
	gate *logGate
}

func (h gatedHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.gate.allows(level) && h.Handler.Enabled(ctx, level)
}

func (h gatedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return gatedHandler{Handler: h.Handler.WithAttrs(attrs), gate: h.gate}
}

func (h gatedHandler) WithGroup(name string) slog.Handler {
	return gatedHandler{Handler: h.Handler.WithGroup(name), gate: h.gate}
}

func (t temporalLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !t.gate.allows(level) || !t.l.Enabled(ctx, level) {
		return // skip converting tags for records nobody reads
	}
	t.l.Log(ctx, level, msg, tagArgs(tags)...)
}

func tagArgs(tags []tag.Tag) []any {
	args := make([]any, 0, len(tags))
	for _, tg := range tags {
		args = append(args, slog.Any(tg.Key(), tg.Value()))
	}
	return args
}

// natsLogger adapts a *slog.Logger to the NATS server's logger.
type natsLogger struct{ l *slog.Logger }

func (n natsLogger) Noticef(format string, v ...any) { n.logf(slog.LevelInfo, format, v) }
func (n natsLogger) Warnf(format string, v ...any)   { n.logf(slog.LevelWarn, format, v) }
func (n natsLogger) Fatalf(format string, v ...any)  { n.logf(slog.LevelError, format, v) }
func (n natsLogger) Errorf(format string, v ...any)  { n.logf(slog.LevelError, format, v) }
func (n natsLogger) Debugf(format string, v ...any)  { n.logf(slog.LevelDebug, format, v) }
func (n natsLogger) Tracef(format string, v ...any)  { n.logf(slog.LevelDebug-4, format, v) }

func (n natsLogger) logf(level slog.Level, format string, v []any) {
	ctx := context.Background()
	if !n.l.Enabled(ctx, level) {
		return
	}
	n.l.Log(ctx, level, fmt.Sprintf(format, v...), "server", "nats")
}
