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

package notify

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// Which condition changes make an Event: what a person reading
// `kubectl describe` or `kubectl get events` would want to hear of.
func TestNewsworthy(t *testing.T) {
	c := func(status metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Status: status, Reason: reason}
	}
	none := metav1.Condition{}
	tests := []struct {
		name      string
		typ       string
		prev, now metav1.Condition
		want      bool
	}{
		{"first appears healthy", lifecyclev1alpha1.ConditionReady, none, c("True", "Reconciled"), false},
		{"first appears waiting for Deployments", lifecyclev1alpha1.ConditionReady, none, c("False", "ServingProgressing"), false},
		{"first appears waiting for a verdict", lifecyclev1alpha1.ConditionReady, none, c("False", "VersionNotEvaluated"), false},
		{"first appears refused", lifecyclev1alpha1.ConditionReady, none, c("False", "VersionNotEligible"), true},
		{"the end of a wait", lifecyclev1alpha1.ConditionReady, c("False", "ServingProgressing"), c("True", "Reconciled"), false},
		{"a rollout step ends", lifecyclev1alpha1.ConditionReady, c("False", "RolloutPaused"), c("True", "Reconciled"), false},
		{"recovery from an error", lifecyclev1alpha1.ConditionReady, c("False", "ReconcileError"), c("True", "Reconciled"), true},
		{"an error", lifecyclev1alpha1.ConditionReady, c("True", "Reconciled"), c("False", "ReconcileError"), true},
		{"an inconclusive rollout", lifecyclev1alpha1.ConditionReady, c("True", "Reconciled"), c("False", "RolloutInconclusive"), true},
		{"serving becomes available", lifecyclev1alpha1.ConditionServing, c("False", "Progressing"), c("True", "Available"), false},
		{"serving stops for retirement", lifecyclev1alpha1.ConditionServing, c("True", "Available"), c("False", "Retired"), false},
		{"no eligible version to serve", lifecyclev1alpha1.ConditionServing, none, c("False", "NoEligibleVersion"), true},
		{"reconciling never", lifecyclev1alpha1.ConditionReconciling, c("False", "x"), c("True", "ReconcileError"), false},
		{"drift detected", lifecyclev1alpha1.ConditionDrifted, c("False", "NoDrift"), c("True", "DriftSustained"), true},
		{"drift over", lifecyclev1alpha1.ConditionDrifted, c("True", "DriftSustained"), c("False", "NoDrift"), true},
		{"objective cannot be measured", lifecyclev1alpha1.ConditionObjectivesMet, c("True", "Met"), c("Unknown", "NoData"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Newsworthy(tt.typ, tt.prev, tt.now); got != tt.want {
				t.Errorf("Newsworthy(%s, %s/%s -> %s/%s) = %v, want %v",
					tt.typ, tt.prev.Status, tt.prev.Reason, tt.now.Status, tt.now.Reason, got, tt.want)
			}
		})
	}
}
