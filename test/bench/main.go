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

// Command bench measures the operator at scale and compares it with the
// API server's own limit, in one run (issue 8). For each fleet size N it
// starts its own control plane (etcd and kube-apiserver from bin/, nothing
// else), applies N AIProducts asking for Delivery with three ModelVersions
// each, starts the real operator binary as its own process behind a
// counting proxy, and reports:
//
//   - the time from the operator's start (after the last apply) to every
//     product Ready, and to its last write;
//   - the operator's API requests per product, by verb and resource, to
//     converge, and its writes per product in a steady-state window;
//   - its RSS and Go heap, and reconcile latency per controller;
//   - Prometheus queries per product per interval;
//   - reaction times: drift breach sustained to retraining Job, and pause
//     end to the next step's weight;
//   - the limit: a plain client with the operator's QPS and burst making
//     exactly the writes the operator must make, on the same API server,
//     and the ratio of the two times.
//
// Run it from the repository root: go run ./test/bench -n 100,1000,5000.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/aipm-io/aipm-operator/internal/memlimit"
)

func main() {
	// go run ./test/bench peer ...: the operator beside Argo Rollouts
	// (peer.go), on the local cluster rather than a control plane of its own.
	if len(os.Args) > 1 && os.Args[1] == "peer" {
		peerMain(os.Args[2:])
		return
	}
	var (
		sizes = flag.String("n", "100,1000,5000", "Comma-separated fleet sizes to measure.")
		out   = flag.String("out", "", "Also write the report (markdown) to this file.")
		o     options
	)
	flag.StringVar(&o.assets, "assets", envOr("KUBEBUILDER_ASSETS", "bin/k8s/v1.37.2"),
		"Directory holding etcd and kube-apiserver (make control-plane builds them).")
	flag.StringVar(&o.crds, "crds", "config/crd/bases", "Directory of the operator's CRDs.")
	flag.StringVar(&o.operatorBin, "operator-bin", "", "A manager binary to measure instead of one built from ./cmd.")
	flag.StringVar(&o.logDir, "logs", "bin/bench", "Directory for the operator's log of each run (operator-N.log).")
	// The operator's own defaults (cmd/main.go); the plain client of the
	// limit uses the same QPS and burst.
	flag.Float64Var(&o.operator.QPS, "kube-api-qps", 100, "The operator's --kube-api-qps, and the plain client's QPS.")
	flag.IntVar(&o.operator.Burst, "kube-api-burst", 200, "The operator's --kube-api-burst, and the plain client's burst.")
	flag.IntVar(&o.operator.Workers, "workers", 32, "The operator's --workers.")
	flag.IntVar(&o.operator.VersionWorkers, "version-workers", 4, "The operator's --version-workers.")
	flag.StringVar(&o.containerMemory, "container-memory", "",
		"Run the operator as in a container with this memory limit (such as 256Mi), from which it sets its own soft "+
			"limit (internal/memlimit). Empty: no limit, the Go runtime's defaults.")
	flag.BoolVar(&o.containerCgroup, "container-cgroup", true,
		"With -container-memory, also run the operator in a memory cgroup of that limit (cgroup v2 or v1, which must be writable), "+
			"so that the kernel OOM-kills it if it needs more, as in a pod; false sets GOMEMLIMIT to the soft limit instead.")
	flag.DurationVar(&o.interval, "interval", time.Minute, "Objective evaluation and drift monitoring interval of the fleet.")
	flag.DurationVar(&o.window, "steady-window", time.Minute, "How long the steady state is watched; at least one interval.")
	flag.DurationVar(&o.quiet, "quiet", 5*time.Second, "How long without an operator write counts as settled.")
	flag.DurationVar(&o.timeout, "timeout", 45*time.Minute, "How long to wait for a fleet to become Ready, and then to settle.")
	flag.IntVar(&o.probes, "probes", 5, "Products per reaction-time probe.")
	flag.IntVar(&o.limitWorkers, "limit-workers", 16, "Concurrent writers of the plain client.")
	flag.BoolVar(&o.writtenLimit, "written-limit", true,
		"After the operator, run the limit again writing back the statuses the operator wrote, and report the ratio to it too.")
	flag.BoolVar(&o.freeLimit, "unthrottled-limit", true,
		"Also run the limit with the plain client unthrottled (no client-side rate limit), so that the API server bounds it, "+
			"and report the operator's ratio to it too.")
	flag.IntVar(&o.seedWorkers, "apply-workers", 16, "Concurrent writers applying the fleet.")
	flag.BoolVar(&o.labelVersions, "label-versions", true,
		"Apply versions with their product label; without it the operator adds the label with one more write per version.")
	flag.BoolVar(&o.fleetQueries, "fleet-queries", true,
		"Write the fleet's objectives and drift checks as fleet queries (matchLabels), one Prometheus query serving every product; false queries product by product.")
	flag.DurationVar(&o.apiProfile, "apiserver-cpuprofile", 0,
		"Take a CPU profile of the API server for this long, a minute into the operator's convergence (bin/bench/apiserver-cpu-N.pprof).")
	flag.IntVar(&o.harnessGOGC, "harness-gogc", 400,
		"GOGC of the bench process itself (the harness): its collector shares the machine's cores with the operator and the API server.")
	flag.DurationVar(&o.cpuProfile, "cpuprofile", 0,
		"Take CPU profiles of the API server, the operator and the harness together for this long, a minute into the operator's convergence "+
			"(bin/bench/{apiserver,operator,harness}-cpu-N.pprof).")
	zopts := zap.Options{}
	zopts.BindFlags(flag.CommandLine)
	flag.Parse()
	// The harness is the measurement, not what is measured: it keeps every
	// product in its cache and decodes each of their writes, and its
	// collector took a large share of its CPU under the default GOGC. Memory is
	// plentiful here; the cores are what the operator and the API server
	// share with it.
	debug.SetGCPercent(o.harnessGOGC)
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zopts), zap.WriteTo(os.Stderr)))

	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("bad fleet size %q", s)
		}
		ns = append(ns, n)
	}
	if o.containerMemory != "" {
		q, err := resource.ParseQuantity(o.containerMemory)
		if err != nil || q.Value() <= 0 {
			log.Fatalf("bad -container-memory %q", o.containerMemory)
		}
		// In a cgroup the operator reads the limit itself, as in a pod;
		// outside one it is told the soft limit it would have set.
		if o.containerCgroup {
			o.operator.MemoryLimit = q.Value()
		} else {
			o.operator.GoMemLimit = memlimit.Soft(q.Value())
		}
	}
	if o.window < o.interval {
		log.Fatalf("the steady-state window (%s) must cover one interval (%s)", o.window, o.interval)
	}
	var err error
	if o.assets, err = filepath.Abs(o.assets); err != nil {
		log.Fatal(err)
	}

	o.workDir, err = os.MkdirTemp("", "aipm-bench-")
	if err != nil {
		log.Fatal(err)
	}
	// log.Fatal skips deferred calls: from here on a failure (an interrupt
	// too) removes the working directory, and the operator built in it, first.
	fatalf := func(format string, v ...any) {
		_ = os.RemoveAll(o.workDir)
		log.Fatalf(format, v...)
	}
	defer func() { _ = os.RemoveAll(o.workDir) }()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if o.operatorBin == "" {
		log.Printf("building the operator")
		if o.operatorBin, err = buildOperator(ctx, o.workDir); err != nil {
			fatalf("%v", err)
		}
	}

	// Each fleet size's section is written as soon as it is measured, so
	// that a later failure does not take the earlier figures with it.
	var report string
	emit := func(section string) {
		fmt.Print(section)
		report += section
		if *out != "" {
			if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
				fatalf("%v", err)
			}
		}
	}
	emit(renderHeader(o, time.Now(), *sizes))
	var results []*result
	for _, n := range ns {
		res, err := runOnce(ctx, o, n)
		if err != nil {
			fatalf("N=%d: %v", n, err)
		}
		results = append(results, res)
		emit(renderOne(res))
	}
	if len(results) > 1 {
		emit(renderCurve(results))
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
