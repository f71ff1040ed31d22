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
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Without a container limit the runtime's only bound is GOGC: the heap may
// grow to twice what is live before a collection, and an operator run on a
// laptop or a VM with a fleet in its cache holds twice its live set. The
// live heap, measured by the runtime after each collection, is the cache
// plus what a reconcile holds; a soft limit kept a margin above it bounds
// the heap near what the operator needs, and follows the cache as the fleet
// grows or shrinks.

// Live limit parameters: the limit is Ratio times the live heap plus
// Headroom, never below Floor; it is set again every Interval.
const (
	LiveRatio    = 1.25
	LiveHeadroom = 32 << 20
	LiveFloor    = 64 << 20
	LiveInterval = 5 * time.Second
)

// LiveLimit is the soft limit for a live heap of live bytes. A quarter of
// the live heap, plus 32 MiB for what reconciles allocate and drop between
// collections, keeps the collector from running back to back (its CPU is
// capped at half the process's when the limit binds), while the heap
// stays well under the two times live that GOGC alone would allow.
func LiveLimit(live uint64) int64 {
	return max(LiveFloor, int64(float64(live)*LiveRatio)+LiveHeadroom)
}

// liveHeap is the runtime's live heap after the last collection.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// FollowLive keeps the runtime's soft limit at LiveLimit of the live heap
// until ctx ends. Call it only when no other limit is in force (Set found
// no container limit, no GOMEMLIMIT): it replaces the limit.
func FollowLive(ctx context.Context) {
	t := time.NewTicker(LiveInterval)
	defer t.Stop()
	for {
		if live := liveHeap(); live > 0 {
			debug.SetMemoryLimit(LiveLimit(live))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
