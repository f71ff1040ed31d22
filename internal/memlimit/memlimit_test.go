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

package memlimit

import (
	"errors"
	"math"
	"runtime"
	"testing"

	automemlimit "github.com/KimMachineGun/automemlimit/memlimit"
)

func TestFromCgroup(t *testing.T) {
	const mi = 1 << 20
	broken := errors.New("cgroup unreadable")
	tests := []struct {
		name      string
		container uint64
		err       error
		want      uint64
		wantErr   error
	}{
		{"a 256Mi container keeps the reserve back", 256 * mi, nil, 192 * mi, nil},
		{"no limit stays no limit", 0, automemlimit.ErrNoLimit, 0, automemlimit.ErrNoLimit},
		{"a limit beyond int64 is no limit", math.MaxUint64, nil, 0, automemlimit.ErrNoLimit},
		{"an unreadable cgroup is an error", 0, broken, 0, broken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fromCgroup(func() (uint64, error) { return tt.container, tt.err })()
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Fatalf("fromCgroup() = %d, %v; want %d, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSoftLeavesHeadroom(t *testing.T) {
	const mi = 1 << 20
	tests := []struct {
		name            string
		container, want int64
	}{
		{"no limit", 0, 0},
		{"256Mi keeps back the reserve", 256 * mi, 192 * mi},
		{"512Mi keeps back the reserve", 512 * mi, 448 * mi},
		{"1000Mi keeps back a tenth", 1000 * mi, 900 * mi},
		{"100Mi keeps at least half", 100 * mi, 50 * mi},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Soft(tt.container); got != tt.want {
				t.Fatalf("Soft(%d MiB) = %d MiB, want %d MiB", tt.container/mi, got/mi, tt.want/mi)
			}
		})
	}
}

func TestLiveLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tt := range []struct {
		live uint64
		want int64
	}{
		{0, LiveFloor},
		{16 * mib, LiveFloor},
		{100 * mib, 157 * mib},
		{160 * mib, 232 * mib},
		{400 * mib, 532 * mib},
	} {
		if got := LiveLimit(tt.live); got != tt.want {
			t.Errorf("LiveLimit(%d MiB) = %d MiB, want %d MiB", tt.live/mib, got/mib, tt.want/mib)
		}
	}
}

// The runtime reports a live heap once a collection has run, so the
// tracker has something to follow.
func TestLiveHeapIsMeasured(t *testing.T) {
	keep := make([]byte, 8<<20)
	runtime.GC()
	if live := liveHeap(); live < uint64(len(keep)) {
		t.Errorf("live heap %d bytes, below the %d held", live, len(keep))
	}
	runtime.KeepAlive(keep)
}
