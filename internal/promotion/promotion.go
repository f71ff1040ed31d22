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
	"math"
	"sort"
	"strconv"

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
	for _, req := range policy.Slices {
		reasons = append(reasons, slices(req, candidate)...)
	}
	return Verdict{Eligible: len(reasons) == 0, Reasons: reasons}
}

// index parses the metrics measured on the whole data set once; a value
// that does not parse is left out, so that a requirement on it reads as
// missing rather than as zero. A value of one slice says nothing of the
// model as a whole.
func index(ms []lifecyclev1alpha1.EvaluationMetric) map[string]float64 {
	out := make(map[string]float64, len(ms))
	for _, m := range ms {
		if len(m.Slice) > 0 {
			continue
		}
		if v, err := m.Value.Float64(); err == nil {
			out[m.Name] = v
		}
	}
	return out
}

// group is one slice's value of a metric.
type group struct {
	name  string
	value float64
}

// slices judges one metric across the groups of one slice label: the
// values whose slice is exactly {by: group}. A slice that also names
// another label is a finer cut (an intersection) and is left out, since a
// gap between groups of different granularity means nothing. Messages
// name the worst group.
func slices(req lifecyclev1alpha1.SliceRequirement, ms []lifecyclev1alpha1.EvaluationMetric) []string {
	groups := groupsOf(req, ms)
	need := req.MinSlices
	if need < 1 {
		need = 2
	}
	if int32(len(groups)) < need {
		return []string{fmt.Sprintf("%s is reported for %d slices by %s; at least %d are needed", req.Metric, len(groups), req.By, need)}
	}
	low, high := groups[0], groups[len(groups)-1]
	dec := lifecyclev1alpha1.DecimalOf
	var reasons []string
	bound := func(b *lifecyclev1alpha1.Decimal, what string) (float64, bool) {
		if b == nil {
			return 0, false
		}
		f, err := b.Float64()
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("%s of slice requirement %s by %s: %v", what, req.Metric, req.By, err))
			return 0, false
		}
		return f, true
	}
	if floor, ok := bound(req.Min, "min"); ok && low.value < floor {
		reasons = append(reasons, fmt.Sprintf("%s is %s for slice %s, below the floor %s", req.Metric, dec(low.value), low.name, *req.Min))
	}
	if ceiling, ok := bound(req.Max, "max"); ok && high.value > ceiling {
		reasons = append(reasons, fmt.Sprintf("%s is %s for slice %s, above the ceiling %s", req.Metric, dec(high.value), high.name, *req.Max))
	}
	if gap, ok := bound(req.MaxGap, "maxGap"); ok && high.value-low.value > gap {
		reasons = append(reasons, fmt.Sprintf("%s gap between slices is %s (%s %s, %s %s), above the most allowed %s",
			req.Metric, dec(round(high.value-low.value)), low.name, dec(low.value), high.name, dec(high.value), *req.MaxGap))
	}
	if ratio, ok := bound(req.MinRatio, "minRatio"); ok {
		switch {
		case high.value <= 0 || low.value < 0:
			// A ratio of rates is defined for non-negative values with a
			// positive best; anything else cannot show the groups are
			// treated alike.
			reasons = append(reasons, fmt.Sprintf("%s ratio between slices is undefined: %s %s, %s %s",
				req.Metric, low.name, dec(low.value), high.name, dec(high.value)))
		case low.value/high.value < ratio:
			reasons = append(reasons, fmt.Sprintf("%s ratio of slice %s (%s) to slice %s (%s) is %s, below the least allowed %s",
				req.Metric, low.name, dec(low.value), high.name, dec(high.value), dec(round(low.value/high.value)), *req.MinRatio))
		}
	}
	return reasons
}

// groupsOf are the values of req's metric whose slice is exactly
// {by: group}, sorted by value, then name, so that the same metrics
// always give the same message.
func groupsOf(req lifecyclev1alpha1.SliceRequirement, ms []lifecyclev1alpha1.EvaluationMetric) []group {
	var groups []group
	for _, m := range ms {
		g, ok := m.Slice[req.By]
		if m.Name != req.Metric || !ok || len(m.Slice) != 1 {
			continue
		}
		v, err := m.Value.Float64()
		if err != nil {
			continue
		}
		groups = append(groups, group{name: req.By + "=" + g, value: v})
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].value != groups[j].value {
			return groups[i].value < groups[j].value
		}
		return groups[i].name < groups[j].name
	})
	return groups
}

// round keeps a computed figure readable in a message: four significant
// digits, so that 0.88-0.6 reads 0.28 rather than 0.28000000000000003.
func round(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 4, 64), 64)
	return v
}

// Spread is how far apart the groups of one slice requirement are.
type Spread struct {
	Metric, By string
	// Gap is the highest group's value less the lowest's.
	Gap float64
	// Ratio is the lowest group's value over the highest's; NaN when the
	// highest is not positive or the lowest is negative.
	Ratio float64
}

// Spreads measures each slice requirement of policy on ms, for the ones
// with at least two groups.
func Spreads(policy *lifecyclev1alpha1.PromotionSpec, ms []lifecyclev1alpha1.EvaluationMetric) []Spread {
	if policy == nil {
		return nil
	}
	var out []Spread
	for _, req := range policy.Slices {
		groups := groupsOf(req, ms)
		if len(groups) < 2 {
			continue
		}
		lo, hi := groups[0].value, groups[len(groups)-1].value
		ratio := math.NaN()
		if hi > 0 && lo >= 0 {
			ratio = lo / hi
		}
		out = append(out, Spread{Metric: req.Metric, By: req.By, Gap: hi - lo, Ratio: ratio})
	}
	return out
}
