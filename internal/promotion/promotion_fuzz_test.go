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
	"testing"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func decimal(s string) *lifecyclev1alpha1.Decimal {
	if s == "-" {
		return nil
	}
	d := lifecyclev1alpha1.Decimal(s)
	return &d
}

// FuzzEvaluate judges a candidate whose metrics, floors, ceilings and
// margins are arbitrary decimal strings (a trainer reports the metrics, a
// team writes the policy). An Eligible verdict must be one a person would
// reach with a calculator; anything unreadable must block, never pass.
func FuzzEvaluate(f *testing.F) {
	f.Add("0.9", "0.8", "-", "0.85", "0.01", false)
	f.Add("0.9", "-", "0.1", "-", "-", true)
	f.Add("1e999", "0.8", "-", "0.5", "-", false)
	f.Add("0.9", "abc", "-", "0.5", "-", false)
	f.Add("0.9", "0.8", "-", "1e999", "0.01", false)
	f.Add("0.9", "0.8", "-", "0.85", "NaN", true)
	f.Add("-1e308", "-", "-", "1e308", "0", true)
	f.Fuzz(func(t *testing.T, value, floor, ceiling, production, margin string, lowerIsBetter bool) {
		better := lifecyclev1alpha1.HigherIsBetter
		if lowerIsBetter {
			better = lifecyclev1alpha1.LowerIsBetter
		}
		policy := &lifecyclev1alpha1.PromotionSpec{
			Requirements:       []lifecyclev1alpha1.MetricRequirement{{Metric: "auc", Min: decimal(floor), Max: decimal(ceiling)}},
			MustBeatProduction: []lifecyclev1alpha1.ProductionComparison{{Metric: "auc", Better: better, MinImprovement: decimal(margin)}},
		}
		candidate := []lifecyclev1alpha1.EvaluationMetric{{Name: "auc", Value: lifecyclev1alpha1.Decimal(value)}}
		var prod []lifecyclev1alpha1.EvaluationMetric
		if production != "-" {
			prod = []lifecyclev1alpha1.EvaluationMetric{{Name: "auc", Value: lifecyclev1alpha1.Decimal(production)}}
		}
		verdict := Evaluate(policy, candidate, prod)
		if verdict.Eligible != (len(verdict.Reasons) == 0) {
			t.Fatalf("Eligible %v with reasons %q", verdict.Eligible, verdict.Reasons)
		}
		if !verdict.Eligible {
			return
		}
		v, err := lifecyclev1alpha1.Decimal(value).Float64()
		if err != nil {
			t.Fatalf("eligible with an unreadable metric %q", value)
		}
		if p := decimal(floor); p != nil {
			if lo, err := p.Float64(); err != nil || v < lo {
				t.Fatalf("eligible: %s against the floor %s (%v)", value, floor, err)
			}
		}
		if p := decimal(ceiling); p != nil {
			if hi, err := p.Float64(); err != nil || v > hi {
				t.Fatalf("eligible: %s against the ceiling %s (%v)", value, ceiling, err)
			}
		}
		pv, perr := lifecyclev1alpha1.Decimal(production).Float64()
		if prod == nil || perr != nil {
			return // nothing in production to beat on this metric
		}
		m := 0.0
		if p := decimal(margin); p != nil {
			if m, err = p.Float64(); err != nil {
				t.Fatalf("eligible with an unreadable margin %q", margin)
			}
		}
		improvement := v - pv
		if lowerIsBetter {
			improvement = pv - v
		}
		if !(improvement >= m) {
			t.Fatalf("eligible: %s against production %s improves by %v, less than %v", value, production, improvement, m)
		}
	})
}
