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

package metrics

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	rtmetrics "runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func product(name, production string, objectives ...string) *lifecyclev1alpha1.AIProduct {
	p := &lifecyclev1alpha1.AIProduct{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	p.Status.Phase = lifecyclev1alpha1.PhaseDelivery
	p.Status.ProductionVersion = production
	for _, o := range objectives {
		p.Status.Objectives = append(p.Status.Objectives, lifecyclev1alpha1.ObjectiveStatus{Name: o, Target: "0.5", Value: "0.7", Result: lifecyclev1alpha1.ResultMet})
	}
	p.Status.Drift = []lifecyclev1alpha1.DriftStatus{{Name: "psi", Threshold: "0.2", Value: "0.1", Result: lifecyclev1alpha1.ResultMet}}
	return p
}

// series counts a product's series of one gauge, or with values, those
// that also carry each value in some label.
func series(t *testing.T, f *family, name string, values ...string) int {
	t.Helper()
	mf := states.metricFamily(f)
	if f == productionAge {
		mf = age.metricFamily(time.Now())
	}
	if mf == nil {
		return 0
	}
	n := 0
	for _, m := range mf.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		ok := labels["product"] == name
		for _, v := range values {
			found := false
			for _, lv := range labels {
				found = found || lv == v
			}
			ok = ok && found
		}
		if ok {
			n++
		}
	}
	return n
}

func TestRecordProductKeepsExactlyTheStatusSeries(t *testing.T) {
	other := product("other", "o1", "ctr")
	RecordProduct(other, map[lifecyclev1alpha1.Stage]int{lifecyclev1alpha1.StageProduction: 1}, time.Now(), nil)
	defer DeleteProduct("ns", "other")

	RecordProduct(product("p", "v1", "ctr", "latency"), map[lifecyclev1alpha1.Stage]int{lifecyclev1alpha1.StageProduction: 1}, time.Now(), nil)
	if got := series(t, objectiveMet, "p"); got != 2 {
		t.Fatalf("objective_met series = %d, want 2", got)
	}

	// An objective removed and a new production version: their old series go.
	RecordProduct(product("p", "v2", "ctr"), map[lifecyclev1alpha1.Stage]int{lifecyclev1alpha1.StageProduction: 1}, time.Now(), nil)
	for vec, want := range map[*family]int{objectiveMet: 1, objectiveValue: 1, objectiveTarget: 1,
		productionInfo: 1, productPhase: 1, driftValue: 1, modelVersions: 1} {
		if got := series(t, vec, "p"); got != want {
			t.Errorf("%d series of a gauge after the second record, want %d", got, want)
		}
	}
	if got := series(t, productionInfo, "p", "v2"); got != 1 {
		t.Errorf("production_version_info{version=v2} series = %d, want 1", got)
	}

	// A state gauge has one series, for the state the product is in: a
	// phase or stage left behind takes its series with it.
	retired := product("p", "v2", "ctr")
	retired.Status.Phase = lifecyclev1alpha1.PhaseRetired
	RecordProduct(retired, map[lifecyclev1alpha1.Stage]int{lifecyclev1alpha1.StageArchived: 1, lifecyclev1alpha1.StageRejected: 2, lifecyclev1alpha1.StageProduction: 0}, time.Now(), nil)
	for _, c := range []struct {
		vec   *family
		state string
		want  int
	}{
		{productPhase, "Retired", 1}, {productPhase, "Delivery", 0},
		{modelVersions, "Archived", 1}, {modelVersions, "Rejected", 1}, {modelVersions, "Production", 0},
	} {
		if got := series(t, c.vec, "p", c.state); got != c.want {
			t.Errorf("%d series for state %s, want %d", got, c.state, c.want)
		}
	}

	DeleteProduct("ns", "p")
	for _, vec := range []*family{objectiveMet, productionInfo, productPhase, driftValue, modelVersions} {
		if got := series(t, vec, "p"); got != 0 {
			t.Errorf("%d series left after DeleteProduct", got)
		}
	}
	// Another product's series are untouched.
	if got := series(t, objectiveMet, "other"); got != 1 {
		t.Errorf("the other product's objective_met series = %d, want 1", got)
	}
}

// scrapeHandler serves one scrape of Handler over gatherer with the given
// Accept and Accept-Encoding, and returns its families by name.
func scrapeHandler(t *testing.T, gatherer prometheus.Gatherer, accept, encoding string) map[string]*dto.MetricFamily {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", accept)
	req.Header.Set("Accept-Encoding", encoding)
	rec := httptest.NewRecorder()
	Handler(gatherer).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	var body io.Reader = rec.Body
	if rec.Header().Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = gz
	}
	format := expfmt.ResponseFormat(rec.Header())
	if format.FormatType() == expfmt.TypeTextPlain {
		// The text parser refuses a family written twice, or a series
		// written under another family's TYPE line.
		parser := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := parser.TextToMetricFamilies(body)
		if err != nil {
			t.Fatalf("the scrape does not parse: %v", err)
		}
		return fams
	}
	fams := map[string]*dto.MetricFamily{}
	dec := expfmt.NewDecoder(body, format)
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); errors.Is(err, io.EOF) {
			return fams
		} else if err != nil {
			t.Fatal(err)
		}
		if _, dup := fams[mf.GetName()]; dup {
			t.Fatalf("family %s written twice", mf.GetName())
		}
		fams[mf.GetName()] = mf
	}
}

// A scrape has what the registry gathers and every state gauge, each family
// once, in the text format Prometheus asks for by default, gzip-encoded as
// it asks, and in the protobuf format that carries native histograms.
func TestHandlerServesRegistryAndStateGauges(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reconciles := prometheus.NewCounter(prometheus.CounterOpts{Name: "controller_runtime_reconcile_total", Help: "Reconciles."})
	reg.MustRegister(reconciles)
	reconciles.Add(3)

	p := product("gathered", "v1", "ctr", "latency")
	p.Status.Rollout = &lifecyclev1alpha1.RolloutStatus{Phase: lifecyclev1alpha1.RolloutPaused, Step: 1, Weight: 20}
	RecordProduct(p, map[lifecyclev1alpha1.Stage]int{lifecyclev1alpha1.StageProduction: 1, lifecyclev1alpha1.StageCandidate: 2}, time.Now().Add(-time.Minute),
		[]ExperimentState{{Name: "shadow", Phase: string(lifecyclev1alpha1.ExperimentRunning)}})
	defer DeleteProduct("ns", "gathered")

	for _, c := range []struct{ name, accept, encoding string }{
		{"text", "text/plain;version=0.0.4", ""},
		{"text, gzip", "text/plain;version=0.0.4", "gzip"},
		{"protobuf", `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`, "gzip"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fams := scrapeHandler(t, reg, c.accept, c.encoding)
			if got := fams["controller_runtime_reconcile_total"].GetMetric()[0].GetCounter().GetValue(); got != 3 {
				t.Errorf("the registry's counter = %v, want 3", got)
			}
			got := map[string]int{}
			for name, f := range fams {
				if f.GetType() != dto.MetricType_GAUGE && strings.HasPrefix(name, "aipm_") {
					t.Errorf("%s is a %s, want a gauge", name, f.GetType())
				}
				for _, m := range f.Metric {
					for _, l := range m.Label {
						if l.GetName() == "product" && l.GetValue() == "gathered" {
							got[name]++
						}
					}
				}
			}
			for name, want := range map[string]int{"aipm_product_phase": 1, "aipm_rollout_phase": 1, "aipm_rollout_step": 1,
				"aipm_objective_met": 2, "aipm_model_versions": 2, "aipm_experiment_phase": 1, "aipm_drift_threshold": 1,
				"aipm_production_model_age_seconds": 1} {
				if got[name] != want {
					t.Errorf("%s: %d series, want %d", name, got[name], want)
				}
			}
			age := fams["aipm_production_model_age_seconds"].GetMetric()[0].GetGauge().GetValue()
			if age < 60 || age > 3600 {
				t.Errorf("production model age = %vs, want about a minute", age)
			}
		})
	}
}

// fleet records 5,000 products with the benchmark fleet's series (two
// objectives, three drift checks) and returns a func that deletes them.
func fleet() func() {
	for i := range 5000 {
		p := product(fmt.Sprintf("fleet-%d", i), "v1", "ctr", "latency")
		p.Status.Drift = append(p.Status.Drift,
			lifecyclev1alpha1.DriftStatus{Name: "ks", Threshold: "0.01", Value: "0.4", Result: lifecyclev1alpha1.ResultMet},
			lifecyclev1alpha1.DriftStatus{Name: "wasserstein", Threshold: "0.3", Value: "0.1", Result: lifecyclev1alpha1.ResultMet})
		RecordProduct(p, map[lifecyclev1alpha1.Stage]int{lifecyclev1alpha1.StageProduction: 1, lifecyclev1alpha1.StageCandidate: 2}, time.Now(), nil)
	}
	return func() {
		for i := range 5000 {
			DeleteProduct("ns", fmt.Sprintf("fleet-%d", i))
		}
	}
}

// discard is a ResponseWriter that keeps nothing, so that a benchmark
// measures the scrape and not a buffer of its answer.
type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// BenchmarkScrapeFleet measures a scrape of the state gauges of 5,000
// products, in the text format, as Prometheus takes it.
func BenchmarkScrapeFleet(b *testing.B) {
	defer fleet()()
	h := Handler(prometheus.NewRegistry())
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	b.ReportAllocs()
	peak := 0.0
	for b.Loop() {
		peak = max(peak, heapGrowth(func() { h.ServeHTTP(discard{h: http.Header{}}, req) }))
	}
	b.ReportMetric(peak/(1<<20), "peak-heap-MiB")
}

// heapGrowth runs f and returns by how much the heap grew above where it
// was, at most, sampled every 100µs: what a scrape holds at once, garbage
// not yet collected included.
func heapGrowth(f func()) float64 {
	runtime.GC()
	sample := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() float64 { rtmetrics.Read(sample); return float64(sample[0].Value.Uint64()) }
	base, peak := read(), 0.0
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	t := time.NewTicker(100 * time.Microsecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return max(peak, read()) - base
		case <-t.C:
			peak = max(peak, read())
		}
	}
}

// BenchmarkScrapeFleetRegistry measures the upstream alternative to
// Handler for the same 5,000 products: each state family a GaugeVec on a
// Prometheus registry, served by promhttp. The series are read back from
// Handler's own scrape, so that both serve exactly the same ones.
func BenchmarkScrapeFleetRegistry(b *testing.B) {
	defer fleet()()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	rec := httptest.NewRecorder()
	Handler(prometheus.NewRegistry()).ServeHTTP(rec, req)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	series := 0
	for name, mf := range mfs {
		if len(mf.GetMetric()) == 0 {
			continue
		}
		var labels []string
		for _, l := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: mf.GetHelp()}, labels)
		reg.MustRegister(vec)
		for _, m := range mf.GetMetric() {
			values := make([]string, 0, len(labels))
			for _, l := range m.GetLabel() {
				values = append(values, l.GetValue())
			}
			vec.WithLabelValues(values...).Set(m.GetGauge().GetValue())
			series++
		}
	}
	b.ReportMetric(float64(series), "series")
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	b.ReportAllocs()
	peak := 0.0
	for b.Loop() {
		peak = max(peak, heapGrowth(func() { h.ServeHTTP(discard{h: http.Header{}}, req) }))
	}
	b.ReportMetric(peak/(1<<20), "peak-heap-MiB")
}

// BenchmarkRecordProduct measures one product's record after a reconcile.
func BenchmarkRecordProduct(b *testing.B) {
	p := product("bench", "v1", "ctr", "latency")
	defer DeleteProduct("ns", "bench")
	counts := map[lifecyclev1alpha1.Stage]int{lifecyclev1alpha1.StageProduction: 1, lifecyclev1alpha1.StageCandidate: 2}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		RecordProduct(p, counts, now, nil)
	}
}

func TestSliceGaugesFollowTheVersion(t *testing.T) {
	count := func() int {
		n := 0
		for _, c := range []prometheus.Collector{sliceGap, sliceRatio} {
			ch := make(chan prometheus.Metric, 16)
			c.Collect(ch)
			close(ch)
			n += len(ch)
		}
		return n
	}
	before := count()
	RecordSlices("ml", "churn", "churn-v1", []SliceSpread{{Metric: "recall", By: "group", Gap: 0.1, Ratio: 0.8},
		{Metric: "selection_rate", By: "group", Gap: 0.2, Ratio: math.NaN()}})
	if got := count() - before; got != 3 {
		t.Fatalf("%d series after recording two spreads, one without a ratio; want 3", got)
	}
	RecordSlices("ml", "churn", "churn-v1", []SliceSpread{{Metric: "recall", By: "group", Gap: 0.05, Ratio: 0.9}})
	if got := count() - before; got != 2 {
		t.Fatalf("%d series after replacing them with one spread; want 2", got)
	}
	DeleteVersion("ml", "churn-v1")
	if got := count() - before; got != 0 {
		t.Fatalf("%d series left after the version went; want none", got)
	}
}
