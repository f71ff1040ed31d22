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

	v1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }

func TestKindAndDirection(t *testing.T) {
	tests := []struct {
		check    v1.DriftCheck
		value    float64
		breached bool
	}{
		{v1.DriftCheck{Statistic: v1.StatisticPSI}, 0.3, true},
		{v1.DriftCheck{Statistic: v1.StatisticPSI}, 0.2, false},
		{v1.DriftCheck{Statistic: v1.StatisticWasserstein}, 0.1, false},
		{v1.DriftCheck{Statistic: v1.StatisticKS}, 0.01, true},
		{v1.DriftCheck{Statistic: v1.StatisticKS}, 0.5, false},
		{v1.DriftCheck{Statistic: v1.StatisticChiSquare}, 0.2, false},
		{v1.DriftCheck{Statistic: v1.StatisticOther, Kind: v1.KindPValue}, 0.1, true},
		{v1.DriftCheck{Statistic: v1.StatisticOther, Kind: v1.KindDistance}, 0.1, false},
	}
	for _, tt := range tests {
		if got := Breached(KindOf(tt.check), tt.value, 0.2); got != tt.breached {
			t.Errorf("%s/%s at %v: breached = %v, want %v", tt.check.Statistic, tt.check.Kind, tt.value, got, tt.breached)
		}
	}
}

func TestBreachTiming(t *testing.T) {
	c := v1.DriftCheck{Name: "psi", Threshold: "0.2", Statistic: v1.StatisticPSI, For: metav1.Duration{Duration: 10 * time.Minute}}
	steps := []struct {
		at        time.Duration
		value     float64
		err       error
		result    v1.CheckResult
		since     time.Duration // -1: none
		sustained bool
	}{
		{0, 0.1, nil, v1.ResultMet, -1, false},
		{time.Minute, 0.3, nil, v1.ResultMissed, time.Minute, false},
		{5 * time.Minute, 0.4, nil, v1.ResultMissed, time.Minute, false},
		{11 * time.Minute, 0.4, nil, v1.ResultMissed, time.Minute, true},
		{12 * time.Minute, 0, prom.ErrNoData, v1.ResultUnknown, -1, false},
		{13 * time.Minute, 0.5, nil, v1.ResultMissed, 13 * time.Minute, false},
		{14 * time.Minute, 0.15, nil, v1.ResultMet, -1, false},
		{15 * time.Minute, 0, errors.New("503"), v1.ResultUnknown, -1, false},
	}
	var prev *v1.DriftStatus
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
	c := v1.DriftCheck{Name: "ks", Threshold: "0.05", Statistic: v1.StatisticKS}
	st := Evaluate(c, 0.01, nil, nil, at(0))
	if !st.Sustained {
		t.Fatal("a breach with for 0 is sustained at once")
	}
}

func TestStateAndEpisode(t *testing.T) {
	s1, s2 := at(time.Minute), at(3*time.Minute)
	checks := []v1.DriftStatus{
		{Name: "a", Result: v1.ResultMet},
		{Name: "b", Result: v1.ResultMissed, BreachedSince: &s2, Sustained: true},
		{Name: "c", Result: v1.ResultMissed, BreachedSince: &s1, Sustained: true},
		{Name: "d", Result: v1.ResultUnknown},
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
	if got := State([]v1.DriftStatus{{Result: v1.ResultMet}, {Result: v1.ResultUnknown}}); got != "Unknown" {
		t.Errorf("State = %s", got)
	}
	if got := State([]v1.DriftStatus{{Result: v1.ResultUnknown}, {Result: v1.ResultMissed}}); got != "Breached" {
		t.Errorf("State = %s", got)
	}
	if ep, _ := Episode(checks[:1]); !ep.IsZero() {
		t.Errorf("no sustained breach, episode %v", ep)
	}
}

func TestNextDue(t *testing.T) {
	c := v1.DriftCheck{For: metav1.Duration{Duration: 10 * time.Minute}}
	since := at(0)
	st := v1.DriftStatus{Result: v1.ResultMissed, BreachedSince: &since}
	if got := NextDue(c, st, t0.Add(4*time.Minute)); got != 6*time.Minute {
		t.Errorf("NextDue = %v, want 6m", got)
	}
}
