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

package controller

import (
	"testing"
	"time"
)

// A breach recorded at 10:00:26 with a for of 3s is due at 10:00:29,
// whenever the reconcile that recorded it started and however long it took.
func TestRequeueLandsOnTheDueTime(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 26, 0, time.UTC)
	tests := []struct {
		name  string
		wait  time.Duration
		clock time.Time
		want  time.Duration
	}{
		{"returns at once, on the second", 3 * time.Second, now, 3 * time.Second},
		{"started 0.9s into the second", 3 * time.Second, now.Add(900 * time.Millisecond), 2100 * time.Millisecond},
		{"a status write took 2s", 3 * time.Second, now.Add(2*time.Second + 400*time.Millisecond), 600 * time.Millisecond},
		{"returns after the due time", 3 * time.Second, now.Add(4 * time.Second), time.Millisecond},
		{"nothing due", 0, now.Add(time.Second), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := untilDue(tt.wait, now, tt.clock)
			if got != tt.want {
				t.Errorf("untilDue = %v, want %v", got, tt.want)
			}
			if tt.wait > 0 && tt.want > time.Millisecond && !tt.clock.Add(got).Equal(now.Add(tt.wait)) {
				t.Errorf("wakes at %v, due at %v", tt.clock.Add(got), now.Add(tt.wait))
			}
		})
	}
}
