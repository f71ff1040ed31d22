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

package rollout

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// BenchmarkStepAnalysis measures one reconcile's decision for a rollout in
// an analysis step with three metrics, the step the operator revisits most.
func BenchmarkStepAnalysis(b *testing.B) {
	spec := &lifecyclev1alpha1.RolloutSpec{Steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(25)}, {Analysis: &lifecyclev1alpha1.AnalysisSpec{
		Metrics: []lifecyclev1alpha1.MetricCheck{
			{Name: "errors", Query: "e", Threshold: "0.01", Direction: lifecyclev1alpha1.AtMost},
			{Name: "latency", Query: "l", Threshold: "0.2", Direction: lifecyclev1alpha1.AtMost},
			{Name: "ctr", Query: "c", Threshold: "0.05", Direction: lifecyclev1alpha1.AtLeast},
		},
		Interval: metav1.Duration{Duration: time.Minute}, Count: 100,
	}}, {SetWeight: w(100)}}}
	st := start()
	st.Step, st.Weight = 1, 25
	measure := func(context.Context, lifecyclev1alpha1.MetricCheck) (float64, error) { return 0.005, nil }
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Step(ctx, Input{Spec: spec, Status: st, Now: t0.Add(time.Duration(i) * time.Minute), CanaryReady: true}, measure)
	}
}

// BenchmarkStepPaused measures the decision for a rollout that waits in a
// timed pause: no query, one comparison of times.
func BenchmarkStepPaused(b *testing.B) {
	spec := &lifecyclev1alpha1.RolloutSpec{Steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(25)}, {Pause: pause(time.Hour)}}}
	st := start()
	st.Step, st.Weight, st.Phase = 1, 25, lifecyclev1alpha1.RolloutPaused
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		Step(ctx, Input{Spec: spec, Status: st, Now: t0.Add(time.Minute), CanaryReady: true}, nil)
	}
}
