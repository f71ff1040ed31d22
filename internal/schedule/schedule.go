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
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed cron schedule in a time zone.
type Schedule struct {
	sched cron.Schedule
	loc   *time.Location
}

// Parse reads a schedule and an optional time zone (UTC when empty). It
// refuses what the API refuses at admission and robfig/cron would still
// take: a TZ= prefix (the zone has its own field), @every (a schedule is a
// cron line, not a rate) and the operator's own Local zone.
func Parse(spec, timeZone string) (*Schedule, error) {
	trimmed := strings.TrimSpace(spec)
	switch {
	case strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ="):
		return nil, fmt.Errorf("invalid schedule %q: set the time zone in timeZone, not in the schedule", spec)
	case strings.HasPrefix(trimmed, "@every"):
		return nil, fmt.Errorf("invalid schedule %q: @every is not a cron schedule", spec)
	case timeZone == "Local":
		return nil, fmt.Errorf("unknown time zone %q: name an IANA zone", timeZone)
	}
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

// Next is the first tick strictly after t, or the zero time when there is
// none within five years (robfig/cron's horizon): February 30th never
// comes, and February 29th on a Monday comes once in decades.
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
// A zero Next means no tick within five years of the window's start, not
// the end of the search: the window grows until it reaches since.
func (s *Schedule) latest(since, now time.Time) time.Time {
	gap := now.Sub(since) // saturates, so the loop ends even for year 1
	if gap <= 0 {
		return time.Time{}
	}
	for d := time.Minute; ; d *= 2 {
		from := since
		if d > 0 && d < gap {
			from = now.Add(-d)
		}
		t := s.Next(from)
		if !t.IsZero() && !t.After(now) {
			for n := s.Next(t); !n.IsZero() && !n.After(now); n = s.Next(n) {
				t = n
			}
			return t
		}
		if from.Equal(since) {
			return time.Time{}
		}
	}
}
