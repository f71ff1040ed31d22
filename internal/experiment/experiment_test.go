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

	v1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		b, a, margin float64
		dir          v1.Direction
		want         v1.CheckResult
	}{
		{0.106, 0.100, 0.05, v1.AtLeast, v1.ResultMet},    // 6% above: at least 5% above
		{0.104, 0.100, 0.05, v1.AtLeast, v1.ResultMissed}, // only 4% above
		{0.090, 0.100, 0, v1.AtLeast, v1.ResultMissed},    // worse than A
		{0.100, 0.100, 0, v1.AtLeast, v1.ResultMet},       // not worse
		{0.21, 0.20, 0.10, v1.AtMost, v1.ResultMet},       // latency at most 10% above A
		{0.23, 0.20, 0.10, v1.AtMost, v1.ResultMissed},    // 15% above
		{-0.9, -1.0, 0.05, v1.AtLeast, v1.ResultMet},      // negative baseline: bound -0.95
		{0.18, 0.20, -0.05, v1.AtMost, v1.ResultMet},      // at least 5% faster: bound 0.19
		{0.195, 0.20, -0.05, v1.AtMost, v1.ResultMissed},
	}
	for _, tt := range tests {
		if got := Compare(tt.b, tt.a, tt.margin, tt.dir); got != tt.want {
			t.Errorf("Compare(B=%v, A=%v, %v, %s) = %s, want %s", tt.b, tt.a, tt.margin, tt.dir, got, tt.want)
		}
	}
}

func abTest() v1.Experiment {
	minSamples := int64(100)
	return v1.Experiment{Name: "ab", Type: v1.ExperimentABTest, MinSamples: &minSamples, SampleQuery: "requests{version=$version}",
		SuccessCriteria: []v1.SuccessCriterion{
			{Name: "ctr", Query: "ctr", Threshold: "0.05", Direction: v1.AtLeast, CompareToControl: true},
			{Name: "errors", Query: "errors", Threshold: "0.01", Direction: v1.AtMost},
		}}
}

type answers map[string]any // "query@version" -> float64 or error

func (a answers) query(_ context.Context, q v1.PromQL, version string) (float64, error) {
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
		phase     v1.ExperimentPhase
		message   string
	}{
		{"B beats A by the margin, errors under threshold",
			answers{"ctr@b": 0.12, "ctr@a": 0.10, "errors@b": 0.001}, f(500), f(500),
			v1.ExperimentSucceeded, "all 2 criteria met"},
		{"B worse than A fails and says by what",
			answers{"ctr@b": 0.09, "ctr@a": 0.10, "errors@b": 0.001}, f(500), f(500),
			v1.ExperimentFailed, "criterion ctr: candidate 0.09 against production 0.1, must be at least 0.05 relative"},
		{"a fixed threshold missed",
			answers{"ctr@b": 0.12, "ctr@a": 0.10, "errors@b": 0.03}, f(500), f(500),
			v1.ExperimentFailed, "criterion errors was 0.03, threshold at most 0.01"},
		{"too few candidate samples is inconclusive, even when the values look good",
			answers{"ctr@b": 0.12, "ctr@a": 0.10, "errors@b": 0.001}, f(40), f(500),
			v1.ExperimentInconclusive, "the candidate saw 40 samples, fewer than the 100 required"},
		{"too few control samples",
			answers{"ctr@b": 0.12, "ctr@a": 0.10, "errors@b": 0.001}, f(500), nil,
			v1.ExperimentInconclusive, "production saw no samples"},
		{"no data for the control arm",
			answers{"ctr@b": 0.12, "errors@b": 0.001}, f(500), f(500),
			v1.ExperimentInconclusive, "no data for ctr"},
		{"prometheus down",
			answers{"ctr@b": errors.New("503"), "ctr@a": errors.New("503"), "errors@b": errors.New("503")}, f(500), f(500),
			v1.ExperimentInconclusive, "no data for ctr, errors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			criteria := Evaluate(context.Background(), e, "b", "a", tt.answers.query)
			phase, msg := Verdict(e, criteria, tt.candidate, tt.control)
			if phase != tt.phase || !strings.Contains(msg, tt.message) {
				t.Fatalf("Verdict = %s %q, want %s containing %q", phase, msg, tt.phase, tt.message)
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
	if !LiveTraffic(v1.ExperimentShadow) || !LiveTraffic(v1.ExperimentABTest) || LiveTraffic(v1.ExperimentSandbox) {
		t.Fatal("shadow and A/B take live traffic; sandbox does not")
	}
}
