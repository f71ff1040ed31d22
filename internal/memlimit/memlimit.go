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

// Package memlimit gives the Go runtime a soft memory limit just under the
// container's own. Without one the heap may grow to twice what is live
// before a collection, and a fleet's worth of cache, whose live size is well
// under the container's limit, still gets the operator OOM-killed at a peak
// (docs/benchmarks.md). With one, the collector works harder near the
// limit instead.
//
// Finding the limit is automemlimit's: it reads the process's own cgroup,
// v1 or v2, wherever it sits in the hierarchy. What is kept back from it
// is this package's, since a fixed ratio keeps too little in a small
// container and too much in a large one.
package memlimit

import (
	"log/slog"
	"math"

	automemlimit "github.com/KimMachineGun/automemlimit/memlimit"
)

// Reserve is what the soft limit keeps back from the container's limit, for
// what the container is charged but the Go runtime does not count: the
// binary's code and read-only data, resident once the operator has run its
// paths, thread stacks, and the page cache of what
// it writes. With a tenth kept back instead, a 256Mi container reached its
// limit and was OOM-killed with the runtime still under its own
// (docs/benchmarks.md). A limit above 640 MiB has a tenth of it kept back,
// which is more.
const Reserve = 64 << 20

// Set sets the runtime's soft limit from the memory limit of the process's
// cgroup, unless GOMEMLIMIT is set (then the runtime has already taken it)
// or AUTOMEMLIMIT=off. It returns the soft limit in force, 0 when the
// cgroup has no limit.
func Set(logger *slog.Logger) (int64, error) {
	limit, err := automemlimit.Set(
		automemlimit.WithProvider(fromCgroup(automemlimit.FromCgroup)),
		// The provider already keeps the reserve back.
		automemlimit.WithRatio(1),
		automemlimit.WithLogger(logger),
	)
	if limit == math.MaxInt64 {
		return 0, err
	}
	return limit, err
}

// fromCgroup turns a provider of the container's limit into one of the
// soft limit. No limit stays no limit.
func fromCgroup(container automemlimit.Provider) automemlimit.Provider {
	return func() (uint64, error) {
		limit, err := container()
		if err != nil {
			return 0, err
		}
		if limit > math.MaxInt64 {
			return 0, automemlimit.ErrNoLimit
		}
		soft := Soft(int64(limit))
		if soft <= 0 {
			return 0, automemlimit.ErrNoLimit
		}
		return uint64(soft), nil
	}
}

// Soft returns the soft limit for the Go runtime given the container's
// limit, or 0 for none: the limit less the larger of Reserve and a tenth
// of it, and never less than half of it.
func Soft(container int64) int64 {
	if container <= 0 {
		return 0
	}
	return max(container-max(Reserve, container/10), container/2)
}
