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

// Package experiment judges discovery experiments: each success criterion
// against its threshold, or the candidate (B) against production (A), and
// the experiment as a whole at its end. It knows nothing of the API server.
package experiment

import (
	"context"
	"fmt"
	"math"
	"strings"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/judge"
)

// Query runs a criterion's (or the sample) query for one version.
type Query func(ctx context.Context, query lifecyclev1alpha1.PromQL, version string) (float64, error)

// LiveTraffic reports whether an experiment takes production traffic (a
// copy, or a share of it), so that two such experiments never run at once.
func LiveTraffic(t lifecyclev1alpha1.ExperimentType) bool {
	return t == lifecyclev1alpha1.ExperimentShadow || t == lifecyclev1alpha1.ExperimentABTest
}

// Evaluate measures every criterion once. candidate is the candidate
// version; control is production, used by criteria that compare against it.
func Evaluate(ctx context.Context, e lifecyclev1alpha1.DiscoveryExperiment, candidate, control string, q Query) []lifecyclev1alpha1.CriterionStatus {
	out := make([]lifecyclev1alpha1.CriterionStatus, 0, len(e.SuccessCriteria))
	for _, c := range e.SuccessCriteria {
		st := lifecyclev1alpha1.CriterionStatus{Name: c.Name, Result: lifecyclev1alpha1.ResultUnknown}
		b, err := q(ctx, c.Query, candidate)
		if err == nil {
			st.Value = lifecyclev1alpha1.DecimalOf(b)
		}
		threshold, terr := c.Threshold.Float64()
		switch {
		case err != nil || terr != nil:
		case !c.CompareToControl:
			st.Result = judge.Threshold(b, threshold, c.Direction)
		case control == "":
		default:
			a, aerr := q(ctx, c.Query, control)
			if aerr != nil {
				break
			}
			st.ControlValue = lifecyclev1alpha1.DecimalOf(a)
			st.Result = Compare(b, a, threshold, c.Direction)
		}
		out = append(out, st)
	}
	return out
}

// Compare judges B against A with a relative margin: AtLeast with margin
// 0.05 means B >= A * 1.05 (B at least 5% above A); AtMost with margin 0.05
// means B <= A * 1.05 (B at most 5% above A). Relative to |A|, so that a
// negative baseline moves the bound the right way.
func Compare(b, a, margin float64, dir lifecyclev1alpha1.Direction) lifecyclev1alpha1.CheckResult {
	bound := a + math.Abs(a)*margin
	return judge.Threshold(b, bound, dir)
}

// Verdict decides an experiment at its end from its last evaluation: Failed
// when a criterion missed, Inconclusive when one had no value or an arm has
// fewer samples than required, Succeeded when every criterion was met.
func Verdict(e lifecyclev1alpha1.DiscoveryExperiment, criteria []lifecyclev1alpha1.CriterionStatus, candidateSamples, controlSamples *float64) (lifecyclev1alpha1.ExperimentVerdict, string) {
	specs := map[string]lifecyclev1alpha1.SuccessCriterion{}
	for _, c := range e.SuccessCriteria {
		specs[c.Name] = c
	}
	if len(criteria) == 0 {
		return lifecyclev1alpha1.VerdictInconclusive, "no evaluation was made"
	}
	var missed, unknown []string
	for _, c := range criteria {
		spec := specs[c.Name]
		switch c.Result {
		case lifecyclev1alpha1.ResultMissed:
			missed = append(missed, describe(spec, c))
		case lifecyclev1alpha1.ResultUnknown:
			unknown = append(unknown, c.Name)
		}
	}
	if min := ptrValue(e.MinSamples); min > 0 {
		need := float64(min)
		if candidateSamples == nil || *candidateSamples < need {
			return lifecyclev1alpha1.VerdictInconclusive, fmt.Sprintf("the candidate saw %s samples, fewer than the %d required", show(candidateSamples), min)
		}
		if e.Type == lifecyclev1alpha1.ExperimentABTest && (controlSamples == nil || *controlSamples < need) {
			return lifecyclev1alpha1.VerdictInconclusive, fmt.Sprintf("production saw %s samples, fewer than the %d required", show(controlSamples), min)
		}
	}
	switch {
	case len(missed) > 0:
		return lifecyclev1alpha1.VerdictFailed, strings.Join(missed, "; ")
	case len(unknown) > 0:
		return lifecyclev1alpha1.VerdictInconclusive, "no data for " + strings.Join(unknown, ", ")
	}
	return lifecyclev1alpha1.VerdictSucceeded, fmt.Sprintf("all %d criteria met", len(criteria))
}

func describe(spec lifecyclev1alpha1.SuccessCriterion, c lifecyclev1alpha1.CriterionStatus) string {
	word := "at least"
	if spec.Direction == lifecyclev1alpha1.AtMost {
		word = "at most"
	}
	if spec.CompareToControl {
		return fmt.Sprintf("criterion %s: candidate %s against production %s, must be %s %s relative", c.Name, c.Value, c.ControlValue, word, spec.Threshold)
	}
	return fmt.Sprintf("criterion %s was %s, threshold %s %s", c.Name, c.Value, word, spec.Threshold)
}

func ptrValue(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func show(f *float64) string {
	if f == nil {
		return "no"
	}
	return string(lifecyclev1alpha1.DecimalOf(*f))
}

// Samples runs the sample query for one version; nil when it has no value.
func Samples(ctx context.Context, e lifecyclev1alpha1.DiscoveryExperiment, version string, q Query) *float64 {
	if e.SampleQuery == "" || version == "" {
		return nil
	}
	v, err := q(ctx, e.SampleQuery, version)
	if err != nil {
		return nil
	}
	return &v
}
