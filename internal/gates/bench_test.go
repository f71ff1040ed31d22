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

package gates

import (
	"testing"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// BenchmarkGates measures both gates and the phase decision for a product
// in Delivery, which every reconcile evaluates.
func BenchmarkGates(b *testing.B) {
	s := readySpec()
	exps := []lifecyclev1alpha1.Experiment{{Spec: lifecyclev1alpha1.ExperimentSpec{DiscoveryExperiment: lifecyclev1alpha1.DiscoveryExperiment{Name: "e1"}}, Status: lifecyclev1alpha1.ExperimentStatus{Phase: lifecyclev1alpha1.ExperimentFinished, Verdict: lifecyclev1alpha1.VerdictSucceeded}}, {Spec: lifecyclev1alpha1.ExperimentSpec{DiscoveryExperiment: lifecyclev1alpha1.DiscoveryExperiment{Name: "e2"}}, Status: lifecyclev1alpha1.ExperimentStatus{Phase: lifecyclev1alpha1.ExperimentRunning}}}
	b.ReportAllocs()
	for b.Loop() {
		st, d := EvaluateStrategy(s), EvaluateDiscovery(s, exps, nil)
		NextPhase(lifecyclev1alpha1.PhaseDelivery, lifecyclev1alpha1.PhaseDelivery, func(p lifecyclev1alpha1.ProductPhase) Result {
			if p == lifecyclev1alpha1.PhaseStrategy {
				return st
			}
			return d
		})
	}
}
