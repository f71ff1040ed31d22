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
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"
)

// The targets on this 2-core machine.
const (
	targetRatio = 1.5
	// targetFreeRatio is against the unthrottled limit, at 5,000 products
	// and above, where the operator and the API server share the cores.
	targetFreeRatio = 1.2
	targetRSSFleet  = 5000
	targetReaction  = time.Second
)

// targetRSS is the most the operator's resident set may reach with no
// memory limit set, for a fleet of n products, or 0 where no target is set.
func targetRSS(n int) int64 {
	switch {
	case n >= 10000:
		return 512 << 20
	case n >= targetRSSFleet:
		return 256 << 20
	}
	return 0
}

// renderCurve sets the fleet sizes of one run side by side, each cost per
// product, so that how they grow with the fleet shows.
func renderCurve(rs []*result) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("### Scale curve\n\n")
	w("| products | all Ready | ratio to limit / unthrottled | operator writes / product | API server CPU / product | " +
		"operator CPU / product | heap in use / product | RSS end / peak | steady writes | drift / pause reaction (max) |\n")
	w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rs {
		n := float64(r.n)
		_, writes := r.converge.total()
		_, steady := r.steady.total()
		free := "-"
		if r.freeLimit > 0 {
			free = fmt.Sprintf("%.2f", r.ready.Seconds()/r.freeLimit.Seconds())
		}
		w("| %d | %s | %.2f / %s | %.2f | %.1f ms | %.1f ms | %.1f KiB | %s / %s | %d | %s / %s |\n",
			r.n, secs(r.ready), r.ready.Seconds()/r.limit.Seconds(), free, float64(writes)/n,
			1000*r.readyAPICPU.Seconds()/n, 1000*r.readyCPU.operator.Seconds()/n, r.heapInuse/n/1024,
			mib(float64(r.rss)), mib(float64(r.peakRSS)), steady, ms(r.drift.max()), ms(r.pause.max()))
	}
	w("\n")
	return b.String()
}

func renderHeader(o options, started time.Time, sizes string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("## Run of %s\n\n", started.Format("2006-01-02 15:04 MST"))
	w("- machine: %d cores, %s memory; %s; operator built from %s\n", runtime.NumCPU(), memTotal(), goVersion(), revision())
	w("- command: `go run ./test/bench -n %s` (operator: --kube-api-qps %g --kube-api-burst %d --workers %d --version-workers %d; "+
		"fleet interval %s, steady window %s, %d probes each, plain client with %d writers; the harness at GOGC %d)\n",
		sizes, o.operator.QPS, o.operator.Burst, o.operator.Workers, o.operator.VersionWorkers, o.interval, o.window, o.probes, o.limitWorkers,
		o.harnessGOGC)
	switch {
	case o.operator.MemoryLimit > 0:
		w("- operator run in a memory cgroup limited to %s, as in a container: the kernel OOM-kills it above that, "+
			"and it sets its soft limit itself from its cgroup's (GOMEMLIMIT unset)\n", o.containerMemory)
	case o.operator.GoMemLimit > 0:
		w("- operator run with the soft limit of a container limited to %s, but not in a cgroup: GOMEMLIMIT=%d (%d MiB)\n",
			o.containerMemory, o.operator.GoMemLimit, o.operator.GoMemLimit>>20)
	default:
		w("- operator run without a memory limit (no cgroup, no GOMEMLIMIT): its soft limit follows its live heap (internal/memlimit)\n")
	}
	w("- versions applied with their product label: %t\n", o.labelVersions)
	w("- objectives and drift checks as fleet queries (matchLabels): %t\n\n", o.fleetQueries)
	return b.String()
}

func renderOne(r *result) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	n := float64(r.n)
	convAll, convWrites := r.converge.total()
	steadyAll, steadyWrites := r.steady.total()
	ratio := r.ready.Seconds() / r.limit.Seconds()
	intervals := r.steadyWindow.Seconds() / r.interval.Seconds()

	w("### N = %d products, %d ModelVersions\n\n", r.n, r.n*versionsPerProduct)
	w("Load average (1, 5, 15 min): %s before, %s after.\n\n", r.loadBefore, r.loadAfter)
	w("| figure | value | target | met |\n| --- | --- | --- | --- |\n")
	w("| apply of the fleet by the harness (before the operator starts) | %s | | |\n", secs(r.apply))
	w("| operator start to all products Ready | %s | | |\n", secs(r.ready))
	settled := secs(r.settle)
	if !r.settled {
		settled += " (still writing at the timeout)"
	}
	w("| operator start to its last write (settled) | %s | | |\n", settled)
	w("| plain-client limit: %d writes at the same QPS and burst | %s | | |\n", r.limitWrites, secs(r.limit))
	w("| API server CPU: plain-client limit / operator start to all Ready | %.0f s / %.0f s (%.0f%% / %.0f%% of a core) | | |\n",
		r.limitAPICPU.Seconds(), r.readyAPICPU.Seconds(),
		100*r.limitAPICPU.Seconds()/max(r.limit.Seconds(), 0.001), 100*r.readyAPICPU.Seconds()/max(r.ready.Seconds(), 0.001))
	w("| CPU from the operator's start to all Ready: API server / etcd / operator / harness (of %d cores × %s) | %.0f s / %.0f s / %.0f s / %.0f s | | |\n",
		runtime.NumCPU(), secs(r.ready), r.readyAPICPU.Seconds(), r.readyCPU.etcd.Seconds(), r.readyCPU.operator.Seconds(), r.readyCPU.harness.Seconds())
	w("| **ratio: all Ready / limit** | **%.2f** | ≤ %.1f | %s |\n", ratio, targetRatio, met(ratio <= targetRatio))
	if r.freeLimit > 0 {
		free := r.ready.Seconds() / r.freeLimit.Seconds()
		w("| plain-client limit unthrottled (no client-side rate limit): %d writes | %s | | |\n", r.freeLimitWrites, secs(r.freeLimit))
		w("| API server CPU during it | %.0f s (%.0f%% of a core) | | |\n",
			r.freeLimitAPICPU.Seconds(), 100*r.freeLimitAPICPU.Seconds()/max(r.freeLimit.Seconds(), 0.001))
		freeTarget, freeMet := "", ""
		if r.n >= targetRSSFleet {
			freeTarget, freeMet = fmt.Sprintf("≤ %.1f", targetFreeRatio), met(free <= targetFreeRatio)
		}
		w("| **ratio: all Ready / unthrottled limit** | **%.2f** | %s | %s |\n", free, freeTarget, freeMet)
	}
	if r.writtenLimit > 0 {
		w2 := r.ready.Seconds() / r.writtenLimit.Seconds()
		w("| the limit again after the operator, writing back the statuses it wrote: %d writes | %s | | |\n", r.writtenLimitWrites, secs(r.writtenLimit))
		w("| API server CPU during it | %.0f s (%.0f%% of a core) | | |\n",
			r.writtenLimitAPICPU.Seconds(), 100*r.writtenLimitAPICPU.Seconds()/max(r.writtenLimit.Seconds(), 0.001))
		w("| ratio: all Ready / the limit with the operator's statuses | %.2f | | |\n", w2)
	}
	w("| operator API requests per product to converge (all / writes) | %.2f / %.2f | | |\n", float64(convAll)/n, float64(convWrites)/n)
	w("| failed operator requests to converge | %s | | |\n", failures(r.convergeFailed))
	w("| operator writes per product in steady state (%s window) | %.3f | 0 | %s |\n", secs(r.steadyWindow),
		float64(steadyWrites)/n, met(steadyWrites == 0))
	w("| operator requests per product in steady state (all verbs) | %.3f | | |\n", float64(steadyAll)/n)
	w("| Prometheus queries per product per interval (%s) | %.4f (%d queries in the window) | | |\n",
		r.interval, float64(r.promQueries)/n/intervals, r.promQueries)
	w("| Prometheus connections opened: to settle / in the steady-state window | %d / %d | | |\n", r.promConns, r.promConnsSteady)
	rssTarget, rssMet := "", ""
	if limit := targetRSS(r.n); limit > 0 {
		rssTarget, rssMet = fmt.Sprintf("< %d MiB", limit>>20), met(r.rss < limit && r.peakRSS < limit)
	}
	w("| operator RSS at the end / peak (separate process) | %s / %s | %s | %s |\n", mib(float64(r.rss)), mib(float64(r.peakRSS)), rssTarget, rssMet)
	w("| operator RSS at the end: anonymous / file-backed (the binary) | %s / %s | | |\n", mib(float64(r.rssAnon)), mib(float64(r.rssFile)))
	if r.cgroupPeak > 0 {
		w("| memory the kernel charged to the operator's cgroup at the end / peak (its limit: %s) | %s / %s | | |\n",
			mib(float64(r.cgroupLimit)), mib(float64(r.cgroupNow)), mib(float64(r.cgroupPeak)))
	}
	w("| operator Go heap in use / allocated at the end | %s / %s | | |\n", mib(r.heapInuse), mib(r.heapAlloc))
	if r.goMemLimit > 0 && r.goMemLimit < math.MaxInt64 {
		w("| operator's soft memory limit in force (GOMEMLIMIT) | %s | | |\n", mib(r.goMemLimit))
	} else {
		w("| operator's soft memory limit in force (GOMEMLIMIT) | none | | |\n")
	}
	w("| Go runtime at the end: heap idle not returned / stacks / runtime metadata | %s / %s / %s | | |\n",
		mib(r.heapIdle), mib(r.stacks), mib(r.runtimeMeta))
	w("| a scrape of the operator's /metrics at the end: series / time (protobuf) | %d / %s | | |\n", r.scrapeSeries, r.scrapeTime.Round(time.Millisecond))
	w("| operator goroutines when all Ready / at the end | %.0f / %.0f | | |\n", r.goroutinesAtReady, r.goroutines)
	for _, c := range controllers {
		lc, ls := r.reconcileConverge[c], r.reconcileSteady[c]
		w("| reconcile latency p50 / p99, %s: converging (%.0f reconciles) | %s / %s | | |\n", c, lc.count, ms(lc.p50), ms(lc.p99))
		w("| reconcile latency p50 / p99, %s: steady state (%.0f reconciles) | %s / %s | | |\n", c, ls.count, ms(ls.p50), ms(ls.p99))
	}
	w("| drift breach sustained to retraining Job: median / max of %d | %s | < 1 s | %s |\n",
		len(r.drift), reactionCell(r.drift, r.driftErr), met(r.driftErr == "" && r.drift.max() < targetReaction))
	w("| pause end to next weight in status: median / max of %d | %s | < 1 s | %s |\n",
		len(r.pause), reactionCell(r.pause, r.pauseErr), met(r.pauseErr == "" && r.pause.max() < targetReaction))
	w("| a Ready product / its served version as stored (JSON; of it managedFields) | %s / %s | | |\n", r.sizes.product, r.sizes.version)
	w("| harness writes (apply, stand-in Deployment controller, probes) | %d | | |\n\n", r.harnessWrites)

	w("Operator requests per product to converge, by verb and resource:\n\n")
	w("| request | per product | total |\n| --- | --- | --- |\n")
	for _, k := range r.converge.sorted() {
		w("| %s | %.2f | %d |\n", k, float64(r.converge[k])/n, r.converge[k])
	}
	if len(r.steady) > 0 {
		w("\nOperator requests in the steady-state window:\n\n| request | per product | total |\n| --- | --- | --- |\n")
		for _, k := range r.steady.sorted() {
			w("| %s | %.3f | %d |\n", k, float64(r.steady[k])/n, r.steady[k])
		}
	}
	w("\nThe plain client's requests:\n\n| request | total |\n| --- | --- |\n")
	for _, k := range r.limitCounts.sorted() {
		w("| %s | %d |\n", k, r.limitCounts[k])
	}
	w("\n")
	return b.String()
}

func reactionCell(r reactions, failed string) string {
	if failed != "" {
		return "not measured: " + strings.ReplaceAll(failed, "|", "/")
	}
	return ms(r.quantile(0.5)) + " / " + ms(r.max())
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func mib(bytes float64) string { return fmt.Sprintf("%.0f MiB", bytes/(1<<20)) }

func failures(f map[int]int) string {
	if len(f) == 0 {
		return "none"
	}
	codes := make([]int, 0, len(f))
	for c := range f {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d × HTTP %d", f[c], c))
	}
	return strings.Join(parts, ", ")
}

func memTotal() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		var kb int64
		if _, err := fmt.Sscanf(s.Text(), "MemTotal: %d kB", &kb); err == nil {
			return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}

func goVersion() string { return runtime.Version() }

// revision names the commit the operator was built from, and whether the
// working tree differed from it.
func revision() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "an unknown revision"
	}
	return "commit " + strings.TrimSpace(string(out))
}
