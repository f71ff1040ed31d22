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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func mv(name, version string, eligible bool, stage lifecyclev1alpha1.Stage) lifecyclev1alpha1.ModelVersion {
	m := lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: lifecyclev1alpha1.ModelVersionSpec{Version: version},
		Status: lifecyclev1alpha1.ModelVersionStatus{Eligible: eligible, Stage: stage}}
	if !eligible {
		m.Status.Conditions = []metav1.Condition{{Type: "Eligible", Status: metav1.ConditionFalse, Message: "auc is 0.7, below the floor 0.8"}}
	}
	return m
}

func TestChoose(t *testing.T) {
	versions := []lifecyclev1alpha1.ModelVersion{
		mv("a", "1.2.0", true, lifecyclev1alpha1.StageProduction),
		mv("b", "1.10.0", true, lifecyclev1alpha1.StageCandidate),
		mv("c", "2.0.0", false, lifecyclev1alpha1.StageCandidate),
		mv("d", "1.11.0", true, lifecyclev1alpha1.StageRejected),
		mv("e", "v1.9.0", true, lifecyclev1alpha1.StageCandidate),
	}
	unjudged := lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: "n", Generation: 1}, Spec: lifecyclev1alpha1.ModelVersionSpec{Version: "3.0.0"}}
	stale := mv("s", "3.0.0", false, lifecyclev1alpha1.StageCandidate)
	stale.Generation = 2
	stale.Status.Conditions[0].ObservedGeneration = 1
	latest := lifecyclev1alpha1.ModelVersionSelection{Policy: lifecyclev1alpha1.VersionLatestEligible}
	pinned := func(n string) lifecyclev1alpha1.ModelVersionSelection {
		return lifecyclev1alpha1.ModelVersionSelection{Policy: lifecyclev1alpha1.VersionPinned, Name: lifecyclev1alpha1.LocalObjectName(n)}
	}
	tests := []struct {
		name     string
		sel      lifecyclev1alpha1.ModelVersionSelection
		versions []lifecyclev1alpha1.ModelVersion
		prod     string
		want     string
		reason   string
	}{
		{"latest eligible by semver, not by string, skipping rejected and ineligible", latest, versions, "a", "b", ""},
		{"latest with none eligible", latest, []lifecyclev1alpha1.ModelVersion{mv("c", "2.0.0", false, "")}, "", "", "NoEligibleVersion"},
		{"pinned eligible", pinned("e"), versions, "a", "e", ""},
		{"pinned ineligible says why", pinned("c"), versions, "a", "c", "VersionNotEligible"},
		{"pinned production need not be eligible now", pinned("c"), versions, "c", "c", ""},
		{"pinned missing", pinned("zz"), versions, "a", "", "VersionNotFound"},
		{"pinned and never evaluated is a wait", pinned("n"), []lifecyclev1alpha1.ModelVersion{unjudged}, "", "n", ReasonNotEvaluated},
		{"pinned and judged for an older spec is a wait", pinned("s"), []lifecyclev1alpha1.ModelVersion{stale}, "", "s", ReasonNotEvaluated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Choose(tt.sel, tt.versions, tt.prod)
			got := ""
			if c.Version != nil {
				got = c.Version.Name
			}
			if got != tt.want || c.Reason != tt.reason {
				t.Fatalf("Choose = %q (%s: %s), want %q (%s)", got, c.Reason, c.Message, tt.want, tt.reason)
			}
		})
	}
	if c := Choose(pinned("c"), versions, "a"); c.Message != "ModelVersion c is not Eligible: auc is 0.7, below the floor 0.8" {
		t.Errorf("message = %q", c.Message)
	}
}
