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
	"fmt"
	"math"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

// bytes hands out fuzz input a byte at a time, then zeros.
type bytes struct{ b []byte }

func (r *bytes) next() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *bytes) int8() int32 { return int32(int8(r.next())) }

func (r *bytes) pick(n int) int { return int(r.next()) % n }

var (
	thresholds = []lifecyclev1alpha1.Decimal{"0.01", "0.5", "-1", "0", "1e308", "1e999", "abc", ""}
	directions = []lifecyclev1alpha1.Direction{lifecyclev1alpha1.AtMost, lifecyclev1alpha1.AtLeast, "", "Sideways"}
	phases     = []lifecyclev1alpha1.RolloutPhase{lifecyclev1alpha1.RolloutProgressing, lifecyclev1alpha1.RolloutPaused, lifecyclev1alpha1.RolloutInconclusive, "", "Garbage",
		lifecyclev1alpha1.RolloutPromoting, lifecyclev1alpha1.RolloutAborting, lifecyclev1alpha1.RolloutSucceeded, lifecyclev1alpha1.RolloutAborted}
	requests = []Request{NoRequest, NoRequest, NoRequest, NoRequest, Promote, Abort, Retry, "Sideways"}
)

func fuzzAnalysis(r *bytes) *lifecyclev1alpha1.AnalysisSpec {
	a := &lifecyclev1alpha1.AnalysisSpec{
		Interval:          metav1.Duration{Duration: time.Duration(r.int8()) * 10 * time.Second},
		Count:             r.int8(),
		FailureLimit:      r.int8(),
		InconclusiveLimit: r.int8(),
	}
	for i := range r.pick(4) {
		a.Metrics = append(a.Metrics, lifecyclev1alpha1.MetricCheck{Name: fmt.Sprintf("m%d", i%3), Query: "q",
			Threshold: thresholds[r.pick(len(thresholds))], Direction: directions[r.pick(len(directions))]})
	}
	return a
}

// fuzzSpec builds any step list, including ones admission would refuse:
// weights outside 0..100, negative pauses, steps with no action, analyses
// with no metrics or nonsense limits. The machine must survive them all.
func fuzzSpec(r *bytes) *lifecyclev1alpha1.RolloutSpec {
	n := r.pick(9)
	if n == 8 {
		return nil
	}
	spec := &lifecyclev1alpha1.RolloutSpec{}
	for range n {
		switch r.pick(5) {
		case 0, 1:
			w := r.int8()
			spec.Steps = append(spec.Steps, lifecyclev1alpha1.RolloutStep{SetWeight: &w})
		case 2:
			p := &lifecyclev1alpha1.PauseStep{}
			if d := r.int8(); d != 0 {
				p.Duration = &metav1.Duration{Duration: time.Duration(d) * time.Minute}
			}
			spec.Steps = append(spec.Steps, lifecyclev1alpha1.RolloutStep{Pause: p})
		case 3:
			spec.Steps = append(spec.Steps, lifecyclev1alpha1.RolloutStep{Analysis: fuzzAnalysis(r)})
		default:
			spec.Steps = append(spec.Steps, lifecyclev1alpha1.RolloutStep{})
		}
	}
	if r.pick(4) == 0 {
		spec.BackgroundAnalysis = fuzzAnalysis(r)
	}
	return spec
}

// FuzzStep drives the canary step machine the way the controller does,
// over any step list, any recorded status (status can be edited by anyone
// allowed to write it) and any sequence of measurements, requests, clock
// ticks and readiness, and checks what must always hold:
//   - no panic, and every call settles within the step count;
//   - the weight stays within 0..100, and the step index within the list;
//   - Promoting and Succeeded mean 100%, Aborting and Aborted 0%; a final
//     phase stays final, and a cutover stays one (a promotion may only be
//     aborted by request) until the controller finishes it;
//   - the step index never goes back within a rollout;
//   - missing data never promotes: with no measurement ever answered, an
//     analysis step ahead is never passed except by a person's Promote;
//   - a failed analysis names its metric;
//   - every value written to status is a Decimal the API server admits.
func FuzzStep(f *testing.F) {
	for _, seed := range [][]byte{
		{3, 0, 20, 2, 5, 3, 6, 5, 1, 0, 1, 0, 0, 0},
		{1, 0, 200, 0, 0, 0, 0},     // setWeight -56
		{2, 0, 150, 3, 1, 2, 0, 0},  // a weight over 100
		{1, 2, 250, 0, 0, 0},        // a negative pause
		{1, 4, 0, 0, 0, 0, 255, 10}, // a step with no action, status step -1
		{2, 3, 0, 255, 255, 255, 3, 0, 0, 0, 0, 0, 0},
		{8, 0, 0, 0, 4},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &bytes{b: data}
		spec := fuzzSpec(r)
		steps := Steps(spec)
		at := metav1.NewTime(t0)
		st := lifecyclev1alpha1.RolloutStatus{StableVersion: "v1", CanaryVersion: "v2",
			Phase: phases[r.pick(len(phases))], Step: r.int8(), Weight: r.int8(), StartedAt: &at, StepStartedAt: &at}
		if r.pick(4) == 0 {
			st.PrometheusUnavailableSince = &at
		}
		everAnswered := false
		measure := func(context.Context, lifecyclev1alpha1.MetricCheck) (float64, error) {
			switch r.pick(6) {
			case 0:
				return 0, prom.ErrNoData
			case 1:
				return 0, prom.ErrUnavailable
			case 2:
				return 0, fmt.Errorf("bad query")
			default:
				everAnswered = true
				return float64(r.int8()) / 100, nil
			}
		}
		now := t0
		for round := range 24 {
			if Terminal(st.Phase) {
				break
			}
			now = now.Add(time.Duration(r.next()) * 10 * time.Second)
			in := Input{Spec: spec, Status: st, Now: now, CanaryReady: r.pick(3) != 0, Request: requests[r.pick(len(requests))]}
			before := st
			var res Result
			settled := false
			// The controller applies each weight change and calls again.
			for range len(steps) + 3 {
				res = Step(context.Background(), in, measure)
				check(t, steps, before, in, res, everAnswered)
				if !res.WeightChanged || Terminal(res.Status.Phase) || Cutover(res.Status.Phase) {
					settled = true
					break
				}
				in.Status, in.Request, in.CanaryReady = res.Status, NoRequest, true
			}
			if !settled {
				t.Fatalf("round %d: the machine did not settle over %d steps: %+v", round, len(steps), res.Status)
			}
			st = res.Status
			if Cutover(st.Phase) && r.pick(2) == 0 {
				// Traffic moved: the controller finishes the cutover.
				Finish(&st, metav1.NewTime(now))
			}
		}
	})
}

func check(t *testing.T, steps []lifecyclev1alpha1.RolloutStep, before lifecyclev1alpha1.RolloutStatus, in Input, res Result, everAnswered bool) {
	t.Helper()
	st := res.Status
	if Cutover(in.Status.Phase) {
		want := in.Status.Phase
		if in.Request == Abort {
			want = lifecyclev1alpha1.RolloutAborting
		}
		if st.Phase != want {
			t.Fatalf("cutover %s became %s on request %q", in.Status.Phase, st.Phase, in.Request)
		}
		return
	}
	if Terminal(in.Status.Phase) {
		if st.Phase != in.Status.Phase {
			t.Fatalf("final phase %s became %s", in.Status.Phase, st.Phase)
		}
		return // a finished rollout is not decided again
	}
	if st.Weight < 0 || st.Weight > 100 {
		t.Fatalf("weight %d out of 0..100 (steps %s, from %+v)", st.Weight, describeSteps(steps), in.Status)
	}
	if st.Step < 0 || int(st.Step) > len(steps) {
		t.Fatalf("step %d out of 0..%d", st.Step, len(steps))
	}
	switch st.Phase {
	case lifecyclev1alpha1.RolloutSucceeded, lifecyclev1alpha1.RolloutPromoting:
		if st.Weight != 100 {
			t.Fatalf("%s at %d%%", st.Phase, st.Weight)
		}
	case lifecyclev1alpha1.RolloutAborted, lifecyclev1alpha1.RolloutAborting:
		if st.Weight != 0 {
			t.Fatalf("%s at %d%%", st.Phase, st.Weight)
		}
	}
	if from := min(max(before.Step, 0), int32(len(steps))); !Terminal(st.Phase) && st.Step < from {
		t.Fatalf("step went back from %d to %d", from, st.Step)
	}
	if res.RequeueAfter < 0 {
		t.Fatalf("negative requeue %v", res.RequeueAfter)
	}
	if st.Phase == lifecyclev1alpha1.RolloutPromoting && in.Request != Promote && !everAnswered {
		from := max(0, int(in.Status.Step))
		for i := from; i < len(steps); i++ {
			if steps[i].Analysis != nil && len(steps[i].Analysis.Metrics) > 0 {
				t.Fatalf("promoted past the analysis at step %d with no measurement ever answered (steps %s)", i, describeSteps(steps))
			}
		}
	}
	// An analysis passed in this call judged every metric: one it cannot
	// judge (no direction, no threshold) is never a pass.
	for i := min(max(int(in.Status.Step), 0), len(steps)); in.Request != Promote && i < int(st.Step) && i < len(steps); i++ {
		a := steps[i].Analysis
		if a == nil {
			continue
		}
		for _, m := range a.Metrics {
			if _, err := m.Threshold.Float64(); err != nil || (m.Direction != lifecyclev1alpha1.AtLeast && m.Direction != lifecyclev1alpha1.AtMost) {
				t.Fatalf("passed the analysis at step %d with metric %s (threshold %q, direction %q) it cannot judge", i, m.Name, m.Threshold, m.Direction)
			}
		}
	}
	if res.Failure != nil && res.Failure.Metric == "" {
		t.Fatalf("a failure without a metric: %+v", res.Failure)
	}
	for _, ms := range append(append([]lifecyclev1alpha1.AnalysisMetricStatus{}, st.Analysis...), st.BackgroundAnalysis...) {
		if ms.Value == "" {
			continue
		}
		if v, err := ms.Value.Float64(); err != nil || math.IsInf(v, 0) {
			t.Fatalf("status value %q of %s does not read back: %v", ms.Value, ms.Name, err)
		}
	}
}

func describeSteps(steps []lifecyclev1alpha1.RolloutStep) string {
	out := ""
	for _, s := range steps {
		switch {
		case s.SetWeight != nil:
			out += fmt.Sprintf("[w%d]", *s.SetWeight)
		case s.Pause != nil && s.Pause.Duration != nil:
			out += fmt.Sprintf("[p%v]", s.Pause.Duration.Duration)
		case s.Pause != nil:
			out += "[p]"
		case s.Analysis != nil:
			out += fmt.Sprintf("[a%d/%d/%d x%d]", s.Analysis.Count, s.Analysis.FailureLimit, s.Analysis.InconclusiveLimit, len(s.Analysis.Metrics))
		default:
			out += "[-]"
		}
	}
	return out
}
