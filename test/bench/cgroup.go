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

package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// memCgroup is a memory cgroup with a hard limit that the operator runs in
// when the bench is asked for a container's limit. The Go runtime's soft
// limit (GOMEMLIMIT) only asks the collector to work harder; the kernel's
// limit is what OOM-kills a pod, so only a run under it shows that the
// operator fits.
type memCgroup struct {
	dir string
	v2  bool
}

// Where the two cgroup versions mount their memory controller.
const (
	cgroupV2Root = "/sys/fs/cgroup"
	cgroupV1Root = "/sys/fs/cgroup/memory"
)

// newMemCgroup makes a cgroup limited to limit bytes, under the unified
// hierarchy when it has the memory controller and under cgroup v1's memory
// hierarchy otherwise.
func newMemCgroup(limit int64) (*memCgroup, error) {
	name := fmt.Sprintf("aipm-bench-%d", os.Getpid())
	if b, err := os.ReadFile(filepath.Join(cgroupV2Root, "cgroup.controllers")); err == nil &&
		strings.Contains(" "+string(b)+" ", " memory ") {
		c := &memCgroup{dir: filepath.Join(cgroupV2Root, name), v2: true}
		return c, c.create("memory.max", limit)
	}
	if _, err := os.Stat(filepath.Join(cgroupV1Root, "memory.limit_in_bytes")); err != nil {
		return nil, errors.New("no writable memory cgroup (neither v2 at " + cgroupV2Root + " nor v1 at " + cgroupV1Root + ")")
	}
	c := &memCgroup{dir: filepath.Join(cgroupV1Root, name)}
	return c, c.create("memory.limit_in_bytes", limit)
}

func (c *memCgroup) create(limitFile string, limit int64) error {
	if err := os.Mkdir(c.dir, 0o755); err != nil {
		return fmt.Errorf("making memory cgroup: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, limitFile), []byte(strconv.FormatInt(limit, 10)), 0o644); err != nil {
		_ = os.Remove(c.dir)
		return fmt.Errorf("limiting memory cgroup %s: %w", c.dir, err)
	}
	return nil
}

// procs is the file a process writes its pid to, to join the cgroup.
func (c *memCgroup) procs() string { return filepath.Join(c.dir, "cgroup.procs") }

// usage returns the cgroup's memory in use and the most it has used, in
// bytes, as the kernel charges it (anonymous memory and the page cache the
// cgroup's processes brought in).
func (c *memCgroup) usage() (now, peak int64, err error) {
	nowFile, peakFile := "memory.usage_in_bytes", "memory.max_usage_in_bytes"
	if c.v2 {
		nowFile, peakFile = "memory.current", "memory.peak"
	}
	if now, err = readInt(filepath.Join(c.dir, nowFile)); err != nil {
		return 0, 0, err
	}
	peak, err = readInt(filepath.Join(c.dir, peakFile))
	return now, peak, err
}

// oomKills is how many processes the kernel killed in the cgroup for
// going over its limit.
func (c *memCgroup) oomKills() (int64, error) {
	file := "memory.oom_control"
	if c.v2 {
		file = "memory.events"
	}
	f, err := os.Open(filepath.Join(c.dir, file))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), " "); ok && k == "oom_kill" {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, s.Err()
}

// remove deletes the cgroup once its processes have exited.
func (c *memCgroup) remove() { _ = os.Remove(c.dir) }

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}
