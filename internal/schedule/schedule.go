/*
Copyright 2026 The aipm-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package schedule does the cron arithmetic of retraining, the way the
// CronJob controller does it: the standard five fields or a macro, an
// optional IANA time zone, and a starting deadline past which a missed tick
// is skipped.
package schedule

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed cron schedule in a time zone.
type Schedule struct {
	sched cron.Schedule
	loc   *time.Location
}

// Parse reads a schedule and an optional time zone (UTC when empty).
func Parse(spec, timeZone string) (*Schedule, error) {
	loc := time.UTC
	if timeZone != "" {
		l, err := time.LoadLocation(timeZone)
		if err != nil {
			return nil, fmt.Errorf("unknown time zone %q", timeZone)
		}
		loc = l
	}
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %q: %w", spec, err)
	}
	return &Schedule{sched: s, loc: loc}, nil
}

// Next is the first tick strictly after t.
func (s *Schedule) Next(t time.Time) time.Time {
	return s.sched.Next(t.In(s.loc))
}

// Due returns the most recent tick in (since, now], if there is one and it
// is not older than deadline (zero: no deadline), and the first tick after
// now. since is the last tick acted on, or the time the schedule started to
// apply. Older missed ticks are dropped: one run answers them all.
func (s *Schedule) Due(since, now time.Time, deadline time.Duration) (due *time.Time, next time.Time) {
	next = s.Next(now)
	last := s.latest(since, now)
	if last.IsZero() || (deadline > 0 && now.Sub(last) > deadline) {
		return nil, next
	}
	return &last, next
}

// latest finds the last tick in (since, now] without walking every missed
// tick: it looks back over a window that doubles until it holds a tick, so
// an every-minute schedule after a year of downtime costs a few dozen steps.
func (s *Schedule) latest(since, now time.Time) time.Time {
	for d := time.Minute; ; d *= 2 {
		from := now.Add(-d)
		if !from.After(since) {
			from = since
		}
		t := s.Next(from)
		if !t.After(now) {
			for n := s.Next(t); !n.After(now); n = s.Next(n) {
				t = n
			}
			return t
		}
		if from.Equal(since) {
			return time.Time{}
		}
	}
}
