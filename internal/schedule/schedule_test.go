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
	"testing"
	"time"
)

func mustParse(t *testing.T, spec, tz string) *Schedule {
	t.Helper()
	s, err := Parse(spec, tz)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ spec, tz string }{
		{"* * *", ""}, {"61 * * * *", ""}, {"0 3 * * 1", "Mars/Olympus"}, {"@fortnightly", ""}, {"0 0 0 * *", ""},
		{"@every 1s", ""}, {"TZ=Asia/Tokyo 0 3 * * *", ""}, {"CRON_TZ=UTC @daily", ""}, {"0 3 * * *", "Local"},
	} {
		if _, err := Parse(tc.spec, tc.tz); err == nil {
			t.Errorf("Parse(%q, %q) accepted", tc.spec, tc.tz)
		}
	}
}

func TestNextInTimeZone(t *testing.T) {
	// 03:00 in Berlin is 02:00 UTC in winter and 01:00 UTC in summer.
	s := mustParse(t, "0 3 * * *", "Europe/Berlin")
	if got := s.Next(utc("2026-01-10T12:00:00Z")).UTC(); !got.Equal(utc("2026-01-11T02:00:00Z")) {
		t.Errorf("winter: %v", got)
	}
	if got := s.Next(utc("2026-07-10T12:00:00Z")).UTC(); !got.Equal(utc("2026-07-11T01:00:00Z")) {
		t.Errorf("summer: %v", got)
	}
	// The spring-forward night: 02:30 does not exist in Berlin on 29 March
	// 2026; the next day's 02:30 does.
	s = mustParse(t, "30 2 * * *", "Europe/Berlin")
	if got := s.Next(utc("2026-03-28T12:00:00Z")).UTC(); got.Before(utc("2026-03-29T00:00:00Z")) {
		t.Errorf("spring forward: %v", got)
	}
	if got := mustParse(t, "@daily", "").Next(utc("2026-01-10T12:00:00Z")); !got.Equal(utc("2026-01-11T00:00:00Z")) {
		t.Errorf("@daily: %v", got)
	}
}

func TestDue(t *testing.T) {
	hourly := mustParse(t, "0 * * * *", "")
	tests := []struct {
		name     string
		since    string
		now      string
		deadline time.Duration
		wantDue  string
		wantNext string
	}{
		{"nothing due yet", "2026-01-01T10:00:00Z", "2026-01-01T10:30:00Z", 0, "", "2026-01-01T11:00:00Z"},
		{"the tick itself is due", "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z", 0, "2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z"},
		{"missed ticks collapse to the latest", "2026-01-01T10:00:00Z", "2026-01-01T14:20:00Z", 0, "2026-01-01T14:00:00Z", "2026-01-01T15:00:00Z"},
		{"within the starting deadline", "2026-01-01T10:00:00Z", "2026-01-01T11:04:00Z", 5 * time.Minute, "2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z"},
		{"past the starting deadline is skipped", "2026-01-01T10:00:00Z", "2026-01-01T11:06:00Z", 5 * time.Minute, "", "2026-01-01T12:00:00Z"},
		{"a year of downtime stays bounded", "2025-01-01T00:00:00Z", "2026-01-01T10:30:00Z", 0, "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			due, next := hourly.Due(utc(tt.since), utc(tt.now), tt.deadline)
			if tt.wantDue == "" && due != nil {
				t.Fatalf("due = %v, want none", due)
			}
			if tt.wantDue != "" && (due == nil || !due.Equal(utc(tt.wantDue))) {
				t.Fatalf("due = %v, want %s", due, tt.wantDue)
			}
			if !next.Equal(utc(tt.wantNext)) {
				t.Fatalf("next = %v, want %s", next, tt.wantNext)
			}
		})
	}
}

func TestDueNeverFires(t *testing.T) {
	// February 30th passes admission's cron shape and never comes: Due must
	// say so, not search forever.
	s := mustParse(t, "0 0 30 2 *", "")
	due, next := s.Due(utc("2026-01-01T00:00:00Z"), utc("2030-06-01T00:00:00Z"), 0)
	if due != nil || !next.IsZero() {
		t.Fatalf("due = %v, next = %v; want neither", due, next)
	}
}
