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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// BenchmarkEvaluate measures judging three drift checks, one in breach,
// with the breach clock carried over, as each drift interval does.
func BenchmarkEvaluate(b *testing.B) {
	checks := []lifecyclev1alpha1.DriftCheck{
		{Name: "amount", Threshold: "0.2", Statistic: lifecyclev1alpha1.StatisticPSI, For: metav1.Duration{Duration: 5 * time.Minute}},
		{Name: "merchant", Threshold: "0.1", Statistic: lifecyclev1alpha1.StatisticJensenShannon},
		{Name: "prediction", Threshold: "0.01", Statistic: lifecyclev1alpha1.StatisticKS},
	}
	values := []float64{0.35, 0.02, 0.4}
	since := at(0)
	prev := []lifecyclev1alpha1.DriftStatus{{Name: "amount", Result: lifecyclev1alpha1.ResultMissed, BreachedSince: &since}, {}, {}}
	now := at(10 * time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		out := make([]lifecyclev1alpha1.DriftStatus, 0, len(checks))
		for i, c := range checks {
			out = append(out, Evaluate(c, values[i], nil, &prev[i], now))
		}
		_ = State(out)
	}
}
