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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func TestWatch(t *testing.T) {
	promoted := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { m := metav1.NewTime(promoted.Add(d)); return &m }
	spec := &lifecyclev1alpha1.RolloutSpec{PostPromotion: &lifecyclev1alpha1.PostPromotionSpec{
		Window: metav1.Duration{Duration: time.Hour}, Objectives: []string{"conversion"}}}
	objs := []lifecyclev1alpha1.Objective{
		{Name: "conversion", Target: "0.1", Direction: lifecyclev1alpha1.AtLeast, BreachFor: &metav1.Duration{Duration: time.Minute}},
		{Name: "latency", Target: "0.2", Direction: lifecyclev1alpha1.AtMost, BreachFor: &metav1.Duration{Duration: time.Minute}},
	}
	succeeded := &lifecyclev1alpha1.RolloutStatus{StableVersion: "v1", CanaryVersion: "v2", Phase: lifecyclev1alpha1.RolloutSucceeded, FinishedAt: at(0)}
	missed := func(name string, since time.Duration) lifecyclev1alpha1.ObjectiveStatus {
		return lifecyclev1alpha1.ObjectiveStatus{Name: name, Value: "0.05", Result: lifecyclev1alpha1.ResultMissed, LastTransitionTime: at(since)}
	}
	met := lifecyclev1alpha1.ObjectiveStatus{Name: "conversion", Value: "0.12", Result: lifecyclev1alpha1.ResultMet, LastTransitionTime: at(-time.Hour)}
	tests := []struct {
		name    string
		spec    *lifecyclev1alpha1.RolloutSpec
		ro      *lifecyclev1alpha1.RolloutStatus
		results []lifecyclev1alpha1.ObjectiveStatus
		now     time.Duration
		breach  bool
		wait    time.Duration
	}{
		{"no watch declared", &lifecyclev1alpha1.RolloutSpec{}, succeeded, []lifecyclev1alpha1.ObjectiveStatus{missed("conversion", 0)}, 10 * time.Minute, false, 0},
		{"an aborted rollout is not watched", spec, &lifecyclev1alpha1.RolloutStatus{StableVersion: "v1", CanaryVersion: "v2",
			Phase: lifecyclev1alpha1.RolloutAborted, FinishedAt: at(0)}, []lifecyclev1alpha1.ObjectiveStatus{missed("conversion", 0)}, 10 * time.Minute, false, 0},
		{"met: look again at the window's end", spec, succeeded, []lifecyclev1alpha1.ObjectiveStatus{met}, 10 * time.Minute, false, 50 * time.Minute},
		{"missed, not yet for breachFor", spec, succeeded, []lifecyclev1alpha1.ObjectiveStatus{missed("conversion", 5*time.Minute)}, 5*time.Minute + 20*time.Second, false, 40 * time.Second},
		{"missed for breachFor: rolled back", spec, succeeded, []lifecyclev1alpha1.ObjectiveStatus{missed("conversion", 5*time.Minute)}, 6 * time.Minute, true, 54 * time.Minute},
		{"a miss older than the promotion counts from the promotion", spec, succeeded, []lifecyclev1alpha1.ObjectiveStatus{missed("conversion", -time.Hour)}, 30 * time.Second, false, 30 * time.Second},
		{"an objective not guarded is not watched", spec, succeeded, []lifecyclev1alpha1.ObjectiveStatus{missed("latency", 0)}, 10 * time.Minute, false, 50 * time.Minute},
		{"after the window nothing rolls back", spec, succeeded, []lifecyclev1alpha1.ObjectiveStatus{missed("conversion", 0)}, 2 * time.Hour, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, wait := Watch(tt.spec, tt.ro, objs, tt.results, promoted.Add(tt.now))
			if (b != nil) != tt.breach || wait != tt.wait {
				t.Fatalf("breach %v, wait %v; want breach %v, wait %v", b, wait, tt.breach, tt.wait)
			}
		})
	}

	b, _ := Watch(spec, succeeded, objs, []lifecyclev1alpha1.ObjectiveStatus{missed("conversion", 5*time.Minute)}, promoted.Add(6*time.Minute))
	ro := succeeded.DeepCopy()
	e := RollBack(ro, *b, metav1.NewTime(promoted.Add(6*time.Minute)))
	if ro.Phase != lifecyclev1alpha1.RolloutAborting || ro.Reason != ReasonPostPromotionRollback || ro.FinishedAt != nil || ro.Weight != 0 {
		t.Fatalf("rolled back to %+v", ro)
	}
	want := "v2 rolling back: objective conversion is 0.05 against a target of at least 0.1, missed for 1m0s within the post-promotion window"
	if ro.Message != want {
		t.Fatalf("message = %q, want %q", ro.Message, want)
	}
	if !e.Warning || e.Reason != "PostPromotionRollback" {
		t.Fatalf("event = %+v", e)
	}
}
