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
