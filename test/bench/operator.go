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
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// operatorSettings are the flags the operator runs with; the plain client of
// the limit uses the same QPS and burst.
type operatorSettings struct {
	QPS                     float64
	Burst                   int
	Workers, VersionWorkers int
	// GoMemLimit, when not 0, is the operator's GOMEMLIMIT in bytes.
	GoMemLimit int64
	// MemoryLimit, when not 0, is a container's memory limit in bytes: the
	// operator runs in a memory cgroup of that limit, and is OOM-killed,
	// as in a pod, if it needs more.
	MemoryLimit int64
}

// operator is the real manager binary, built from ./cmd and run as its own
// process, so that its RSS and heap are its own and not the harness's.
type operator struct {
	*process
	metricsURL string
	pprofURL   string
	// cgroup is the memory cgroup the operator runs in, nil without a
	// container's limit.
	cgroup   *memCgroup
	settings operatorSettings
}

func buildOperator(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "manager")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the operator: %w", err)
	}
	return bin, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

func startOperator(bin, dir, logDir string, n int, kubeconfig, promURL string, s operatorSettings) (*operator, error) {
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	pprofAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	kc := filepath.Join(dir, "operator.kubeconfig")
	if err := os.WriteFile(kc, []byte(kubeconfig), 0o600); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(logDir, fmt.Sprintf("operator-%d.log", n)))
	if err != nil {
		return nil, err
	}
	args := []string{
		"--kubeconfig", kc,
		"--prometheus-address", promURL,
		"--leader-elect=false",
		// No ValidatingWebhookConfiguration points at a bench operator.
		"--webhooks=false",
		"--metrics-bind-address", metricsAddr,
		"--metrics-secure=false",
		"--health-probe-bind-address", "0",
		"--kube-api-qps", strconv.FormatFloat(s.QPS, 'g', -1, 64),
		"--kube-api-burst", strconv.Itoa(s.Burst),
		"--workers", strconv.Itoa(s.Workers),
		"--version-workers", strconv.Itoa(s.VersionWorkers),
		"--pprof-bind-address", pprofAddr,
		// Reaction times are read in milliseconds; so is the log.
		"--zap-time-encoding", "rfc3339nano",
	}
	var cg *memCgroup
	cmd := exec.Command(bin, args...)
	if s.MemoryLimit > 0 {
		if cg, err = newMemCgroup(s.MemoryLimit); err != nil {
			_ = logf.Close()
			return nil, err
		}
		// The shell joins the cgroup and then becomes the operator, so that
		// every page the operator touches is charged to the cgroup.
		cmd = exec.Command("/bin/sh", append([]string{"-c", `echo $$ > "$0" && exec "$@"`, cg.procs(), bin}, args...)...)
	}
	if s.GoMemLimit > 0 {
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+strconv.FormatInt(s.GoMemLimit, 10))
	}
	proc, err := startProcess(cmd, logf)
	if err != nil {
		if cg != nil {
			cg.remove()
		}
		return nil, err
	}
	return &operator{process: proc, metricsURL: "http://" + metricsAddr + "/metrics",
		pprofURL: "http://" + pprofAddr + "/debug/pprof/", cgroup: cg, settings: s}, nil
}

// stop stops the operator and removes its cgroup.
func (o *operator) stop() {
	o.process.stop()
	if o.cgroup != nil {
		o.cgroup.remove()
	}
}

// process is a controller the harness runs as a child process, with its
// log.
type process struct {
	cmd *exec.Cmd
	log *os.File
	// exited is closed once the process has exited; exitErr is then how.
	exited  chan struct{}
	exitErr error
}

// startProcess starts cmd with its output in log, which the process owns
// from then on, even when it fails to start.
func startProcess(cmd *exec.Cmd, log *os.File) (*process, error) {
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, err
	}
	p := &process{cmd: cmd, log: log, exited: make(chan struct{})}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// stop asks the process to stop as Kubernetes would, then insists. How it
// exited when told to is no part of the measurement.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	_ = p.log.Close()
}

// oomNote says, for an operator that exited, whether the kernel killed it
// for going over its cgroup's limit.
func (o *operator) oomNote() string {
	if o.cgroup == nil {
		return ""
	}
	n, err := o.cgroup.oomKills()
	if err != nil || n == 0 {
		return ""
	}
	return fmt.Sprintf(", OOM-killed by the kernel at its %d MiB cgroup limit", o.settings.MemoryLimit>>20)
}

// saveHeap writes a heap profile of the operator, taken after a garbage
// collection so that it shows what is live, for `go tool pprof`.
func (o *operator) saveHeap(ctx context.Context, path string) error {
	return download(ctx, http.DefaultClient, o.pprofURL+"heap?gc=1", path)
}

// cpuProfile writes a CPU profile of the operator over d.
func (o *operator) cpuProfile(ctx context.Context, d time.Duration, path string) error {
	c := &http.Client{Timeout: d + 30*time.Second}
	return download(ctx, c, fmt.Sprintf("%sprofile?seconds=%d", o.pprofURL, int(d.Seconds())), path)
}

// download saves what url answers to path.
func download(ctx context.Context, c *http.Client, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// residentSet is the operator's resident memory as the kernel counts it.
type residentSet struct {
	// rss and peak are VmRSS and VmHWM; anon and file split rss into
	// anonymous memory (heap, stacks, runtime) and file-backed pages (the
	// binary's code and data, which the kernel may drop and read again).
	rss, peak, anon, file int64
}

// memory reads the operator's resident set from /proc, in bytes.
func (o *operator) memory() (residentSet, error) { return residentOf(o.pid()) }

// residentOf reads a process's resident set from /proc.
func residentOf(pid int) (residentSet, error) {
	var m residentSet
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			m.rss = kb * 1024
		case "VmHWM:":
			m.peak = kb * 1024
		case "RssAnon:":
			m.anon = kb * 1024
		case "RssFile:":
			m.file = kb * 1024
		}
	}
	return m, s.Err()
}

// metrics scrapes the operator's /metrics in the protobuf format, the only
// one that carries native histograms, whose fine buckets give the reconcile
// latency quantiles.
type metrics map[string]*dto.MetricFamily

func (o *operator) scrape(ctx context.Context) (metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.metricsURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping the operator: %s", resp.Status)
	}
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	out := metrics{}
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		out[mf.GetName()] = mf
	}
}

// waitReady waits until the operator serves its metrics.
func (o *operator) waitReady(ctx context.Context) error {
	for {
		if _, err := o.scrape(ctx); err == nil {
			return nil
		}
		select {
		case <-o.exited:
			return fmt.Errorf("the operator exited: %v (see %s)", o.exitErr, o.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// series counts every series in the scrape.
func (m metrics) series() int {
	n := 0
	for _, mf := range m {
		n += len(mf.Metric)
	}
	return n
}

func (m metrics) gauge(name string) float64 {
	mf := m[name]
	if mf == nil || len(mf.Metric) == 0 {
		return math.NaN()
	}
	mt := mf.Metric[0]
	switch {
	case mt.Gauge != nil:
		return mt.Gauge.GetValue()
	case mt.Counter != nil:
		return mt.Counter.GetValue()
	}
	return math.NaN()
}

// histogram returns the series of a histogram family whose label has value.
func (m metrics) histogram(name, label, value string) *dto.Histogram {
	mf := m[name]
	if mf == nil {
		return nil
	}
	for _, mt := range mf.Metric {
		for _, l := range mt.Label {
			if l.GetName() == label && l.GetValue() == value {
				return mt.Histogram
			}
		}
	}
	return nil
}

// buckets is a native histogram as counts per bucket index, which makes two
// scrapes easy to subtract.
type buckets struct {
	schema        int32
	zeroThreshold float64
	zero          float64
	counts        map[int]float64
}

func nativeBuckets(h *dto.Histogram) *buckets {
	if h == nil || (len(h.PositiveSpan) == 0 && h.GetZeroCount() == 0) {
		return nil
	}
	b := &buckets{schema: h.GetSchema(), zeroThreshold: h.GetZeroThreshold(), zero: float64(h.GetZeroCount()), counts: map[int]float64{}}
	idx, d, count := 0, 0, int64(0)
	for _, s := range h.PositiveSpan {
		idx += int(s.GetOffset())
		for range s.GetLength() {
			count += h.PositiveDelta[d]
			d++
			b.counts[idx] = float64(count)
			idx++
		}
	}
	return b
}

func (b *buckets) minus(earlier *buckets) *buckets {
	if earlier == nil {
		return b
	}
	out := &buckets{schema: b.schema, zeroThreshold: b.zeroThreshold, zero: b.zero - earlier.zero, counts: map[int]float64{}}
	for i, c := range b.counts {
		out.counts[i] = c - earlier.counts[i]
	}
	return out
}

func (b *buckets) total() float64 {
	t := b.zero
	for _, c := range b.counts {
		t += c
	}
	return t
}

// quantile interpolates exponentially within the bucket that holds the
// rank, as Prometheus does for native histograms; the error is below the
// bucket width, about 9% at the operator's schema.
func (b *buckets) quantile(q float64) time.Duration {
	if b == nil || b.total() == 0 {
		return 0
	}
	rank := q * b.total()
	if rank <= b.zero {
		return time.Duration(b.zeroThreshold * float64(time.Second))
	}
	cum := b.zero
	idx := make([]int, 0, len(b.counts))
	for i := range b.counts {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	base := math.Pow(2, math.Pow(2, -float64(b.schema)))
	for _, i := range idx {
		c := b.counts[i]
		if c <= 0 {
			continue
		}
		if cum+c >= rank {
			upper := math.Pow(base, float64(i))
			lower := upper / base
			frac := (rank - cum) / c
			return time.Duration(lower * math.Pow(upper/lower, frac) * float64(time.Second))
		}
		cum += c
	}
	return time.Duration(math.Pow(base, float64(idx[len(idx)-1])) * float64(time.Second))
}
