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
func series(t *testing.T, vec *prometheus.GaugeVec, name string, values ...string) int {
	t.Helper()
	n := 0
	ch := make(chan prometheus.Metric, 1000)
	vec.Collect(ch)
	close(ch)
	for m := range ch {
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
	for vec, want := range map[*prometheus.GaugeVec]int{objectiveMet: 1, objectiveValue: 1, objectiveTarget: 1,
		productionInfo: 1, productPhase: 4, driftValue: 1, modelVersions: 5} {
		if got := series(t, vec, "p"); got != want {
			t.Errorf("%d series of a gauge after the second record, want %d", got, want)
		}
	}
	if got := series(t, productionInfo, "p", "v2"); got != 1 {
		t.Errorf("production_version_info{version=v2} series = %d, want 1", got)
	}

	DeleteProduct("ns", "p")
	for _, vec := range []*prometheus.GaugeVec{objectiveMet, productionInfo, productPhase, driftValue, modelVersions} {
		if got := series(t, vec, "p"); got != 0 {
			t.Errorf("%d series left after DeleteProduct", got)
		}
	}
	// Another product's series are untouched.
	if got := series(t, objectiveMet, "other"); got != 1 {
		t.Errorf("the other product's objective_met series = %d, want 1", got)
	}
}
