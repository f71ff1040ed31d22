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

// Package metrics is the operator's own Prometheus metrics. Its counters
// are registered on controller-runtime's registry and served beside its
// reconcile, workqueue and client metrics. The products' state gauges are
// recorded in one place, from a product's status after each reconcile, are
// deleted with the product, and are written straight to a scrape by Handler,
// which serves /metrics in place of controller-runtime's handler.
package metrics

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

const ns = "aipm"

// The state gauges. They are not GaugeVecs: a GaugeVec keeps every series
// as a metric object with its own label pairs, and at a fleet's scale those
// were a large share of the operator's heap (docs/benchmarks.md). Instead each product's values are kept as a
// short list of samples, replaced whole on each record, and turned into
// metrics only when Prometheus scrapes, one family at a time (Handler).
var (
	productPhase    = gauge("product_phase", "1 for the phase the product is in; the other phases have no series.", "phase")
	productReady    = gauge("product_ready", "1 when the product's Ready condition is True.")
	gatePassed      = gauge("gate_passed", "1 when the phase gate holds, 0 when it blocks.", "gate")
	objectiveValue  = gauge("objective_value", "Latest value of a business objective's query; absent while Unknown.", "objective")
	objectiveTarget = gauge("objective_target", "Target of a business objective.", "objective")
	objectiveMet    = gauge("objective_met", "1 when the objective meets its target, 0 when it misses; absent while Unknown.", "objective")
	productionInfo  = gauge("production_version_info", "1 for the ModelVersion serving production.", "version")
	rolloutStep     = gauge("rollout_step", "Index of the current step of the product's rollout.")
	rolloutWeight   = gauge("rollout_canary_weight_ratio", "Share of traffic, 0 to 1, the current rollout step asks for the canary.")
	rolloutTraffic  = gauge("rollout_canary_traffic_ratio", "Share of requests, 0 to 1, the canary receives now: its router's weight, or its share of ready pods.")
	rolloutPhase    = gauge("rollout_phase", "1 for the phase of the product's rollout; the other phases have no series.", "phase")
	analysisValue   = gauge("analysis_metric_value", "Last measured value of a rollout analysis metric.", "metric")
	driftValue      = gauge("drift_value", "Latest value of a drift statistic; absent while Unknown.", "check", "feature")
	driftThreshold  = gauge("drift_threshold", "Threshold of a drift statistic.", "check", "feature")
	driftSustained  = gauge("drift_sustained", "1 when a drift breach has lasted its for duration.", "check", "feature")
	modelVersions   = gauge("model_versions", "Number of the product's ModelVersions in each stage; a stage with none has no series.", "stage")
	experimentPhase = gauge("experiment_phase", "1 for the phase of a discovery experiment; the other phases have no series.", "experiment", "phase")

	productionAge = gauge("production_model_age_seconds", "Seconds since the production ModelVersion was promoted.", "version")

	states = &stateCollector{byProduct: map[key][]sample{}, families: []*family{productPhase, productReady, gatePassed,
		objectiveValue, objectiveTarget, objectiveMet, productionInfo, rolloutStep, rolloutWeight, rolloutTraffic, rolloutPhase,
		analysisValue, driftValue, driftThreshold, driftSustained, modelVersions, experimentPhase}}
)

// family is a state gauge of products: its name and help, and the names of
// its labels, which are namespace and product and then extra.
type family struct {
	name, help string
	labels     []string
}

func gauge(name, help string, extra ...string) *family {
	return &family{name: ns + "_" + name, help: help, labels: append([]string{"namespace", "product"}, extra...)}
}

var (
	retrainingRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "retraining_runs_total",
		Help: "Finished retraining runs by trigger and result."}, []string{"namespace", "product", "trigger", "result"})
	retrainingDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "retraining_duration_seconds",
		Help:    "Duration of finished retraining runs.",
		Buckets: []float64{60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400}}, []string{"namespace", "product", "result"})
	rollouts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "rollouts_total",
		Help: "Finished rollouts by result: Succeeded or Aborted."}, []string{"namespace", "product", "result"})
	experiments = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "experiments_total",
		Help: "Finished discovery experiments by verdict."}, []string{"namespace", "product", "result"})

	evaluations = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "evaluations_total",
		Help: "Finished independent evaluations of model versions by result: Succeeded or Failed."}, []string{"namespace", "product", "result"})
	sliceGap = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "model_version_slice_gap",
		Help: "Gap between the highest and lowest slice of a sliced metric of a model version, as its promotion policy's slice requirements read it."},
		[]string{"namespace", "product", "version", "metric", "by"})
	sliceRatio = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "model_version_slice_ratio",
		Help: "Ratio of the lowest slice to the highest of a sliced metric of a model version; absent when the highest is not positive."},
		[]string{"namespace", "product", "version", "metric", "by"})
	guardrails = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "guardrail_verdicts_total",
		Help: "Guardrail measurements of business objectives during rollouts, canary against stable, by result: Met, Missed or Unknown."},
		[]string{"namespace", "product", "objective", "result"})
	postPromotionRollbacks = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "post_promotion_rollbacks_total",
		Help: "Promotions rolled back within their post-promotion window, by the objective that broke."},
		[]string{"namespace", "product", "objective"})
	driftComputations = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "drift_computations_total",
		Help: "Drift statistics the operator computed from histograms, by result: Computed, or Failed when the buckets could not be compared."},
		[]string{"namespace", "product", "check", "result"})

	registrySyncs = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "registry_syncs_total",
		Help: "Syncs of a product's versions with its model registry, by result: Synced, or Failed when the registry could not be reached or refused a call."},
		[]string{"namespace", "product", "result"})
	registryVersions = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "registry_versions_total",
		Help: "Versions a registry sync moved, by direction: Imported (a ModelVersion created from the registry), Exported (a version registered there), StageWritten (a stage written back)."},
		[]string{"namespace", "product", "direction"})

	// StatusConflicts counts status writes the API server refused because
	// the product or version changed after it was read; each is decided
	// again. A steady rate means two writers fight over the same objects.
	StatusConflicts = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "status_conflicts_total",
		Help: "AIProduct and ModelVersion status writes refused as conflicts and decided again from the newer object."})

	age = &ageCollector{since: map[key]ageEntry{}}
)

func init() {
	metrics.Registry.MustRegister(retrainingRuns, retrainingDuration, rollouts, experiments, StatusConflicts,
		evaluations, sliceGap, sliceRatio, guardrails, postPromotionRollbacks, driftComputations,
		registrySyncs, registryVersions)
}

// RecordProduct sets every state gauge of a product from its status and the
// stages of its versions. The record replaces the product's last one whole,
// so a series that no longer applies (an objective removed, a version
// replaced) goes, and the gauges say exactly what the status says, without
// a search of other products' series (a partial label match over all of
// them took most of the operator's CPU at a few thousand products,
// docs/benchmarks.md).
//
// A state gauge (phase, stage) has a series for the state a product is in
// and none for the others, as with kube-state-metrics' phase gauges minus
// their zeros: the zeros were more than a third of a product's series, in
// the operator's memory and in Prometheus's, and `== 1`, `sum by` and
// `count` read the same without them.
func RecordProduct(p *lifecyclev1alpha1.AIProduct, stageCounts map[lifecyclev1alpha1.Stage]int, promotedAt time.Time, experiments []ExperimentState) {
	r := recorder{samples: make([]sample, 0, 32)}
	if p.Status.Phase != "" {
		r.set(productPhase, 1, string(p.Status.Phase))
	}
	ready := false
	for _, c := range p.Status.Conditions {
		if c.Type == lifecyclev1alpha1.ConditionReady {
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
		if o.Result == lifecyclev1alpha1.ResultUnknown {
			continue
		}
		if v, err := o.Value.Float64(); err == nil {
			r.set(objectiveValue, v, o.Name)
		}
		r.set(objectiveMet, bool01(o.Result == lifecyclev1alpha1.ResultMet), o.Name)
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
		r.set(rolloutTraffic, float64(ro.EffectiveWeight)/100)
		if ro.Phase != "" {
			r.set(rolloutPhase, 1, string(ro.Phase))
		}
		for _, a := range append(append([]lifecyclev1alpha1.AnalysisMetricStatus{}, ro.Analysis...), ro.BackgroundAnalysis...) {
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
		if d.Result == lifecyclev1alpha1.ResultUnknown {
			continue
		}
		if v, err := d.Value.Float64(); err == nil {
			r.set(driftValue, v, d.Name, d.Feature)
		}
	}
	for s, n := range stageCounts {
		if n > 0 {
			r.set(modelVersions, float64(n), string(s))
		}
	}
	for _, e := range experiments {
		if e.Phase != "" {
			r.set(experimentPhase, 1, e.Name, e.Phase)
		}
	}
	states.set(key{p.Namespace, p.Name}, slices.Clone(r.samples))
}

// sample is one series of a state gauge of a product: the gauge, its label
// values after namespace and product (at most two) and its value.
type sample struct {
	family *family
	a, b   string
	v      float64
}

type recorder struct {
	samples []sample
}

func (r *recorder) set(f *family, v float64, extra ...string) {
	s := sample{family: f, v: v}
	if len(extra) > 0 {
		s.a = extra[0]
	}
	if len(extra) > 1 {
		s.b = extra[1]
	}
	r.samples = append(r.samples, s)
}

// stateCollector holds each product's last record of the state gauges.
type stateCollector struct {
	mu        sync.RWMutex
	byProduct map[key][]sample
	families  []*family
}

func (c *stateCollector) set(k key, samples []sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byProduct[k] = samples
}

func (c *stateCollector) delete(k key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byProduct, k)
}

// metricFamily builds the series of one state gauge across all products,
// or nil when it has none.
func (c *stateCollector) metricFamily(f *family) *dto.MetricFamily {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := 0
	for _, samples := range c.byProduct {
		for _, s := range samples {
			if s.family == f {
				n++
			}
		}
	}
	b := newFamilyBuilder(f, n)
	for k, samples := range c.byProduct {
		for _, s := range samples {
			if s.family == f {
				b.add(s.v, k.namespace, k.product, s.a, s.b)
			}
		}
	}
	return b.done()
}

// familyBuilder builds the metric message of a gauge family of n series
// in a few allocations, not several per series: its messages, label pairs
// and values are each one slice, and the label names are shared.
type familyBuilder struct {
	mf      *dto.MetricFamily
	names   []*string
	metrics []dto.Metric
	gauges  []dto.Gauge
	values  []float64
	pairs   []dto.LabelPair
	ptrs    []*dto.LabelPair
	strs    []string
}

func newFamilyBuilder(f *family, n int) *familyBuilder {
	k := len(f.labels)
	b := &familyBuilder{
		mf:      &dto.MetricFamily{Name: &f.name, Help: &f.help, Type: dto.MetricType_GAUGE.Enum(), Metric: make([]*dto.Metric, 0, n)},
		metrics: make([]dto.Metric, 0, n), gauges: make([]dto.Gauge, 0, n), values: make([]float64, 0, n),
		pairs: make([]dto.LabelPair, 0, n*k), ptrs: make([]*dto.LabelPair, 0, n*k), strs: make([]string, 0, n*k),
	}
	for i := range f.labels {
		b.names = append(b.names, &f.labels[i])
	}
	return b
}

// add appends a series; values beyond the family's labels are ignored.
// Past n series the slices grow, and what was added before keeps pointing
// into the old ones, which stay valid.
func (b *familyBuilder) add(v float64, values ...string) {
	b.values = append(b.values, v)
	b.gauges = append(b.gauges, dto.Gauge{})
	g := &b.gauges[len(b.gauges)-1]
	g.Value = &b.values[len(b.values)-1]
	first := len(b.ptrs)
	for i, name := range b.names {
		b.strs = append(b.strs, values[i])
		b.pairs = append(b.pairs, dto.LabelPair{})
		lp := &b.pairs[len(b.pairs)-1]
		lp.Name, lp.Value = name, &b.strs[len(b.strs)-1]
		b.ptrs = append(b.ptrs, lp)
	}
	b.metrics = append(b.metrics, dto.Metric{})
	m := &b.metrics[len(b.metrics)-1]
	m.Gauge, m.Label = g, b.ptrs[first:len(b.ptrs):len(b.ptrs)]
	b.mf.Metric = append(b.mf.Metric, m)
}

func (b *familyBuilder) done() *dto.MetricFamily {
	if len(b.mf.Metric) == 0 {
		return nil
	}
	return b.mf
}

// RetrainingFinished counts a finished run and its duration.
func RetrainingFinished(namespace, product string, trigger lifecyclev1alpha1.TrainingTrigger, result string, d time.Duration) {
	retrainingRuns.WithLabelValues(namespace, product, string(trigger), result).Inc()
	if d > 0 {
		retrainingDuration.WithLabelValues(namespace, product, result).Observe(d.Seconds())
	}
}

// RolloutFinished counts a finished rollout.
func RolloutFinished(namespace, product string, phase lifecyclev1alpha1.RolloutPhase) {
	rollouts.WithLabelValues(namespace, product, string(phase)).Inc()
}

// EvaluationFinished counts a finished independent evaluation.
func EvaluationFinished(namespace, product string, phase lifecyclev1alpha1.EvaluationPhase) {
	evaluations.WithLabelValues(namespace, product, string(phase)).Inc()
}

// SliceSpread is the spread of one sliced metric of a version.
type SliceSpread struct {
	Metric, By string
	Gap        float64
	// Ratio is the lowest slice over the highest; NaN when undefined.
	Ratio float64
}

// slicesRecorded remembers the label values each version's slice gauges
// were last set with, so that replacing or dropping them deletes exactly
// those series: a partial match would scan every version's series on
// every reconcile of every version.
var slicesRecorded = struct {
	sync.Mutex
	byVersion map[key][][]string
}{byVersion: map[key][][]string{}}

// RecordSlices replaces the slice gauges of a version.
func RecordSlices(namespace, product, version string, spreads []SliceSpread) {
	k := key{namespace, version}
	slicesRecorded.Lock()
	defer slicesRecorded.Unlock()
	for _, lv := range slicesRecorded.byVersion[k] {
		sliceGap.DeleteLabelValues(lv...)
		sliceRatio.DeleteLabelValues(lv...)
	}
	delete(slicesRecorded.byVersion, k)
	for _, s := range spreads {
		lv := []string{namespace, product, version, s.Metric, s.By}
		slicesRecorded.byVersion[k] = append(slicesRecorded.byVersion[k], lv)
		sliceGap.WithLabelValues(lv...).Set(s.Gap)
		if !math.IsNaN(s.Ratio) {
			sliceRatio.WithLabelValues(lv...).Set(s.Ratio)
		}
	}
}

// DeleteVersion drops the series of a deleted version.
func DeleteVersion(namespace, version string) {
	slicesRecorded.Lock()
	defer slicesRecorded.Unlock()
	k := key{namespace, version}
	for _, lv := range slicesRecorded.byVersion[k] {
		sliceGap.DeleteLabelValues(lv...)
		sliceRatio.DeleteLabelValues(lv...)
	}
	delete(slicesRecorded.byVersion, k)
}

// GuardrailMeasured counts one guardrail measurement.
func GuardrailMeasured(namespace, product, objective string, result lifecyclev1alpha1.CheckResult) {
	guardrails.WithLabelValues(namespace, product, objective, string(result)).Inc()
}

// PostPromotionRollback counts a promotion rolled back by its watch.
func PostPromotionRollback(namespace, product, objective string) {
	postPromotionRollbacks.WithLabelValues(namespace, product, objective).Inc()
}

// DriftComputed counts a drift statistic computed from histograms; err is
// why it could not be.
func DriftComputed(namespace, product, check string, err error) {
	result := "Computed"
	if err != nil {
		result = "Failed"
	}
	driftComputations.WithLabelValues(namespace, product, check, result).Inc()
}

// RegistrySynced counts one sync with a product's model registry and what
// it moved; err is why it failed.
func RegistrySynced(namespace, product string, imported, exported, stages int, err error) {
	result := "Synced"
	if err != nil {
		result = "Failed"
	}
	registrySyncs.WithLabelValues(namespace, product, result).Inc()
	for dir, n := range map[string]int{"Imported": imported, "Exported": exported, "StageWritten": stages} {
		if n > 0 {
			registryVersions.WithLabelValues(namespace, product, dir).Add(float64(n))
		}
	}
}

// ExperimentFinished counts an experiment's verdict.
func ExperimentFinished(namespace, product string, verdict lifecyclev1alpha1.ExperimentVerdict) {
	experiments.WithLabelValues(namespace, product, string(verdict)).Inc()
}

// ExperimentState is an experiment's phase as the experiment-phase gauge
// shows it: Pending, Waiting or Running, and once finished its verdict.
type ExperimentState struct {
	Name  string
	Phase string
}

// DeleteProduct drops every series of a deleted product. The counters are
// found by a partial match, which scans every series, but only once per
// deleted product.
func DeleteProduct(namespace, product string) {
	states.delete(key{namespace, product})
	l := prometheus.Labels{"namespace": namespace, "product": product}
	retrainingRuns.DeletePartialMatch(l)
	retrainingDuration.DeletePartialMatch(l)
	rollouts.DeletePartialMatch(l)
	experiments.DeletePartialMatch(l)
	evaluations.DeletePartialMatch(l)
	sliceGap.DeletePartialMatch(l)
	sliceRatio.DeletePartialMatch(l)
	guardrails.DeletePartialMatch(l)
	postPromotionRollbacks.DeletePartialMatch(l)
	driftComputations.DeletePartialMatch(l)
	registrySyncs.DeletePartialMatch(l)
	registryVersions.DeletePartialMatch(l)
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

func (a *ageCollector) metricFamily(now time.Time) *dto.MetricFamily {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := newFamilyBuilder(productionAge, len(a.since))
	for k, e := range a.since {
		b.add(now.Sub(e.since).Seconds(), k.namespace, k.product, e.version)
	}
	return b.done()
}

// Names lists every metric the operator exports, for tests and docs.
func Names() []string {
	return []string{
		"aipm_product_phase", "aipm_product_ready", "aipm_gate_passed", "aipm_objective_value", "aipm_objective_target",
		"aipm_objective_met", "aipm_production_version_info", "aipm_production_model_age_seconds", "aipm_rollout_step",
		"aipm_rollout_canary_weight_ratio", "aipm_rollout_canary_traffic_ratio", "aipm_rollout_phase", "aipm_analysis_metric_value", "aipm_drift_value",
		"aipm_drift_threshold", "aipm_drift_sustained", "aipm_model_versions", "aipm_experiment_phase",
		"aipm_retraining_runs_total", "aipm_retraining_duration_seconds", "aipm_rollouts_total", "aipm_experiments_total",
		"aipm_evaluations_total", "aipm_model_version_slice_gap", "aipm_model_version_slice_ratio", "aipm_guardrail_verdicts_total",
		"aipm_post_promotion_rollbacks_total", "aipm_drift_computations_total", "aipm_registry_syncs_total", "aipm_registry_versions_total",
	}
}
