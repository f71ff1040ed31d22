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

package drift

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// buckets renders counts per bucket as a histogram query's result:
// cumulative, bounds 1, 2, ... and +Inf last, in scrambled order.
func buckets(counts []float64) model.Vector {
	vec := model.Vector{}
	cum := 0.0
	for i, c := range counts {
		cum += c
		le := strconv.Itoa(i + 1)
		if i == len(counts)-1 {
			le = "+Inf"
		}
		vec = append(model.Vector{{Metric: model.Metric{"le": model.LabelValue(le)}, Value: model.SampleValue(cum)}}, vec...)
	}
	return vec
}

// The reference values come from SciPy and NumPy, not from this package:
// testdata/reference.py computes them.
func TestStatisticsAgainstSciPy(t *testing.T) {
	tests := []struct {
		name        string
		current     []float64
		reference   []float64
		psi, js, ks float64
	}{
		{"shifted", []float64{10, 20, 40, 20, 10}, []float64{30, 30, 20, 15, 5}, 0.4479398673070137, 0.2796978099987175, 0.3},
		{"identical", []float64{5, 5, 5, 5}, []float64{5, 5, 5, 5}, 0.0, 0.0, 0.0},
		{"uneven sizes", []float64{100, 250, 400, 180, 70}, []float64{12, 30, 41, 11, 6}, 0.0490242958565987, 0.09367687982164886, 0.08},
		{"empty bucket now", []float64{0, 30, 50, 20}, []float64{10, 30, 40, 20}, 0.7123991075017365, 0.23241293654355832, 0.1},
		{"tail appears", []float64{40, 40, 10, 10}, []float64{50, 50, 0, 0}, 1.424798215003473, 0.3286815269308577, 0.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, err := FromBuckets(buckets(tt.current))
			if err != nil {
				t.Fatal(err)
			}
			ref, err := FromBuckets(buckets(tt.reference))
			if err != nil {
				t.Fatal(err)
			}
			for stat, want := range map[lifecyclev1alpha1.DriftStatistic]float64{
				lifecyclev1alpha1.StatisticPSI: tt.psi, lifecyclev1alpha1.StatisticJensenShannon: tt.js, lifecyclev1alpha1.StatisticKS: tt.ks} {
				got, err := Compare(stat, cur, ref)
				if err != nil {
					t.Fatalf("%s: %v", stat, err)
				}
				if math.Abs(got-want) > 1e-12 {
					t.Errorf("%s = %.17g, SciPy says %.17g", stat, got, want)
				}
			}
		})
	}
}

func TestHistogramsThatCannotBeCompared(t *testing.T) {
	le := func(bound string, v float64) *model.Sample {
		return &model.Sample{Metric: model.Metric{"le": model.LabelValue(bound)}, Value: model.SampleValue(v)}
	}
	good, _ := FromBuckets(buckets([]float64{1, 2, 3}))
	tests := []struct {
		name      string
		vec       model.Vector
		reference Histogram
		stat      lifecyclev1alpha1.DriftStatistic
		want      string
	}{
		{"no series", model.Vector{}, good, lifecyclev1alpha1.StatisticPSI, "returned no buckets"},
		{"not buckets", model.Vector{{Metric: model.Metric{"feature": "tenure"}, Value: 3}}, good, lifecyclev1alpha1.StatisticPSI, "has no le label"},
		{"a bound that is not a number", model.Vector{le("x", 1)}, good, lifecyclev1alpha1.StatisticPSI, `le="x" is not a bucket bound`},
		{"not aggregated by le", model.Vector{le("1", 1), le("1", 2)}, good, lifecyclev1alpha1.StatisticPSI, "aggregate the query by le"},
		{"other buckets than the reference", buckets([]float64{1, 2}), good, lifecyclev1alpha1.StatisticPSI, "2 buckets now and 3 in the reference"},
		{"no observations now", buckets([]float64{0, 0, 0}), good, lifecyclev1alpha1.StatisticPSI, "no observations now"},
		{"a statistic not computed here", buckets([]float64{1, 1, 1}), good, lifecyclev1alpha1.StatisticKL, "not computed from a histogram"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := FromBuckets(tt.vec)
			if err == nil {
				_, err = Compare(tt.stat, h, tt.reference)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestBucketsThatDipAreEmpty(t *testing.T) {
	// Counters of one histogram are scraped together but not atomically: a
	// cumulative count may read a little below the one before it.
	h, err := FromBuckets(model.Vector{
		{Metric: model.Metric{"le": "1"}, Value: 5},
		{Metric: model.Metric{"le": "2"}, Value: 4},
		{Metric: model.Metric{"le": "+Inf"}, Value: 9},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{5, 0, 4}; !equal(h.Counts, want) {
		t.Fatalf("counts = %v, want %v", h.Counts, want)
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReferenceTime(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	week := metav1.Duration{Duration: 168 * time.Hour}
	trained := func(end time.Time) *lifecyclev1alpha1.ModelVersion {
		return &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: "churn-v3"}, Spec: lifecyclev1alpha1.ModelVersionSpec{
			Lineage: &lifecyclev1alpha1.Lineage{Dataset: &lifecyclev1alpha1.Dataset{Window: &lifecyclev1alpha1.TimeWindow{
				Start: metav1.NewTime(end.Add(-720 * time.Hour)), End: metav1.NewTime(end)}}}}}
	}
	untrained := &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: "churn-v1"}}
	tests := []struct {
		name string
		ref  lifecyclev1alpha1.DriftReference
		prod *lifecyclev1alpha1.ModelVersion
		at   time.Time
		err  string
	}{
		{"an offset", lifecyclev1alpha1.DriftReference{Offset: &week}, nil, now.Add(-168 * time.Hour), ""},
		{"the end of the training window", lifecyclev1alpha1.DriftReference{TrainingWindow: true}, trained(now.Add(-48 * time.Hour)), now.Add(-48 * time.Hour), ""},
		{"no production version", lifecyclev1alpha1.DriftReference{TrainingWindow: true}, nil, time.Time{}, "no production version"},
		{"a production version without a window", lifecyclev1alpha1.DriftReference{TrainingWindow: true}, untrained, time.Time{},
			"production version churn-v1 records no training window (spec.lineage.dataset.window)"},
		{"a window that ends in the future", lifecyclev1alpha1.DriftReference{TrainingWindow: true}, trained(now.Add(time.Hour)), time.Time{}, "ends in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, _, err := ReferenceTime(tt.ref, tt.prod, now)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !at.Equal(tt.at) {
				t.Fatalf("at = %v, %v; want %v", at, err, tt.at)
			}
		})
	}
}
