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

// Package promotion judges a model version against its product's promotion
// policy: floors and ceilings on its evaluation metrics, and the metrics on
// which it must beat the version in production.
package promotion

import (
	"fmt"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// Verdict is the outcome of a policy check.
type Verdict struct {
	// Eligible is true when every requirement holds.
	Eligible bool
	// Reasons lists each unmet requirement in words; empty when Eligible.
	Reasons []string
}

// Evaluate judges candidate metrics against policy. production holds the
// metrics of the version in production, or nil when there is none: a first
// version has nothing to beat. A nil policy admits every version.
func Evaluate(policy *lifecyclev1alpha1.PromotionSpec, candidate, production []lifecyclev1alpha1.EvaluationMetric) Verdict {
	if policy == nil {
		return Verdict{Eligible: true}
	}
	have := index(candidate)
	var reasons []string
	for _, req := range policy.Requirements {
		v, ok := have[req.Metric]
		if !ok {
			reasons = append(reasons, fmt.Sprintf("metric %s is missing", req.Metric))
			continue
		}
		if req.Min != nil {
			if floor, err := req.Min.Float64(); err != nil {
				reasons = append(reasons, fmt.Sprintf("min of %s: %v", req.Metric, err))
			} else if v < floor {
				reasons = append(reasons, fmt.Sprintf("%s is %s, below the floor %s", req.Metric, lifecyclev1alpha1.DecimalOf(v), *req.Min))
			}
		}
		if req.Max != nil {
			if ceiling, err := req.Max.Float64(); err != nil {
				reasons = append(reasons, fmt.Sprintf("max of %s: %v", req.Metric, err))
			} else if v > ceiling {
				reasons = append(reasons, fmt.Sprintf("%s is %s, above the ceiling %s", req.Metric, lifecyclev1alpha1.DecimalOf(v), *req.Max))
			}
		}
	}
	if production != nil {
		prod := index(production)
		for _, cmp := range policy.MustBeatProduction {
			c, ok := have[cmp.Metric]
			if !ok {
				reasons = append(reasons, fmt.Sprintf("metric %s is missing; it must beat production", cmp.Metric))
				continue
			}
			p, ok := prod[cmp.Metric]
			if !ok {
				// Production cannot be beaten on a metric it never reported;
				// refusing here would block every version forever.
				continue
			}
			margin := 0.0
			if cmp.MinImprovement != nil {
				m, err := cmp.MinImprovement.Float64()
				if err != nil {
					reasons = append(reasons, fmt.Sprintf("minImprovement of %s: %v", cmp.Metric, err))
					continue
				}
				margin = m
			}
			improvement := c - p
			if cmp.Better == lifecyclev1alpha1.LowerIsBetter {
				improvement = p - c
			}
			if improvement < margin {
				reasons = append(reasons, fmt.Sprintf("%s is %s against production's %s; it must be %s by at least %s",
					cmp.Metric, lifecyclev1alpha1.DecimalOf(c), lifecyclev1alpha1.DecimalOf(p),
					map[lifecyclev1alpha1.Better]string{lifecyclev1alpha1.HigherIsBetter: "higher", lifecyclev1alpha1.LowerIsBetter: "lower"}[cmp.Better],
					lifecyclev1alpha1.DecimalOf(margin)))
			}
		}
	}
	return Verdict{Eligible: len(reasons) == 0, Reasons: reasons}
}

// index parses the metrics once; a value that does not parse is left out,
// so that a requirement on it reads as missing rather than as zero.
func index(ms []lifecyclev1alpha1.EvaluationMetric) map[string]float64 {
	out := make(map[string]float64, len(ms))
	for _, m := range ms {
		if v, err := m.Value.Float64(); err == nil {
			out[m.Name] = v
		}
	}
	return out
}
