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

package promotion

import (
	"math"
	"reflect"
	"testing"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func d(s string) *lifecyclev1alpha1.Decimal { x := lifecyclev1alpha1.Decimal(s); return &x }

func metrics(kv ...string) []lifecyclev1alpha1.EvaluationMetric {
	var out []lifecyclev1alpha1.EvaluationMetric
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, lifecyclev1alpha1.EvaluationMetric{Name: kv[i], Value: lifecyclev1alpha1.Decimal(kv[i+1])})
	}
	return out
}

func TestEvaluate(t *testing.T) {
	policy := &lifecyclev1alpha1.PromotionSpec{
		Requirements: []lifecyclev1alpha1.MetricRequirement{
			{Metric: "auc", Min: d("0.9")},
			{Metric: "dpd", Max: d("0.05")},
			{Metric: "latency", Min: d("0"), Max: d("0.1")},
		},
		MustBeatProduction: []lifecyclev1alpha1.ProductionComparison{
			{Metric: "auc", Better: lifecyclev1alpha1.HigherIsBetter, MinImprovement: d("0.01")},
			{Metric: "latency", Better: lifecyclev1alpha1.LowerIsBetter},
		},
	}
	good := metrics("auc", "0.95", "dpd", "0.02", "latency", "0.05")
	tests := []struct {
		name       string
		policy     *lifecyclev1alpha1.PromotionSpec
		candidate  []lifecyclev1alpha1.EvaluationMetric
		production []lifecyclev1alpha1.EvaluationMetric
		want       []string
	}{
		{"no policy admits anything", nil, nil, nil, nil},
		{"meets floors and ceilings, no production", policy, good, nil, nil},
		{"bounds are inclusive", policy, metrics("auc", "0.9", "dpd", "0.05", "latency", "0.1"), nil, nil},
		{"below a floor", policy, metrics("auc", "0.85", "dpd", "0.02", "latency", "0.05"), nil,
			[]string{"auc is 0.85, below the floor 0.9"}},
		{"above a ceiling", policy, metrics("auc", "0.95", "dpd", "0.07", "latency", "0.05"), nil,
			[]string{"dpd is 0.07, above the ceiling 0.05"}},
		{"missing metric", policy, metrics("auc", "0.95", "latency", "0.05"), nil,
			[]string{"metric dpd is missing"}},
		{"unparsable value reads as missing", policy, metrics("auc", "n/a", "dpd", "0.02", "latency", "0.05"), nil,
			[]string{"metric auc is missing"}},
		{"beats production by the margin", policy, good, metrics("auc", "0.94", "latency", "0.06"), nil},
		{"improvement below the margin", policy, good, metrics("auc", "0.945", "latency", "0.06"),
			[]string{"auc is 0.95 against production's 0.945; it must be higher by at least 0.01"}},
		{"lower is better and candidate is slower", policy, good, metrics("auc", "0.90", "latency", "0.04"),
			[]string{"latency is 0.05 against production's 0.04; it must be lower by at least 0"}},
		{"production lacks the metric: nothing to beat", policy, good, metrics("latency", "0.06"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Evaluate(tt.policy, tt.candidate, tt.production)
			if !reflect.DeepEqual(v.Reasons, tt.want) {
				t.Fatalf("reasons = %q, want %q", v.Reasons, tt.want)
			}
			if v.Eligible != (len(tt.want) == 0) {
				t.Fatalf("eligible = %v with reasons %q", v.Eligible, v.Reasons)
			}
		})
	}
}

func sliced(metric, by string, kv ...string) []lifecyclev1alpha1.EvaluationMetric {
	var out []lifecyclev1alpha1.EvaluationMetric
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, lifecyclev1alpha1.EvaluationMetric{Name: metric, Value: lifecyclev1alpha1.Decimal(kv[i+1]),
			Slice: map[string]string{by: kv[i]}})
	}
	return out
}

func TestEvaluateSlices(t *testing.T) {
	fourFifths := &lifecyclev1alpha1.PromotionSpec{Slices: []lifecyclev1alpha1.SliceRequirement{
		{Metric: "selection_rate", By: "group", MinRatio: d("0.8")}}}
	recall := &lifecyclev1alpha1.PromotionSpec{Slices: []lifecyclev1alpha1.SliceRequirement{
		{Metric: "recall", By: "group", MinSlices: 3, Min: d("0.7"), Max: d("0.99"), MaxGap: d("0.1")}}}
	overall := metrics("selection_rate", "0.3")
	tests := []struct {
		name      string
		policy    *lifecyclev1alpha1.PromotionSpec
		candidate []lifecyclev1alpha1.EvaluationMetric
		want      []string
	}{
		{"four-fifths holds", fourFifths, sliced("selection_rate", "group", "a", "0.30", "b", "0.25"), nil},
		{"four-fifths holds exactly at 0.8", fourFifths, sliced("selection_rate", "group", "a", "0.5", "b", "0.4"), nil},
		{"four-fifths broken by one group, named", fourFifths,
			sliced("selection_rate", "group", "a", "0.30", "b", "0.28", "age_60_plus", "0.18"),
			[]string{"selection_rate ratio of slice group=age_60_plus (0.18) to slice group=a (0.3) is 0.6, below the least allowed 0.8"}},
		{"one group says nothing", fourFifths, sliced("selection_rate", "group", "a", "0.30"),
			[]string{"selection_rate is reported for 1 slices by group; at least 2 are needed"}},
		{"overall values are not slices", fourFifths, overall,
			[]string{"selection_rate is reported for 0 slices by group; at least 2 are needed"}},
		{"slices of another label are not groups", fourFifths, sliced("selection_rate", "region", "eu", "0.3", "us", "0.1"),
			[]string{"selection_rate is reported for 0 slices by group; at least 2 are needed"}},
		{"intersections are left out", fourFifths, append(sliced("selection_rate", "group", "a", "0.30", "b", "0.27"),
			lifecyclev1alpha1.EvaluationMetric{Name: "selection_rate", Value: "0.01", Slice: map[string]string{"group": "a", "region": "eu"}}), nil},
		{"a zero best group leaves the ratio undefined", fourFifths, sliced("selection_rate", "group", "a", "0", "b", "0"),
			[]string{"selection_rate ratio between slices is undefined: group=a 0, group=b 0"}},
		{"floor, ceiling and gap hold", recall, sliced("recall", "group", "a", "0.8", "b", "0.85", "c", "0.88"), nil},
		{"floor and gap broken by the same group", recall, sliced("recall", "group", "a", "0.6", "b", "0.85", "c", "0.88"),
			[]string{"recall is 0.6 for slice group=a, below the floor 0.7",
				"recall gap between slices is 0.28 (group=a 0.6, group=c 0.88), above the most allowed 0.1"}},
		{"ceiling broken", recall, sliced("recall", "group", "a", "0.95", "b", "0.97", "c", "1"),
			[]string{"recall is 1 for slice group=c, above the ceiling 0.99"}},
		{"minSlices counts groups", recall, sliced("recall", "group", "a", "0.8", "b", "0.85"),
			[]string{"recall is reported for 2 slices by group; at least 3 are needed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Evaluate(tt.policy, tt.candidate, nil)
			if !reflect.DeepEqual(v.Reasons, tt.want) {
				t.Fatalf("reasons = %q, want %q", v.Reasons, tt.want)
			}
			if v.Eligible != (len(tt.want) == 0) {
				t.Fatalf("eligible = %v with reasons %q", v.Eligible, v.Reasons)
			}
		})
	}
}

func TestSpreads(t *testing.T) {
	policy := &lifecyclev1alpha1.PromotionSpec{Slices: []lifecyclev1alpha1.SliceRequirement{
		{Metric: "selection_rate", By: "group", MinRatio: d("0.8")},
		{Metric: "recall", By: "group", MaxGap: d("0.1")},
		{Metric: "precision", By: "group", Min: d("0.5")},
	}}
	ms := append(sliced("selection_rate", "group", "a", "0.3", "b", "0.15"), sliced("recall", "group", "a", "0", "b", "0")...)
	ms = append(ms, sliced("precision", "group", "a", "0.9")...)
	got := Spreads(policy, ms)
	if len(got) != 2 {
		t.Fatalf("spreads %+v; want two: precision has one group only", got)
	}
	if got[0].Metric != "selection_rate" || got[0].Gap != 0.15 || got[0].Ratio != 0.5 {
		t.Errorf("selection_rate spread %+v, want gap 0.15 and ratio 0.5", got[0])
	}
	if got[1].Metric != "recall" || got[1].Gap != 0 || !math.IsNaN(got[1].Ratio) {
		t.Errorf("recall spread %+v, want gap 0 and no ratio (the best group is 0)", got[1])
	}
	if Spreads(nil, ms) != nil {
		t.Error("spreads without a policy")
	}
}
