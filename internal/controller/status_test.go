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

package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
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
		{"first appears healthy", v1.ConditionReady, none, c("True", "Reconciled"), false},
		{"first appears waiting for Deployments", v1.ConditionReady, none, c("False", "ServingProgressing"), false},
		{"first appears waiting for a verdict", v1.ConditionReady, none, c("False", "VersionNotEvaluated"), false},
		{"first appears refused", v1.ConditionReady, none, c("False", "VersionNotEligible"), true},
		{"the end of a wait", v1.ConditionReady, c("False", "ServingProgressing"), c("True", "Reconciled"), false},
		{"a rollout step ends", v1.ConditionReady, c("False", "RolloutPaused"), c("True", "Reconciled"), false},
		{"recovery from an error", v1.ConditionReady, c("False", "ReconcileError"), c("True", "Reconciled"), true},
		{"an error", v1.ConditionReady, c("True", "Reconciled"), c("False", "ReconcileError"), true},
		{"an inconclusive rollout", v1.ConditionReady, c("True", "Reconciled"), c("False", "RolloutInconclusive"), true},
		{"serving becomes available", ConditionServing, c("False", "Progressing"), c("True", "Available"), false},
		{"serving stops for retirement", ConditionServing, c("True", "Available"), c("False", "Retired"), false},
		{"no eligible version to serve", ConditionServing, none, c("False", "NoEligibleVersion"), true},
		{"reconciling never", v1.ConditionReconciling, c("False", "x"), c("True", "ReconcileError"), false},
		{"drift detected", ConditionDrifted, c("False", "NoDrift"), c("True", "DriftSustained"), true},
		{"drift over", ConditionDrifted, c("True", "DriftSustained"), c("False", "NoDrift"), true},
		{"objective cannot be measured", ConditionObjectivesMet, c("True", "Met"), c("Unknown", "NoData"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newsworthy(tt.typ, tt.prev, tt.now); got != tt.want {
				t.Errorf("newsworthy(%s, %s/%s -> %s/%s) = %v, want %v",
					tt.typ, tt.prev.Status, tt.prev.Reason, tt.now.Status, tt.now.Reason, got, tt.want)
			}
		})
	}
}
