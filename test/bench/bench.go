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
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

const (
	fleetNS = "bench"
	probeNS = "bench-probe"
)

// options are the benchmark's settings, the same for every fleet size.
type options struct {
	assets, crds, workDir, logDir, operatorBin string
	operator                                   operatorSettings
	interval, window, quiet, timeout           time.Duration
	probes, limitWorkers, seedWorkers          int
	labelVersions                              bool
	fleetQueries                               bool
	// apiProfile, when set, is how long a CPU profile of the API server is
	// taken for, starting a minute into the operator's convergence.
	apiProfile time.Duration
	// cpuProfile, when set, profiles the API server, the operator and the
	// harness together: on two cores they share, what each one spends is
	// time the others wait.
	cpuProfile      time.Duration
	harnessGOGC     int
	containerMemory string
	containerCgroup bool
	writtenLimit    bool
	freeLimit       bool
}

// latency is a controller's reconcile count and latency quantiles.
type latency struct {
	count    float64
	p50, p99 time.Duration
}

// result is everything measured for one fleet size.
type result struct {
	n                          int
	loadBefore, loadAfter      string
	apply                      time.Duration
	ready, settle              time.Duration
	settled                    bool
	converge                   counts
	convergeFailed             map[int]int
	steady                     counts
	steadyWindow               time.Duration
	promQueries                int
	promConns, promConnsSteady int
	interval                   time.Duration
	reconcileConverge          map[string]latency
	reconcileSteady            map[string]latency
	drift, pause               reactions
	driftErr, pauseErr         string
	rss, peakRSS               int64
	rssAnon, rssFile           int64
	// cgroupNow and cgroupPeak are the memory the kernel charged to the
	// operator's cgroup at the end and at most, with -container-memory.
	cgroupNow, cgroupPeak, cgroupLimit int64
	// scrapeSeries and scrapeTime are the series in a scrape of the
	// operator's /metrics at the end and how long the scrape took.
	scrapeSeries int
	scrapeTime   time.Duration
	// heapIdle is heap memory the runtime holds but has neither in use nor
	// returned to the kernel; stacks and runtimeMeta (span, GC and other
	// runtime metadata) complete what the Go runtime holds.
	heapIdle, stacks, runtimeMeta float64
	// limitAPICPU and readyAPICPU are the API server's CPU time during the
	// limit and from the operator's start to all Ready (the harness's
	// stand-in Deployment controller included).
	limitAPICPU, readyAPICPU time.Duration
	// writtenLimit is the limit run again after the operator, writing
	// back the statuses the operator wrote (runWrittenLimit).
	writtenLimit, writtenLimitAPICPU time.Duration
	// freeLimit is the limit with the plain client unthrottled: what the
	// API server, sharing the machine with the harness, can take.
	freeLimit, freeLimitAPICPU time.Duration
	freeLimitWrites            int
	writtenLimitWrites         int
	// readyCPU is the CPU time each process of the run used from the
	// operator's start to all Ready: what the machine's cores went to.
	readyCPU             struct{ etcd, operator, harness time.Duration }
	heapInuse, heapAlloc float64
	// goMemLimit is the soft memory limit in force in the operator
	// (go_gc_gomemlimit_bytes); math.MaxInt64 is none.
	goMemLimit                    float64
	goroutines, goroutinesAtReady float64
	limit                         time.Duration
	limitWrites                   int
	limitCounts                   counts
	harnessWrites                 int
	// sizes are those of a converged product and version (saveSamples).
	sizes samples
}

var controllers = []string{"aiproduct", "modelversion"}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := lifecyclev1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// startControlPlane starts etcd and kube-apiserver from the repository's
// binaries with the operator's CRDs, and nothing else: only the operator
// and the harness load it.
func startControlPlane(o options) (*envtest.Environment, *rest.Config, error) {
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{o.crds},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: o.assets,
	}
	// envtest's default service range of 254 addresses cannot hold a
	// Service per product.
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.96.0.0/12")
	// The watch cache's consistency check (on by default since 1.34) lists
	// every object of every resource from etcd 5 to 7.5 minutes after the
	// start and then as often: a fifth of the API server's CPU in a profile
	// of a 5,000-product convergence, where its first round fell, and never
	// in the limit, which ends before it. It is the API server's own work,
	// not the operator's.
	env.ControlPlane.GetAPIServer().Configure().Set("feature-gates", "DetectCacheInconsistency=false")
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting the control plane from %s: %w", o.assets, err)
	}
	return env, cfg, nil
}

func runOnce(ctx context.Context, o options, n int) (*result, error) {
	res := &result{n: n, interval: o.interval, steadyWindow: o.window, loadBefore: loadAverage()}
	scheme := newScheme()
	env, cfg, err := startControlPlane(o)
	if err != nil {
		return nil, err
	}
	defer func() { _ = env.Stop() }()

	api, err := findAPIServer(cfg)
	if err != nil {
		// The figures without the API server's CPU are still figures.
		log.Printf("N=%d: %v", n, err)
	}

	h, err := newHarness(cfg, scheme, fleetNS, n)
	if err != nil {
		return nil, err
	}
	hctx, stopHarness := context.WithCancel(ctx)
	defer stopHarness()
	if err := h.start(hctx); err != nil {
		return nil, err
	}
	for _, ns := range []string{fleetNS, probeNS} {
		if err := h.direct.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return nil, err
		}
	}
	fp := newFakePrometheus(n)
	defer fp.Close()
	px, err := startProxy(cfg)
	if err != nil {
		return nil, err
	}
	defer px.close()

	log.Printf("N=%d: applying %d products and %d versions", n, n, n*versionsPerProduct)
	start := time.Now()
	if err := seed(ctx, h.direct, fleetNS, n, o.interval, o.labelVersions, o.fleetQueries, o.seedWorkers); err != nil {
		return nil, err
	}
	res.apply = time.Since(start)

	// The limit runs on the fleet just applied, before the operator starts,
	// so that both meet the API server holding the same objects; its writes
	// touch nothing the operator reads (docs/benchmarks.md).
	log.Printf("N=%d: applied in %s; the plain-client limit", n, res.apply.Round(time.Millisecond))
	lpx, err := startProxy(cfg)
	if err != nil {
		return nil, err
	}
	defer lpx.close()
	lcfg := &rest.Config{Host: lpx.URL}
	cpu0 := api.cpu()
	if res.limit, res.limitWrites, err = runLimit(ctx, lcfg, scheme, h.direct, fleetNS, o.operator, o.limitWorkers); err != nil {
		return nil, err
	}
	res.limitAPICPU = api.cpu() - cpu0
	cleared := time.Now()
	deleted, err := clearLimit(ctx, h.direct, fleetNS, o.seedWorkers, limitLabel)
	if err != nil {
		return nil, fmt.Errorf("deleting the limit's objects: %w", err)
	}
	log.Printf("N=%d: deleted the limit's %d Deployments and Services in %s", n, deleted, time.Since(cleared).Round(time.Millisecond))
	res.limitCounts, _, _ = lpx.snapshot()

	if o.freeLimit {
		// The same writes with no client-side rate limit: a negative QPS
		// turns client-go's token bucket off.
		free := o.operator
		free.QPS, free.Burst = -1, 0
		cpu0 := api.cpu()
		if res.freeLimit, res.freeLimitWrites, err = runLimit(ctx, lcfg, scheme, h.direct, fleetNS, free, o.limitWorkers); err != nil {
			return nil, err
		}
		res.freeLimitAPICPU = api.cpu() - cpu0
		if _, err := clearLimit(ctx, h.direct, fleetNS, o.seedWorkers, limitLabel); err != nil {
			return nil, fmt.Errorf("deleting the unthrottled limit's objects: %w", err)
		}
		log.Printf("N=%d: unthrottled limit %s", n, res.freeLimit.Round(time.Millisecond))
	}

	log.Printf("N=%d: limit %s; starting the operator", n, res.limit.Round(time.Millisecond))
	t0 := time.Now()
	cpu0 = api.cpu()
	etcdPID := findChild("etcd")
	etcd0, harness0 := processCPU(etcdPID), processCPU(os.Getpid())
	op, err := startOperator(o.operatorBin, o.workDir, o.logDir, n, px.kubeconfig(), fp.URL, o.operator)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			op.stop()
		}
	}()
	if err := op.waitReady(ctx); err != nil {
		return nil, err
	}
	if o.apiProfile > 0 || o.cpuProfile > 0 {
		go profileConvergence(ctx, o, n, cfg, op)
	}

	if err := waitReadyFleet(ctx, h, px, op, t0, o.timeout); err != nil {
		return nil, err
	}
	res.ready = h.ready.at.Sub(t0)
	res.readyAPICPU = api.cpu() - cpu0
	res.readyCPU.etcd, res.readyCPU.harness = processCPU(etcdPID)-etcd0, processCPU(os.Getpid())-harness0
	res.readyCPU.operator = processCPU(op.pid())
	// Profiles are for finding what holds memory; a failed one loses no figure.
	if err := op.saveHeap(ctx, filepath.Join(o.logDir, fmt.Sprintf("heap-%d-ready.pprof", n))); err != nil {
		log.Printf("N=%d: %v", n, err)
	}
	if m, err := op.scrape(ctx); err == nil {
		res.goroutinesAtReady = m.gauge("go_goroutines")
	}
	log.Printf("N=%d: all %d products Ready after %s", n, n, res.ready.Round(time.Millisecond))
	if res.sizes, err = saveSamples(ctx, h.direct, o.logDir, fleetNS, n); err != nil {
		log.Printf("N=%d: %v", n, err)
	}

	// Converged means Ready and quiet: the Events and version statuses
	// that follow the last Ready belong to the convergence too.
	settleBy := time.Now().Add(o.timeout)
	for {
		_, _, last := px.snapshot()
		if time.Since(last) >= o.quiet {
			res.settled = true
			break
		}
		if time.Now().After(settleBy) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var last time.Time
	res.converge, res.convergeFailed, last = px.snapshot()
	res.settle = last.Sub(t0)
	atSettle, err := op.scrape(ctx)
	if err != nil {
		return nil, err
	}
	res.reconcileConverge = reconcileLatencies(atSettle, nil)
	log.Printf("N=%d: settled %t, last operator write at %s; steady-state window of %s", n, res.settled,
		res.settle.Round(time.Millisecond), o.window)

	before, _, _ := px.snapshot()
	queriesBefore, connsBefore := fp.count(), fp.connections()
	time.Sleep(o.window)
	after, _, _ := px.snapshot()
	res.steady = after.minus(before)
	res.promQueries = fp.count() - queriesBefore
	res.promConnsSteady = fp.connections() - connsBefore
	res.promConns = connsBefore
	atWindowEnd, err := op.scrape(ctx)
	if err != nil {
		return nil, err
	}
	res.reconcileSteady = reconcileLatencies(atWindowEnd, atSettle)

	log.Printf("N=%d: probing reaction times with %d products each", n, o.probes)
	// A probe that times out is a finding, not a reason to lose the run.
	if res.drift, err = h.driftReactions(ctx, probeNS, o.probes, fp); err != nil {
		res.driftErr = err.Error()
		log.Printf("N=%d: %v", n, err)
	}
	if res.pause, err = h.pauseReactions(ctx, probeNS, o.probes); err != nil {
		res.pauseErr = err.Error()
		log.Printf("N=%d: %v", n, err)
	}

	if err := op.saveHeap(ctx, filepath.Join(o.logDir, fmt.Sprintf("heap-%d-end.pprof", n))); err != nil {
		log.Printf("N=%d: %v", n, err)
	}
	scrapeStart := time.Now()
	end, err := op.scrape(ctx)
	if err != nil {
		return nil, err
	}
	res.scrapeTime = time.Since(scrapeStart)
	res.scrapeSeries = end.series()
	res.heapInuse, res.heapAlloc = end.gauge("go_memstats_heap_inuse_bytes"), end.gauge("go_memstats_heap_alloc_bytes")
	res.goroutines = end.gauge("go_goroutines")
	res.goMemLimit = end.gauge("go_gc_gomemlimit_bytes")
	res.heapIdle = end.gauge("go_memstats_heap_idle_bytes") - end.gauge("go_memstats_heap_released_bytes")
	res.stacks = end.gauge("go_memstats_stack_inuse_bytes")
	res.runtimeMeta = end.gauge("go_memstats_mspan_sys_bytes") + end.gauge("go_memstats_mcache_sys_bytes") +
		end.gauge("go_memstats_gc_sys_bytes") + end.gauge("go_memstats_other_sys_bytes") + end.gauge("go_memstats_buck_hash_sys_bytes")
	mem, err := op.memory()
	if err != nil {
		return nil, err
	}
	res.rss, res.peakRSS, res.rssAnon, res.rssFile = mem.rss, mem.peak, mem.anon, mem.file
	if op.cgroup != nil {
		if res.cgroupNow, res.cgroupPeak, err = op.cgroup.usage(); err != nil {
			return nil, err
		}
		res.cgroupLimit = o.operator.MemoryLimit
	}
	op.stop()
	stopped = true

	if o.writtenLimit {
		wpx, err := startProxy(cfg)
		if err != nil {
			return nil, err
		}
		defer wpx.close()
		if _, err := clearLimit(ctx, h.direct, fleetNS, o.seedWorkers, serving.ManagedBy); err != nil {
			return nil, fmt.Errorf("deleting the operator's Deployments and Services: %w", err)
		}
		log.Printf("N=%d: the limit again, with the statuses the operator wrote", n)
		cpu0 := api.cpu()
		if res.writtenLimit, res.writtenLimitWrites, err = runWrittenLimit(ctx, &rest.Config{Host: wpx.URL}, scheme, h.direct,
			fleetNS, o.operator, o.limitWorkers); err != nil {
			return nil, err
		}
		res.writtenLimitAPICPU = api.cpu() - cpu0
		log.Printf("N=%d: limit with the operator's statuses %s; ratio %.2f", n, res.writtenLimit.Round(time.Millisecond),
			res.ready.Seconds()/res.writtenLimit.Seconds())
	}

	hc, _, _ := h.counter.snapshot()
	_, res.harnessWrites = hc.total()
	res.loadAfter = loadAverage()
	log.Printf("N=%d: limit %s; ratio %.2f", n, res.limit.Round(time.Millisecond), res.ready.Seconds()/res.limit.Seconds())
	return res, nil
}

// waitReadyFleet waits for every fleet product to be Ready, logging
// progress so that a long run shows it is alive.
func waitReadyFleet(ctx context.Context, h *harness, px *proxy, op *operator, t0 time.Time, timeout time.Duration) error {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		select {
		case <-h.ready.done:
			return nil
		case <-tick.C:
			c, _, _ := px.snapshot()
			all, writes := c.total()
			log.Printf("  %s: %d/%d Ready; operator requests %d, writes %d (%s)", time.Since(t0).Round(time.Second),
				h.ready.count(), h.ready.want, all, writes, c.writeMix())
		case <-op.exited:
			return fmt.Errorf("the operator exited: %v%s (log: %s)", op.exitErr, op.oomNote(), op.log.Name())
		case <-deadline:
			return fmt.Errorf("only %d of %d products Ready after %s", h.ready.count(), h.ready.want, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func reconcileLatencies(now, earlier metrics) map[string]latency {
	out := map[string]latency{}
	for _, c := range controllers {
		b := nativeBuckets(now.histogram("controller_runtime_reconcile_time_seconds", "controller", c))
		if b == nil {
			continue
		}
		if earlier != nil {
			b = b.minus(nativeBuckets(earlier.histogram("controller_runtime_reconcile_time_seconds", "controller", c)))
		}
		out[c] = latency{count: b.total(), p50: b.quantile(0.5), p99: b.quantile(0.99)}
	}
	return out
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	var one, five, fifteen string
	if _, err := fmt.Sscan(string(b), &one, &five, &fifteen); err != nil {
		return "unknown"
	}
	return one + " " + five + " " + fifteen
}

// profileConvergence takes the CPU profiles asked for, a minute into the
// operator's convergence, when the fleet is well under way. A failed
// profile loses no figure.
func profileConvergence(ctx context.Context, o options, n int, cfg *rest.Config, op *operator) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Minute):
	}
	file := func(who string) string { return filepath.Join(o.logDir, fmt.Sprintf("%s-cpu-%d.pprof", who, n)) }
	d := max(o.apiProfile, o.cpuProfile)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := cpuProfile(ctx, cfg, d, file("apiserver")); err != nil {
			log.Printf("N=%d: %v", n, err)
		}
	})
	if o.cpuProfile > 0 {
		wg.Go(func() {
			if err := op.cpuProfile(ctx, d, file("operator")); err != nil {
				log.Printf("N=%d: %v", n, err)
			}
		})
		wg.Go(func() {
			if err := harnessProfile(ctx, d, file("harness")); err != nil {
				log.Printf("N=%d: %v", n, err)
			}
		})
	}
	wg.Wait()
}

// harnessProfile profiles this process, the harness, for d.
func harnessProfile(ctx context.Context, d time.Duration, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	return nil
}
