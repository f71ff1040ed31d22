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

// Package metrics is the operator's own Prometheus metrics, registered on
// controller-runtime's registry so that they are served beside its
// reconcile, workqueue and client metrics. The state gauges are recorded in
// one place, from a product's status after each reconcile; a product's
// series are deleted with the product.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

const ns = "aipm"

var (
	productPhase = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "product_phase",
		Help: "1 for the phase the product is in, 0 for the others."}, []string{"namespace", "product", "phase"})
	productReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "product_ready",
		Help: "1 when the product's Ready condition is True."}, []string{"namespace", "product"})
	gatePassed = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "gate_passed",
		Help: "1 when the phase gate holds, 0 when it blocks."}, []string{"namespace", "product", "gate"})
	objectiveValue = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "objective_value",
		Help: "Latest value of a business objective's query; absent while Unknown."}, []string{"namespace", "product", "objective"})
	objectiveTarget = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "objective_target",
		Help: "Target of a business objective."}, []string{"namespace", "product", "objective"})
	objectiveMet = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "objective_met",
		Help: "1 when the objective meets its target, 0 when it misses; absent while Unknown."}, []string{"namespace", "product", "objective"})
	productionInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "production_version_info",
		Help: "1 for the ModelVersion serving production."}, []string{"namespace", "product", "version"})
	rolloutStep = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "rollout_step",
		Help: "Index of the current step of the product's rollout."}, []string{"namespace", "product"})
	rolloutWeight = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "rollout_canary_weight_ratio",
		Help: "Share of traffic, 0 to 1, sent to the canary."}, []string{"namespace", "product"})
	rolloutPhase = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "rollout_phase",
		Help: "1 for the phase of the product's rollout, 0 for the others."}, []string{"namespace", "product", "phase"})
	analysisValue = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "analysis_metric_value",
		Help: "Last measured value of a rollout analysis metric."}, []string{"namespace", "product", "metric"})
	driftValue = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "drift_value",
		Help: "Latest value of a drift statistic; absent while Unknown."}, []string{"namespace", "product", "check", "feature"})
	driftThreshold = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "drift_threshold",
		Help: "Threshold of a drift statistic."}, []string{"namespace", "product", "check", "feature"})
	driftSustained = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "drift_sustained",
		Help: "1 when a drift breach has lasted its for duration."}, []string{"namespace", "product", "check", "feature"})
	modelVersions = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "model_versions",
		Help: "Number of the product's ModelVersions in each stage."}, []string{"namespace", "product", "stage"})
	experimentPhase = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "experiment_phase",
		Help: "1 for the phase of a discovery experiment, 0 for the others."}, []string{"namespace", "product", "experiment", "phase"})

	retrainingRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "retraining_runs_total",
		Help: "Finished retraining runs by trigger and result."}, []string{"namespace", "product", "trigger", "result"})
	retrainingDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "retraining_duration_seconds",
		Help:    "Duration of finished retraining runs.",
		Buckets: []float64{60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400}}, []string{"namespace", "product", "result"})
	rollouts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "rollouts_total",
		Help: "Finished rollouts by result: Succeeded or Aborted."}, []string{"namespace", "product", "result"})
	experiments = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "experiments_total",
		Help: "Finished discovery experiments by verdict."}, []string{"namespace", "product", "result"})

	// StatusConflicts counts status writes the API server refused because
	// the product changed after it was read; each is decided again. A
	// steady rate means two writers fight over the same products.
	StatusConflicts = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "status_conflicts_total",
		Help: "AIProduct status writes refused as conflicts and decided again from the newer object."})

	age = &ageCollector{since: map[key]ageEntry{},
		desc: prometheus.NewDesc(ns+"_production_model_age_seconds", "Seconds since the production ModelVersion was promoted.",
			[]string{"namespace", "product", "version"}, nil)}
)

func init() {
	metrics.Registry.MustRegister(productPhase, productReady, gatePassed, objectiveValue, objectiveTarget, objectiveMet,
		productionInfo, rolloutStep, rolloutWeight, rolloutPhase, analysisValue, driftValue, driftThreshold,
		driftSustained, modelVersions, experimentPhase, retrainingRuns, retrainingDuration, rollouts, experiments, StatusConflicts, age)
}

var (
	phases        = []v1.ProductPhase{v1.PhaseStrategy, v1.PhaseDiscovery, v1.PhaseDelivery, v1.PhaseRetired}
	rolloutPhases = []v1.RolloutPhase{v1.RolloutProgressing, v1.RolloutPaused, v1.RolloutInconclusive, v1.RolloutSucceeded, v1.RolloutAborted}
	stages        = []v1.Stage{v1.StageCandidate, v1.StageStaging, v1.StageProduction, v1.StageArchived, v1.StageRejected}
	expPhases     = []v1.ExperimentPhase{v1.ExperimentPending, v1.ExperimentWaiting, v1.ExperimentRunning,
		v1.ExperimentSucceeded, v1.ExperimentFailed, v1.ExperimentInconclusive}
)

// RecordProduct sets every state gauge of a product from its status and the
// stages of its versions. Series that no longer apply (an objective removed,
// a version replaced) are dropped, so the gauges say exactly what the status
// says. Only the product's own series are touched: finding them by a partial
// label match instead scanned every product's series on every reconcile,
// which took most of the operator's CPU at a few thousand products
// (docs/benchmarks.md).
func RecordProduct(p *v1.AIProduct, stageCounts map[v1.Stage]int, promotedAt time.Time) {
	r := recorder{namespace: p.Namespace, product: p.Name}
	for _, ph := range phases {
		r.set(productPhase, bool01(p.Status.Phase == ph), string(ph))
	}
	ready := false
	for _, c := range p.Status.Conditions {
		if c.Type == v1.ConditionReady {
			ready = c.Status == "True"
		}
	}
	r.set(productReady, bool01(ready))
	for _, g := range p.Status.Gates {
		r.set(gatePassed, bool01(g.Passed), g.Name)
	}
	for _, o := range p.Status.Objectives {
		if t, err := o.Target.Float64(); err == nil {
			r.set(objectiveTarget, t, o.Name)
		}
		if o.Result == v1.ResultUnknown {
			continue
		}
		if v, err := o.Value.Float64(); err == nil {
			r.set(objectiveValue, v, o.Name)
		}
		r.set(objectiveMet, bool01(o.Result == v1.ResultMet), o.Name)
	}
	if v := p.Status.ProductionVersion; v != "" {
		r.set(productionInfo, 1, v)
		age.set(key{p.Namespace, p.Name}, v, promotedAt)
	} else {
		age.delete(key{p.Namespace, p.Name})
	}
	if ro := p.Status.Rollout; ro != nil {
		r.set(rolloutStep, float64(ro.Step))
		r.set(rolloutWeight, float64(ro.Weight)/100)
		for _, ph := range rolloutPhases {
			r.set(rolloutPhase, bool01(ro.Phase == ph), string(ph))
		}
		for _, a := range append(append([]v1.AnalysisMetricStatus{}, ro.Analysis...), ro.BackgroundAnalysis...) {
			if v, err := a.Value.Float64(); err == nil && a.Value != "" {
				r.set(analysisValue, v, a.Name)
			}
		}
	}
	for _, d := range p.Status.Drift {
		if t, err := d.Threshold.Float64(); err == nil {
			r.set(driftThreshold, t, d.Name, d.Feature)
		}
		r.set(driftSustained, bool01(d.Sustained), d.Name, d.Feature)
		if d.Result == v1.ResultUnknown {
			continue
		}
		if v, err := d.Value.Float64(); err == nil {
			r.set(driftValue, v, d.Name, d.Feature)
		}
	}
	if stageCounts != nil {
		for _, s := range stages {
			r.set(modelVersions, float64(stageCounts[s]), string(s))
		}
	}
	for _, e := range p.Status.Experiments {
		for _, ph := range expPhases {
			r.set(experimentPhase, bool01(e.Phase == ph), e.Name, string(ph))
		}
	}
	r.dropStale()
}

// stateSeries is one series of a state gauge of a product: the gauge and
// its label values after namespace and product (at most two).
type stateSeries struct {
	vec  *prometheus.GaugeVec
	n    uint8
	a, b string
}

// recorded holds the state series last set for each product, so that
// RecordProduct and DeleteProduct find a product's series without a scan.
var recorded = struct {
	sync.Mutex
	series map[key][]stateSeries
}{series: map[key][]stateSeries{}}

type recorder struct {
	namespace, product string
	series             []stateSeries
}

func (r *recorder) set(vec *prometheus.GaugeVec, v float64, extra ...string) {
	s := stateSeries{vec: vec, n: uint8(len(extra))}
	if len(extra) > 0 {
		s.a = extra[0]
	}
	if len(extra) > 1 {
		s.b = extra[1]
	}
	vec.WithLabelValues(s.labels(r.namespace, r.product)...).Set(v)
	r.series = append(r.series, s)
}

func (s stateSeries) labels(namespace, product string) []string {
	return append([]string{namespace, product}, []string{s.a, s.b}[:s.n]...)
}

// dropStale deletes the series set last time and not this time, and
// remembers this time's.
func (r *recorder) dropStale() {
	k := key{r.namespace, r.product}
	now := make(map[stateSeries]struct{}, len(r.series))
	for _, s := range r.series {
		now[s] = struct{}{}
	}
	recorded.Lock()
	defer recorded.Unlock()
	for _, s := range recorded.series[k] {
		if _, ok := now[s]; !ok {
			s.vec.DeleteLabelValues(s.labels(r.namespace, r.product)...)
		}
	}
	recorded.series[k] = r.series
}

// RetrainingFinished counts a finished run and its duration.
func RetrainingFinished(namespace, product string, trigger v1.TrainingTrigger, result string, d time.Duration) {
	retrainingRuns.WithLabelValues(namespace, product, string(trigger), result).Inc()
	if d > 0 {
		retrainingDuration.WithLabelValues(namespace, product, result).Observe(d.Seconds())
	}
}

// RolloutFinished counts a finished rollout.
func RolloutFinished(namespace, product string, phase v1.RolloutPhase) {
	rollouts.WithLabelValues(namespace, product, string(phase)).Inc()
}

// ExperimentFinished counts an experiment's verdict.
func ExperimentFinished(namespace, product string, phase v1.ExperimentPhase) {
	experiments.WithLabelValues(namespace, product, string(phase)).Inc()
}

// DeleteProduct drops every series of a deleted product. The counters are
// found by a partial match, which scans every series, but only once per
// deleted product.
func DeleteProduct(namespace, product string) {
	k := key{namespace, product}
	recorded.Lock()
	for _, s := range recorded.series[k] {
		s.vec.DeleteLabelValues(s.labels(namespace, product)...)
	}
	delete(recorded.series, k)
	recorded.Unlock()
	l := prometheus.Labels{"namespace": namespace, "product": product}
	retrainingRuns.DeletePartialMatch(l)
	retrainingDuration.DeletePartialMatch(l)
	rollouts.DeletePartialMatch(l)
	experiments.DeletePartialMatch(l)
	age.delete(key{namespace, product})
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

type key struct{ namespace, product string }

type ageEntry struct {
	version string
	since   time.Time
}

// ageCollector computes the production model's age at scrape time, so the
// value is current without the operator writing a gauge every second.
type ageCollector struct {
	mu    sync.Mutex
	since map[key]ageEntry
	desc  *prometheus.Desc
}

func (a *ageCollector) set(k key, version string, since time.Time) {
	if since.IsZero() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.since[k] = ageEntry{version: version, since: since}
}

func (a *ageCollector) delete(k key) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.since, k)
}

func (a *ageCollector) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

func (a *ageCollector) Collect(ch chan<- prometheus.Metric) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, e := range a.since {
		ch <- prometheus.MustNewConstMetric(a.desc, prometheus.GaugeValue, time.Since(e.since).Seconds(), k.namespace, k.product, e.version)
	}
}

// Names lists every metric the operator exports, for tests and docs.
func Names() []string {
	return []string{
		"aipm_product_phase", "aipm_product_ready", "aipm_gate_passed", "aipm_objective_value", "aipm_objective_target",
		"aipm_objective_met", "aipm_production_version_info", "aipm_production_model_age_seconds", "aipm_rollout_step",
		"aipm_rollout_canary_weight_ratio", "aipm_rollout_phase", "aipm_analysis_metric_value", "aipm_drift_value",
		"aipm_drift_threshold", "aipm_drift_sustained", "aipm_model_versions", "aipm_experiment_phase",
		"aipm_retraining_runs_total", "aipm_retraining_duration_seconds", "aipm_rollouts_total", "aipm_experiments_total",
	}
}
