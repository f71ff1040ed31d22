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

package schedule

import (
	"strings"
	"testing"
	"time"
)

// zones are picked by index as well as given as text, so that the fuzzer
// spends its time in real zones: half-hour and 45-minute offsets, DST at
// midnight, a two-hour DST, and a country that skipped a day.
var zones = []string{"", "UTC", "Europe/Berlin", "America/New_York", "America/Sao_Paulo", "America/Havana",
	"America/Santiago", "Asia/Beirut", "Asia/Tehran", "Africa/Cairo", "Australia/Lord_Howe", "Pacific/Chatham",
	"Asia/Kathmandu", "America/St_Johns", "Pacific/Apia", "Pacific/Kiritimati", "Antarctica/Troll", "Europe/Dublin"}

// epoch bounds the fuzzed times to 1990..2150: a product's lifetime, not
// the year 292 billion where time arithmetic saturates.
var epoch = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

const span = int64(160 * 365 * 24 * time.Hour / time.Second)

func clampSeconds(s int64) time.Duration {
	if s < 0 {
		s = -s
	}
	if s < 0 { // math.MinInt64
		s = 0
	}
	return time.Duration(s%span) * time.Second
}

// FuzzSchedule parses arbitrary schedules and time zones and checks Due's
// contract for any pair of times: no hang, no panic, the tick it returns is
// in (since, now] and the latest one there, the next tick is after now, and
// a starting deadline is honoured.
func FuzzSchedule(f *testing.F) {
	for _, s := range []struct {
		spec, tz        string
		zone            uint8
		since, elapsed  int64
		deadlineSeconds int64
	}{
		{"0 3 * * 1", "Europe/Berlin", 0, 1_000_000_000, 86400 * 10, 0},
		{"@daily", "", 5, 1_200_000_000, 86400 * 400, 300},
		{"*/5 * * * *", "", 10, 1_700_000_000, 3600, 60},
		{"30 2 * * *", "", 2, 1_774_000_000, 86400 * 3, 0},
		{"0 0 30 2 *", "", 0, 1_700_000_000, 86400, 0}, // February 30th never comes
		{"0 0 31 4,6,9,11 *", "", 0, 1_700_000_000, 86400 * 800, 0},
		{"59 23 31 12 *", "", 14, 1_300_000_000, 86400 * 2000, 0},
		{"0 0 * * 0", "", 4, 1_500_000_000, 86400 * 40, 0},
		{"@every 1s", "", 0, 1_700_000_000, 60, 0},
		{"TZ=Asia/Tokyo 0 3 * * *", "", 0, 1_700_000_000, 86400, 0},
		{"0 3 * * *", "Local", 0, 1_700_000_000, 86400, 0},
		{"0-59/0 * * * *", "", 0, 1_700_000_000, 60, 0},
		{"0 0 1 1 *", "../../../etc/passwd", 0, 1_700_000_000, 60, 0},
	} {
		f.Add(s.spec, s.tz, s.zone, s.since, s.elapsed, s.deadlineSeconds)
	}
	f.Fuzz(func(t *testing.T, spec, tz string, zone uint8, sinceSeconds, elapsedSeconds, deadlineSeconds int64) {
		if zone != 0 {
			tz = zones[int(zone)%len(zones)]
		}
		s, err := Parse(spec, tz)
		if err != nil {
			return
		}
		// Parse refuses what admission refuses, so that an object written
		// around the API server's validation cannot schedule more than a
		// CronJob could.
		if strings.Contains(spec, "TZ=") || strings.HasPrefix(strings.TrimSpace(spec), "@every") || strings.EqualFold(tz, "Local") {
			t.Fatalf("Parse(%q, %q) accepted what admission refuses", spec, tz)
		}
		since := epoch.Add(clampSeconds(sinceSeconds))
		now := since.Add(clampSeconds(elapsedSeconds) % (50 * 365 * 24 * time.Hour))
		deadline := clampSeconds(deadlineSeconds) % (30 * 24 * time.Hour)

		type answer struct {
			due  *time.Time
			next time.Time
		}
		done := make(chan answer, 1)
		go func() {
			due, next := s.Due(since, now, deadline)
			done <- answer{due, next}
		}()
		var a answer
		select {
		case a = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Due(%q in %q, %v, %v) did not return", spec, tz, since, now)
		}

		if !a.next.IsZero() && !a.next.After(now) {
			t.Fatalf("%q in %q: next tick %v is not after now %v", spec, tz, a.next, now)
		}
		if !a.next.IsZero() && !a.next.Equal(s.Next(now)) {
			t.Fatalf("%q in %q: next %v, Next(now) %v", spec, tz, a.next, s.Next(now))
		}
		if a.due == nil {
			// Nothing due: either no tick in (since, now], or the latest
			// one is older than the deadline.
			if first := s.Next(since); deadline == 0 && !first.IsZero() && !first.After(now) {
				t.Fatalf("%q in %q: tick %v is in (%v, %v] but nothing is due", spec, tz, first, since, now)
			}
			return
		}
		due := *a.due
		if !due.After(since) || due.After(now) {
			t.Fatalf("%q in %q: due tick %v is not in (%v, %v]", spec, tz, due, since, now)
		}
		if later := s.Next(due); !later.IsZero() && !later.After(now) {
			t.Fatalf("%q in %q: due tick %v is not the latest: %v is too", spec, tz, due, later)
		}
		if deadline > 0 && now.Sub(due) > deadline {
			t.Fatalf("%q in %q: due tick %v is older than the deadline %v at %v", spec, tz, due, deadline, now)
		}
	})
}
