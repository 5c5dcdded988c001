package config

import (
	"fmt"
	"time"
)

// DefaultWatchEvery is how often a watched tenant plan is checked for
// drift when the configuration does not say.
const DefaultWatchEvery = 24 * time.Hour

// Watch is the drift watch a successful rollout (or `ssprflow watch
// start`) leaves behind: a Temporal Schedule that checks the tenant and the
// domain against the plan.
type Watch struct {
	// Every is the check's interval, e.g. "24h" (default) or "6h".
	Every string `yaml:"every,omitempty"`
	// Off: successful rollouts start no watch (watch start still does).
	Off bool `yaml:"off,omitempty"`
	// TimeScale divides Every, for a simulated tenant whose clock runs
	// faster than real time (the dev stack's 1 s = 1 h is 3600).
	TimeScale float64 `yaml:"timeScale,omitempty"`
}

// Interval is the schedule's real interval: Every over TimeScale.
func (w *Watch) Interval() time.Duration {
	every := DefaultWatchEvery
	if w != nil && w.Every != "" {
		if d, err := time.ParseDuration(w.Every); err == nil {
			every = d
		}
	}
	if w != nil && w.TimeScale > 0 {
		every = time.Duration(float64(every) / w.TimeScale)
	}
	return max(every, time.Second)
}

func (w *Watch) validate() []error {
	if w == nil {
		return nil
	}
	var errs []error
	if w.Every != "" {
		if d, err := time.ParseDuration(w.Every); err != nil || d < time.Minute {
			errs = append(errs, fmt.Errorf("watch.every %q: write a duration of at least 1m, e.g. 24h or 6h", w.Every))
		}
	}
	if w.TimeScale < 0 {
		errs = append(errs, fmt.Errorf("watch.timeScale %v: must be positive (or omitted)", w.TimeScale))
	}
	return errs
}
