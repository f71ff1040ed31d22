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
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func product(name, production string, objectives ...string) *v1.AIProduct {
	p := &v1.AIProduct{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	p.Status.Phase = v1.PhaseDelivery
	p.Status.ProductionVersion = production
	for _, o := range objectives {
		p.Status.Objectives = append(p.Status.Objectives, v1.ObjectiveStatus{Name: o, Target: "0.5", Value: "0.7", Result: v1.ResultMet})
	}
	p.Status.Drift = []v1.DriftStatus{{Name: "psi", Threshold: "0.2", Value: "0.1", Result: v1.ResultMet}}
	return p
}

// series counts a product's series of one gauge, or with values, those
// that also carry each value in some label.
func series(t *testing.T, desc *prometheus.Desc, name string, values ...string) int {
	t.Helper()
	n := 0
	ch := make(chan prometheus.Metric, 1000)
	states.Collect(ch)
	close(ch)
	for m := range ch {
		if m.Desc() != desc {
			continue
		}
		d := &dto.Metric{}
		if err := m.Write(d); err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{}
		for _, l := range d.Label {
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
	RecordProduct(other, map[v1.Stage]int{v1.StageProduction: 1}, time.Now())
	defer DeleteProduct("ns", "other")

	RecordProduct(product("p", "v1", "ctr", "latency"), map[v1.Stage]int{v1.StageProduction: 1}, time.Now())
	if got := series(t, objectiveMet, "p"); got != 2 {
		t.Fatalf("objective_met series = %d, want 2", got)
	}

	// An objective removed and a new production version: their old series go.
	RecordProduct(product("p", "v2", "ctr"), map[v1.Stage]int{v1.StageProduction: 1}, time.Now())
	for vec, want := range map[*prometheus.Desc]int{objectiveMet: 1, objectiveValue: 1, objectiveTarget: 1,
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
	retired.Status.Phase = v1.PhaseRetired
	RecordProduct(retired, map[v1.Stage]int{v1.StageArchived: 1, v1.StageRejected: 2, v1.StageProduction: 0}, time.Now())
	for _, c := range []struct {
		vec   *prometheus.Desc
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
	for _, vec := range []*prometheus.Desc{objectiveMet, productionInfo, productPhase, driftValue, modelVersions} {
		if got := series(t, vec, "p"); got != 0 {
			t.Errorf("%d series left after DeleteProduct", got)
		}
	}
	// Another product's series are untouched.
	if got := series(t, objectiveMet, "other"); got != 1 {
		t.Errorf("the other product's objective_met series = %d, want 1", got)
	}
}

// The collector's output must pass the registry's own checks: no duplicate
// series, one label set per metric name, help and type as described.
func TestStateSeriesGatherCleanly(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(states)
	p := product("gathered", "v1", "ctr", "latency")
	p.Status.Rollout = &v1.RolloutStatus{Phase: v1.RolloutPaused, Step: 1, Weight: 20}
	p.Status.Experiments = []v1.ExperimentStatus{{Name: "shadow", Phase: v1.ExperimentRunning}}
	RecordProduct(p, map[v1.Stage]int{v1.StageProduction: 1, v1.StageCandidate: 2}, time.Now())
	defer DeleteProduct("ns", "gathered")
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range fams {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "product" && l.GetValue() == "gathered" {
					got[f.GetName()]++
				}
			}
		}
	}
	for name, want := range map[string]int{"aipm_product_phase": 1, "aipm_rollout_phase": 1, "aipm_rollout_step": 1,
		"aipm_objective_met": 2, "aipm_model_versions": 2, "aipm_experiment_phase": 1, "aipm_drift_threshold": 1} {
		if got[name] != want {
			t.Errorf("%s: %d series, want %d", name, got[name], want)
		}
	}
}

// BenchmarkCollectFleet measures a scrape of the state gauges of 5,000
// products, the cost paid per scrape for holding them as samples.
func BenchmarkCollectFleet(b *testing.B) {
	for i := range 5000 {
		p := product(fmt.Sprintf("fleet-%d", i), "v1", "ctr", "latency")
		RecordProduct(p, map[v1.Stage]int{v1.StageProduction: 1, v1.StageCandidate: 2}, time.Now())
		defer DeleteProduct("ns", p.Name)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(states)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordProduct measures one product's record after a reconcile.
func BenchmarkRecordProduct(b *testing.B) {
	p := product("bench", "v1", "ctr", "latency")
	defer DeleteProduct("ns", "bench")
	counts := map[v1.Stage]int{v1.StageProduction: 1, v1.StageCandidate: 2}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		RecordProduct(p, counts, now)
	}
}
