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
package memlimit

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
)

// Reserve is what the soft limit keeps back from the container's limit, for
// what the container is charged but the Go runtime does not count: the
// binary's code and read-only data, of which about 45 MiB are resident once
// the operator has run its paths, thread stacks, and the page cache of what
// it writes. With a tenth kept back instead, a 256Mi container reached its
// limit and was OOM-killed with the runtime still under its own
// (docs/benchmarks.md). A limit above 640 MiB has a tenth of it kept back,
// which is more.
const Reserve = 64 << 20

// Files where// Files where the container's memory limit is read, in order: cgroup v2
// and cgroup v1, each as a container sees its own cgroup at the root of
// its cgroup namespace.
var files = []string{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"}

// unlimited is the smallest value taken as "no limit": cgroup v1 reports
// an absent limit as the largest page-aligned int64.
const unlimited = int64(1) << 62

// Container returns the container's memory limit in bytes read from fsys
// (the root file system), or 0 when there is none.
func Container(fsys fs.FS) (int64, error) {
	for _, name := range files {
		b, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, errors.New(name + ": not a memory limit: " + s)
		}
		if n <= 0 || n >= unlimited {
			return 0, nil
		}
		return n, nil
	}
	return 0, nil
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
