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
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }

func TestKindAndDirection(t *testing.T) {
	tests := []struct {
		check    lifecyclev1alpha1.DriftCheck
		value    float64
		breached bool
	}{
		{lifecyclev1alpha1.DriftCheck{Statistic: lifecyclev1alpha1.StatisticPSI}, 0.3, true},
		{lifecyclev1alpha1.DriftCheck{Statistic: lifecyclev1alpha1.StatisticPSI}, 0.2, false},
		{lifecyclev1alpha1.DriftCheck{Statistic: lifecyclev1alpha1.StatisticWasserstein}, 0.1, false},
		{lifecyclev1alpha1.DriftCheck{Statistic: lifecyclev1alpha1.StatisticKS}, 0.01, true},
		{lifecyclev1alpha1.DriftCheck{Statistic: lifecyclev1alpha1.StatisticKS}, 0.5, false},
		{lifecyclev1alpha1.DriftCheck{Statistic: lifecyclev1alpha1.StatisticChiSquare}, 0.2, false},
		{lifecyclev1alpha1.DriftCheck{Statistic: lifecyclev1alpha1.StatisticOther, Kind: lifecyclev1alpha1.KindPValue}, 0.1, true},
		{lifecyclev1alpha1.DriftCheck{Statistic: lifecyclev1alpha1.StatisticOther, Kind: lifecyclev1alpha1.KindDistance}, 0.1, false},
	}
	for _, tt := range tests {
		if got := Breached(KindOf(tt.check), tt.value, 0.2); got != tt.breached {
			t.Errorf("%s/%s at %v: breached = %v, want %v", tt.check.Statistic, tt.check.Kind, tt.value, got, tt.breached)
		}
	}
}

func TestBreachTiming(t *testing.T) {
	c := lifecyclev1alpha1.DriftCheck{Name: "psi", Threshold: "0.2", Statistic: lifecyclev1alpha1.StatisticPSI, For: metav1.Duration{Duration: 10 * time.Minute}}
	steps := []struct {
		at        time.Duration
		value     float64
		err       error
		result    lifecyclev1alpha1.CheckResult
		since     time.Duration // -1: none
		sustained bool
	}{
		{0, 0.1, nil, lifecyclev1alpha1.ResultMet, -1, false},
		{time.Minute, 0.3, nil, lifecyclev1alpha1.ResultMissed, time.Minute, false},
		{5 * time.Minute, 0.4, nil, lifecyclev1alpha1.ResultMissed, time.Minute, false},
		{11 * time.Minute, 0.4, nil, lifecyclev1alpha1.ResultMissed, time.Minute, true},
		{12 * time.Minute, 0, prom.ErrNoData, lifecyclev1alpha1.ResultUnknown, -1, false},
		{13 * time.Minute, 0.5, nil, lifecyclev1alpha1.ResultMissed, 13 * time.Minute, false},
		{14 * time.Minute, 0.15, nil, lifecyclev1alpha1.ResultMet, -1, false},
		{15 * time.Minute, 0, errors.New("503"), lifecyclev1alpha1.ResultUnknown, -1, false},
	}
	var prev *lifecyclev1alpha1.DriftStatus
	for i, s := range steps {
		st := Evaluate(c, s.value, s.err, prev, at(s.at))
		if st.Result != s.result || st.Sustained != s.sustained {
			t.Fatalf("step %d: result %s sustained %v, want %s %v", i, st.Result, st.Sustained, s.result, s.sustained)
		}
		switch {
		case s.since < 0 && st.BreachedSince != nil:
			t.Fatalf("step %d: breachedSince %v, want none", i, st.BreachedSince)
		case s.since >= 0 && (st.BreachedSince == nil || !st.BreachedSince.Time.Equal(t0.Add(s.since))):
			t.Fatalf("step %d: breachedSince %v, want %v", i, st.BreachedSince, t0.Add(s.since))
		}
		prev = &st
	}
}

func TestForZeroIsImmediate(t *testing.T) {
	c := lifecyclev1alpha1.DriftCheck{Name: "ks", Threshold: "0.05", Statistic: lifecyclev1alpha1.StatisticKS}
	st := Evaluate(c, 0.01, nil, nil, at(0))
	if !st.Sustained {
		t.Fatal("a breach with for 0 is sustained at once")
	}
}

func TestStateAndEpisode(t *testing.T) {
	s1, s2 := at(time.Minute), at(3*time.Minute)
	checks := []lifecyclev1alpha1.DriftStatus{
		{Name: "a", Result: lifecyclev1alpha1.ResultMet},
		{Name: "b", Result: lifecyclev1alpha1.ResultMissed, BreachedSince: &s2, Sustained: true},
		{Name: "c", Result: lifecyclev1alpha1.ResultMissed, BreachedSince: &s1, Sustained: true},
		{Name: "d", Result: lifecyclev1alpha1.ResultUnknown},
	}
	if got := State(checks); got != "Drifted" {
		t.Errorf("State = %s", got)
	}
	if ep, which := Episode(checks); !ep.Equal(s1.Time) || which != "c" {
		t.Errorf("Episode = %v %s, want the oldest sustained breach", ep, which)
	}
	if got := State(checks[:1]); got != "None" {
		t.Errorf("State = %s", got)
	}
	if got := State([]lifecyclev1alpha1.DriftStatus{{Result: lifecyclev1alpha1.ResultMet}, {Result: lifecyclev1alpha1.ResultUnknown}}); got != "Unknown" {
		t.Errorf("State = %s", got)
	}
	if got := State([]lifecyclev1alpha1.DriftStatus{{Result: lifecyclev1alpha1.ResultUnknown}, {Result: lifecyclev1alpha1.ResultMissed}}); got != "Breached" {
		t.Errorf("State = %s", got)
	}
	if ep, _ := Episode(checks[:1]); !ep.IsZero() {
		t.Errorf("no sustained breach, episode %v", ep)
	}
}

func TestNextDue(t *testing.T) {
	c := lifecyclev1alpha1.DriftCheck{For: metav1.Duration{Duration: 10 * time.Minute}}
	since := at(0)
	st := lifecyclev1alpha1.DriftStatus{Result: lifecyclev1alpha1.ResultMissed, BreachedSince: &since}
	if got := NextDue(c, st, t0.Add(4*time.Minute)); got != 6*time.Minute {
		t.Errorf("NextDue = %v, want 6m", got)
	}
}
