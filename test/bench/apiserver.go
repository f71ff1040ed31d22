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
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// apiServer is the envtest kube-apiserver process, found by its port, so
// that the harness can read the CPU time each phase costs it.
type apiServer struct{ pid int }

// findAPIServer finds the kube-apiserver serving cfg.Host among this
// machine's processes.
func findAPIServer(cfg *rest.Config) (*apiServer, error) {
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, err
	}
	port := "--secure-port=" + u.Port()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if !strings.HasSuffix(args[0], "kube-apiserver") {
			continue
		}
		for _, a := range args {
			if a == port {
				pid, _ := strconv.Atoi(filepath.Base(d))
				return &apiServer{pid: pid}, nil
			}
		}
	}
	return nil, fmt.Errorf("no kube-apiserver with %s", port)
}

// clockTicks is the kernel's USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// cpu is the CPU time the API server has used so far, user and system.
func (a *apiServer) cpu() time.Duration {
	if a == nil {
		return 0
	}
	return processCPU(a.pid)
}

// findChild returns the pid of this process's child whose command is name
// (envtest starts etcd and the API server as children), or 0.
func findChild(name string) int {
	for _, pid := range processesNamed(name) {
		if parentOf(pid) == os.Getpid() {
			return pid
		}
	}
	return 0
}

// findProcess returns the pid of a process whose command is name (the
// local cluster's components, of which it runs one each), or 0.
func findProcess(name string) int {
	if pids := processesNamed(name); len(pids) > 0 {
		return pids[0]
	}
	return 0
}

// processesNamed lists the pids of the processes whose command is name.
func processesNamed(name string) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || filepath.Base(strings.Split(string(cmdline), "\x00")[0]) != name {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		pids = append(pids, pid)
	}
	return pids
}

func parentOf(pid int) int {
	fields := statFields(pid)
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// statFields are the fields of /proc/pid/stat after the command name, the
// first being the state (field 3).
func statFields(pid int) []string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	// The command name, field 2, is parenthesised and may hold spaces.
	return strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
}

// processCPU is the CPU time a process has used so far, user and system,
// or 0 for none or a process gone.
func processCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	// utime and stime are fields 14 and 15.
	fields := statFields(pid)
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// cpuProfile saves a CPU profile of the API server over d, read from its
// /debug/pprof with the harness's credentials.
func cpuProfile(ctx context.Context, cfg *rest.Config, d time.Duration, file string) error {
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	c.Timeout = d + 30*time.Second
	u := strings.TrimSuffix(cfg.Host, "/") + "/debug/pprof/profile?seconds=" + strconv.Itoa(int(d.Seconds()))
	return download(ctx, c, u, file)
}
