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

package objectives

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

type fakeQuerier map[string]any

func (f fakeQuerier) measure(vars map[string]string) Measure {
	return func(o lifecyclev1alpha1.Objective) (float64, error) {
		return f.query(prom.Expand(string(o.Query), vars))
	}
}

func (f fakeQuerier) query(q string) (float64, error) {
	switch v := f[q].(type) {
	case float64:
		return v, nil
	case error:
		return 0, v
	default:
		return 0, prom.ErrNoData
	}
}

func TestEvaluate(t *testing.T) {
	objs := []lifecyclev1alpha1.Objective{
		{Name: "ctr", Query: `ctr{p=$product}`, Target: "0.1", Direction: lifecyclev1alpha1.AtLeast},
		{Name: "latency", Query: `lat{ns=$namespace}`, Target: "0.2", Direction: lifecyclev1alpha1.AtMost},
		{Name: "cost", Query: `cost`, Target: "5", Direction: lifecyclev1alpha1.AtMost},
		{Name: "nps", Query: `nps`, Target: "30", Direction: lifecyclev1alpha1.AtLeast},
	}
	q := fakeQuerier{
		`ctr{p="shop"}`: 0.12,
		`lat{ns="ml"}`:  0.25,
		`nps`:           errors.New("connection refused"),
	}
	t0 := metav1.NewTime(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	got := Evaluate(q.measure(map[string]string{"product": "shop", "namespace": "ml"}), objs, nil, t0)

	want := []struct {
		value   lifecyclev1alpha1.Decimal
		result  lifecyclev1alpha1.CheckResult
		message string
	}{
		{"0.12", lifecyclev1alpha1.ResultMet, ""},
		{"0.25", lifecyclev1alpha1.ResultMissed, ""},
		{"", lifecyclev1alpha1.ResultUnknown, "the query returned no data"},
		{"", lifecyclev1alpha1.ResultUnknown, "query failed: connection refused"},
	}
	for i, w := range want {
		g := got[i]
		if g.Value != w.value || g.Result != w.result || g.Message != w.message || !g.LastTransitionTime.Equal(&t0) {
			t.Errorf("%s = %+v, want value %q result %s message %q", g.Name, g, w.value, w.result, w.message)
		}
	}

	status, reason, msg := Summary(got)
	if status != metav1.ConditionFalse || reason != "ObjectiveMissed" || msg != "latency is 0.25, target at most 0.2" {
		t.Errorf("Summary = %s %s %q", status, reason, msg)
	}

	// A second evaluation with the same results keeps the transition time;
	// a changed result takes the new time.
	t1 := metav1.NewTime(t0.Add(time.Minute))
	q[`lat{ns="ml"}`] = 0.15
	again := Evaluate(q.measure(map[string]string{"product": "shop", "namespace": "ml"}), objs, got, t1)
	if !again[0].LastTransitionTime.Equal(&t0) {
		t.Errorf("unchanged ctr moved its transition time to %v", again[0].LastTransitionTime)
	}
	if again[1].Result != lifecyclev1alpha1.ResultMet || !again[1].LastTransitionTime.Equal(&t1) {
		t.Errorf("latency = %+v, want Met since t1", again[1])
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name   string
		in     []lifecyclev1alpha1.ObjectiveStatus
		status metav1.ConditionStatus
		reason string
	}{
		{"all met", []lifecyclev1alpha1.ObjectiveStatus{{Result: lifecyclev1alpha1.ResultMet}, {Result: lifecyclev1alpha1.ResultMet}}, metav1.ConditionTrue, "ObjectivesMet"},
		{"unknown without a miss", []lifecyclev1alpha1.ObjectiveStatus{{Result: lifecyclev1alpha1.ResultMet}, {Result: lifecyclev1alpha1.ResultUnknown}}, metav1.ConditionUnknown, "ObjectiveUnknown"},
		{"a miss outranks unknown", []lifecyclev1alpha1.ObjectiveStatus{{Result: lifecyclev1alpha1.ResultUnknown}, {Result: lifecyclev1alpha1.ResultMissed}}, metav1.ConditionFalse, "ObjectiveMissed"},
	}
	for _, tt := range tests {
		s, r, _ := Summary(tt.in)
		if s != tt.status || r != tt.reason {
			t.Errorf("%s: Summary = %s %s, want %s %s", tt.name, s, r, tt.status, tt.reason)
		}
	}
}

func TestDegradation(t *testing.T) {
	tests := []struct {
		name          string
		canary, bench float64
		dir           lifecyclev1alpha1.Direction
		want          float64
		err           string
	}{
		{"conversion 20% lower is 20% worse", 0.08, 0.1, lifecyclev1alpha1.AtLeast, 0.2, ""},
		{"conversion higher is better: negative", 0.12, 0.1, lifecyclev1alpha1.AtLeast, -0.2, ""},
		{"latency 50% higher is 50% worse", 0.3, 0.2, lifecyclev1alpha1.AtMost, 0.5, ""},
		{"latency lower is better", 0.1, 0.2, lifecyclev1alpha1.AtMost, -0.5, ""},
		{"a negative stable value compares by its size", -0.5, -1, lifecyclev1alpha1.AtLeast, -0.5, ""},
		{"both zero: no change", 0, 0, lifecyclev1alpha1.AtLeast, 0, ""},
		{"a zero stable value cannot be compared", 0.1, 0, lifecyclev1alpha1.AtLeast, 0, "the stable version's value is 0"},
		{"no direction", 1, 1, "", 0, "neither AtLeast nor AtMost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Degradation(tt.canary, tt.bench, tt.dir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || math.Abs(got-tt.want) > 1e-12 {
				t.Fatalf("= %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestBreaches(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { m := metav1.NewTime(t0.Add(d)); return &m }
	minute := &metav1.Duration{Duration: time.Minute}
	objs := []lifecyclev1alpha1.Objective{
		{Name: "conversion", Target: "0.1", Direction: lifecyclev1alpha1.AtLeast, BreachFor: minute},
		{Name: "revenue", Target: "100", Direction: lifecyclev1alpha1.AtLeast},
		{Name: "latency", Target: "0.2", Direction: lifecyclev1alpha1.AtMost, BreachFor: minute},
	}
	results := []lifecyclev1alpha1.ObjectiveStatus{
		{Name: "conversion", Value: "0.05", Result: lifecyclev1alpha1.ResultMissed, LastTransitionTime: at(0)},
		{Name: "revenue", Value: "50", Result: lifecyclev1alpha1.ResultMissed, LastTransitionTime: at(-time.Minute)},
		{Name: "latency", Value: "0.1", Result: lifecyclev1alpha1.ResultMet, LastTransitionTime: at(-time.Hour)},
	}
	all := []string{"conversion", "revenue", "latency"}
	tests := []struct {
		name  string
		names []string
		now   time.Time
		want  []string
		wait  time.Duration
	}{
		{"none sustained yet: the soonest is waited for", all, t0.Add(30 * time.Second), nil, 30 * time.Second},
		{"breachFor reached: the breach counts", all, t0.Add(time.Minute), []string{"conversion"}, 3*time.Minute + 0},
		{"the default breachFor is 5m", all, t0.Add(4 * time.Minute), []string{"revenue", "conversion"}, 0},
		{"only the objectives named", []string{"latency"}, t0.Add(time.Hour), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, wait := Breaches(objs, results, tt.names, tt.now)
			var names []string
			for _, b := range got {
				names = append(names, b.Objective.Name)
			}
			if !reflect.DeepEqual(names, tt.want) || wait != tt.wait {
				t.Fatalf("breaches = %v, wait %v; want %v, %v", names, wait, tt.want, tt.wait)
			}
		})
	}
	got, _ := Breaches(objs, results, all, t0.Add(time.Hour))
	if msg := got[1].Describe(); msg != "objective conversion is 0.05 against a target of at least 0.1, missed since 2026-12-04T12:00:00Z" {
		t.Fatalf("Describe() = %q", msg)
	}
}
