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

package experiment

import (
	"context"
	"errors"
	"strings"
	"testing"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		b, a, margin float64
		dir          lifecyclev1alpha1.Direction
		want         lifecyclev1alpha1.CheckResult
	}{
		{0.106, 0.100, 0.05, lifecyclev1alpha1.AtLeast, lifecyclev1alpha1.ResultMet},    // 6% above: at least 5% above
		{0.104, 0.100, 0.05, lifecyclev1alpha1.AtLeast, lifecyclev1alpha1.ResultMissed}, // only 4% above
		{0.090, 0.100, 0, lifecyclev1alpha1.AtLeast, lifecyclev1alpha1.ResultMissed},    // worse than A
		{0.100, 0.100, 0, lifecyclev1alpha1.AtLeast, lifecyclev1alpha1.ResultMet},       // not worse
		{0.21, 0.20, 0.10, lifecyclev1alpha1.AtMost, lifecyclev1alpha1.ResultMet},       // latency at most 10% above A
		{0.23, 0.20, 0.10, lifecyclev1alpha1.AtMost, lifecyclev1alpha1.ResultMissed},    // 15% above
		{-0.9, -1.0, 0.05, lifecyclev1alpha1.AtLeast, lifecyclev1alpha1.ResultMet},      // negative baseline: bound -0.95
		{0.18, 0.20, -0.05, lifecyclev1alpha1.AtMost, lifecyclev1alpha1.ResultMet},      // at least 5% faster: bound 0.19
		{0.195, 0.20, -0.05, lifecyclev1alpha1.AtMost, lifecyclev1alpha1.ResultMissed},
	}
	for _, tt := range tests {
		if got := Compare(tt.b, tt.a, tt.margin, tt.dir); got != tt.want {
			t.Errorf("Compare(B=%v, A=%v, %v, %s) = %s, want %s", tt.b, tt.a, tt.margin, tt.dir, got, tt.want)
		}
	}
}

func abTest() lifecyclev1alpha1.DiscoveryExperiment {
	minSamples := int64(100)
	return lifecyclev1alpha1.DiscoveryExperiment{Name: "ab", Type: lifecyclev1alpha1.ExperimentABTest, MinSamples: &minSamples, SampleQuery: "requests{version=$version}",
		SuccessCriteria: []lifecyclev1alpha1.SuccessCriterion{
			{Name: "ctr", Query: "ctr", Threshold: "0.05", Direction: lifecyclev1alpha1.AtLeast, CompareToControl: true},
			{Name: "errors", Query: "errors", Threshold: "0.01", Direction: lifecyclev1alpha1.AtMost},
		}}
}

type answers map[string]any // "query@version" -> float64 or error

func (a answers) query(_ context.Context, q lifecyclev1alpha1.PromQL, version string) (float64, error) {
	switch v := a[string(q)+"@"+version].(type) {
	case float64:
		return v, nil
	case error:
		return 0, v
	}
	return 0, prom.ErrNoData
}

func f(v float64) *float64 { return &v }

func TestEvaluateAndVerdict(t *testing.T) {
	e := abTest()
	tests := []struct {
		name      string
		answers   answers
		candidate *float64
		control   *float64
		verdict   lifecyclev1alpha1.ExperimentVerdict
		message   string
	}{
		{"B beats A by the margin, errors under threshold",
			answers{"ctr@b": 0.12, "ctr@a": 0.10, "errors@b": 0.001}, f(500), f(500),
			lifecyclev1alpha1.VerdictSucceeded, "all 2 criteria met"},
		{"B worse than A fails and says by what",
			answers{"ctr@b": 0.09, "ctr@a": 0.10, "errors@b": 0.001}, f(500), f(500),
			lifecyclev1alpha1.VerdictFailed, "criterion ctr: candidate 0.09 against production 0.1, must be at least 0.05 relative"},
		{"a fixed threshold missed",
			answers{"ctr@b": 0.12, "ctr@a": 0.10, "errors@b": 0.03}, f(500), f(500),
			lifecyclev1alpha1.VerdictFailed, "criterion errors was 0.03, threshold at most 0.01"},
		{"too few candidate samples is inconclusive, even when the values look good",
			answers{"ctr@b": 0.12, "ctr@a": 0.10, "errors@b": 0.001}, f(40), f(500),
			lifecyclev1alpha1.VerdictInconclusive, "the candidate saw 40 samples, fewer than the 100 required"},
		{"too few control samples",
			answers{"ctr@b": 0.12, "ctr@a": 0.10, "errors@b": 0.001}, f(500), nil,
			lifecyclev1alpha1.VerdictInconclusive, "production saw no samples"},
		{"no data for the control arm",
			answers{"ctr@b": 0.12, "errors@b": 0.001}, f(500), f(500),
			lifecyclev1alpha1.VerdictInconclusive, "no data for ctr"},
		{"prometheus down",
			answers{"ctr@b": errors.New("503"), "ctr@a": errors.New("503"), "errors@b": errors.New("503")}, f(500), f(500),
			lifecyclev1alpha1.VerdictInconclusive, "no data for ctr, errors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			criteria := Evaluate(context.Background(), e, "b", "a", tt.answers.query)
			verdict, msg := Verdict(e, criteria, tt.candidate, tt.control)
			if verdict != tt.verdict || !strings.Contains(msg, tt.message) {
				t.Fatalf("Verdict = %s %q, want %s containing %q", verdict, msg, tt.verdict, tt.message)
			}
		})
	}
}

func TestSamples(t *testing.T) {
	e := abTest()
	a := answers{"requests{version=$version}@b": 250.0}
	if got := Samples(context.Background(), e, "b", a.query); got == nil || *got != 250 {
		t.Fatalf("Samples = %v", got)
	}
	if got := Samples(context.Background(), e, "a", a.query); got != nil {
		t.Fatalf("no data must be nil, got %v", *got)
	}
}

func TestLiveTraffic(t *testing.T) {
	if !LiveTraffic(lifecyclev1alpha1.ExperimentShadow) || !LiveTraffic(lifecyclev1alpha1.ExperimentABTest) || LiveTraffic(lifecyclev1alpha1.ExperimentSandbox) {
		t.Fatal("shadow and A/B take live traffic; sandbox does not")
	}
}

// TestVerdict judges recorded criteria directly: the verdict is the
// Experiment's status.verdict, so each value of the enum must come out.
func TestVerdict(t *testing.T) {
	minSamples := int64(10)
	sandbox := lifecyclev1alpha1.DiscoveryExperiment{Name: "sb", Type: lifecyclev1alpha1.ExperimentSandbox, MinSamples: &minSamples,
		SuccessCriteria: []lifecyclev1alpha1.SuccessCriterion{{Name: "auc", Threshold: "0.8", Direction: lifecyclev1alpha1.AtLeast}}}
	met := []lifecyclev1alpha1.CriterionStatus{{Name: "auc", Value: "0.9", Result: lifecyclev1alpha1.ResultMet}}
	missed := []lifecyclev1alpha1.CriterionStatus{{Name: "auc", Value: "0.7", Result: lifecyclev1alpha1.ResultMissed}}
	tests := []struct {
		name      string
		criteria  []lifecyclev1alpha1.CriterionStatus
		candidate *float64
		want      lifecyclev1alpha1.ExperimentVerdict
		message   string
	}{
		{"every criterion met", met, f(10), lifecyclev1alpha1.VerdictSucceeded, "all 1 criteria met"},
		{"a missed criterion fails", missed, f(10), lifecyclev1alpha1.VerdictFailed, "criterion auc was 0.7, threshold at least 0.8"},
		{"never evaluated", nil, f(10), lifecyclev1alpha1.VerdictInconclusive, "no evaluation was made"},
		{"no sample count at all", met, nil, lifecyclev1alpha1.VerdictInconclusive, "the candidate saw no samples"},
		{"a sandbox has no control arm to count", met, f(11), lifecyclev1alpha1.VerdictSucceeded, "all 1 criteria met"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := Verdict(sandbox, tt.criteria, tt.candidate, nil)
			if got != tt.want || !strings.Contains(msg, tt.message) {
				t.Fatalf("Verdict = %s %q, want %s containing %q", got, msg, tt.want, tt.message)
			}
		})
	}
}
