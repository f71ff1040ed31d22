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
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/outcome"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func w(n int32) *int32 { return &n }

func pause(d time.Duration) *lifecyclev1alpha1.PauseStep {
	if d == 0 {
		return &lifecyclev1alpha1.PauseStep{}
	}
	return &lifecyclev1alpha1.PauseStep{Duration: &metav1.Duration{Duration: d}}
}

func analysis(count, failureLimit, inconclusiveLimit int32) *lifecyclev1alpha1.AnalysisSpec {
	return &lifecyclev1alpha1.AnalysisSpec{
		Metrics:  []lifecyclev1alpha1.MetricCheck{{Name: "errors", Query: "err", Threshold: "0.01", Direction: lifecyclev1alpha1.AtMost}},
		Interval: metav1.Duration{Duration: time.Minute}, Count: count,
		FailureLimit: failureLimit, InconclusiveLimit: inconclusiveLimit,
	}
}

// values returns a Measure that answers each call with the next value; a nil
// entry is no data, a NaN-free error string an error.
func values(vs ...any) (Measure, *int) {
	calls := 0
	return func(context.Context, lifecyclev1alpha1.MetricCheck) (float64, error) {
		defer func() { calls++ }()
		if calls >= len(vs) {
			return 0, prom.ErrNoData
		}
		switch v := vs[calls].(type) {
		case float64:
			return v, nil
		case error:
			return 0, v
		default:
			return 0, prom.ErrNoData
		}
	}, &calls
}

func start() lifecyclev1alpha1.RolloutStatus {
	at := metav1.NewTime(t0)
	return lifecyclev1alpha1.RolloutStatus{StableVersion: "v1", CanaryVersion: "v2", Phase: lifecyclev1alpha1.RolloutProgressing, StartedAt: &at, StepStartedAt: &at}
}

// drive calls Step the way the controller does: applying each weight change
// (the canary is ready at once unless notReady) until the machine waits.
func drive(t *testing.T, spec *lifecyclev1alpha1.RolloutSpec, st lifecyclev1alpha1.RolloutStatus, now time.Time, m Measure, notReady bool) Result {
	t.Helper()
	var last Result
	for range 20 {
		last = Step(context.Background(), Input{Spec: spec, Status: st, Now: now, CanaryReady: !notReady}, m)
		st = last.Status
		if !last.WeightChanged || Terminal(st.Phase) || Cutover(st.Phase) {
			return last
		}
	}
	t.Fatal("rollout did not settle")
	return last
}

func TestSetWeightWaitsForReadiness(t *testing.T) {
	spec := &lifecyclev1alpha1.RolloutSpec{Steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(20)}, {SetWeight: w(50)}}}
	m, _ := values()
	r := Step(context.Background(), Input{Spec: spec, Status: start(), Now: t0}, m)
	if !r.WeightChanged || r.Status.Weight != 20 || r.Status.Step != 0 {
		t.Fatalf("first call: %+v, want weight 20 at step 0 and a weight change", r.Status)
	}
	r = Step(context.Background(), Input{Spec: spec, Status: r.Status, Now: t0, CanaryReady: false}, m)
	if r.WeightChanged || r.Status.Step != 0 || !strings.Contains(r.Status.Message, "waiting for v2 to serve at 20%") {
		t.Fatalf("not ready: %+v", r.Status)
	}
	r = Step(context.Background(), Input{Spec: spec, Status: r.Status, Now: t0, CanaryReady: true}, m)
	if r.Status.Step != 1 || r.Status.Weight != 50 || !r.WeightChanged {
		t.Fatalf("ready: %+v, want step 1 at 50%%", r.Status)
	}
}

func TestTransitions(t *testing.T) {
	errDown := errors.New("prometheus: 503 service unavailable")
	errAway := fmt.Errorf("%w: dial tcp 127.0.0.1:9090: connect: connection refused", prom.ErrUnavailable)
	oneMeasured := func(s lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus {
		at := metav1.NewTime(t0)
		s.LastMeasuredAt = &at
		s.Analysis = []lifecyclev1alpha1.AnalysisMetricStatus{{Name: "errors", Measurements: 1, Result: lifecyclev1alpha1.ResultMet, Value: "0.001"}}
		return s
	}
	pausedSince := metav1.NewTime(t0.Add(90 * time.Second))
	pausedForPrometheus := func(s lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus {
		s = oneMeasured(s)
		s.Phase, s.PrometheusUnavailableSince = lifecyclev1alpha1.RolloutInconclusive, &pausedSince
		return s
	}
	tests := []struct {
		name      string
		steps     []lifecyclev1alpha1.RolloutStep
		bg        *lifecyclev1alpha1.AnalysisSpec
		status    func(lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus
		now       time.Duration
		values    []any
		request   Request
		phase     lifecyclev1alpha1.RolloutPhase
		step      int32
		weight    int32
		requeue   time.Duration
		message   string
		failure   string
		wantCalls int
		check     func(t *testing.T, r Result)
	}{
		{name: "no steps: straight to 100% and promoted",
			phase: lifecyclev1alpha1.RolloutPromoting, step: 1, weight: 100, message: "promoting v2 (all steps passed)"},
		{name: "timed pause waits for its end",
			steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(10)}, {Pause: pause(5 * time.Minute)}, {SetWeight: w(100)}},
			phase: lifecyclev1alpha1.RolloutPaused, step: 1, weight: 10, requeue: 5 * time.Minute, message: "paused until 2026-11-01T12:05:00Z"},
		{name: "timed pause ends and the next weight is set",
			steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(10)}, {Pause: pause(5 * time.Minute)}, {SetWeight: w(60)}, {Pause: pause(0)}},
			status: func(s lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus {
				s.Step, s.Weight = 1, 10
				return s
			},
			now:   5 * time.Minute,
			phase: lifecyclev1alpha1.RolloutPaused, step: 3, weight: 60, message: "paused until promoted"},
		{name: "indefinite pause waits for a person",
			steps: []lifecyclev1alpha1.RolloutStep{{Pause: pause(0)}},
			phase: lifecyclev1alpha1.RolloutPaused, step: 0, message: "paused until promoted (annotate lifecycle.aipm.io/promote)"},
		{name: "promote ends an indefinite pause",
			steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(10)}, {Pause: pause(0)}, {SetWeight: w(50)}},
			status: func(s lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus {
				s.Step, s.Weight, s.Phase = 1, 10, lifecyclev1alpha1.RolloutPaused
				return s
			},
			request: Promote, phase: lifecyclev1alpha1.RolloutPromoting, step: 3, weight: 100, message: "promoted by request"},
		{name: "abort mid-pause returns traffic",
			steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(30)}, {Pause: pause(time.Hour)}},
			status: func(s lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus {
				s.Step, s.Weight, s.Phase = 1, 30, lifecyclev1alpha1.RolloutPaused
				return s
			},
			request: Abort, phase: lifecyclev1alpha1.RolloutAborting, step: 1, weight: 0, message: "v2 rolling back: aborted by request"},
		{name: "analysis takes the first measurement at once and waits an interval",
			steps:  []lifecyclev1alpha1.RolloutStep{{SetWeight: w(10)}, {Analysis: analysis(3, 0, 0)}},
			values: []any{0.001},
			phase:  lifecyclev1alpha1.RolloutProgressing, step: 1, weight: 10, requeue: time.Minute, message: "analysis 1 of 3", wantCalls: 1},
		{name: "analysis passes after count good measurements",
			steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(10)}, {Analysis: analysis(2, 0, 0)}, {SetWeight: w(100)}},
			status: func(s lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus {
				s.Step, s.Weight = 1, 10
				at := metav1.NewTime(t0)
				s.LastMeasuredAt = &at
				s.Analysis = []lifecyclev1alpha1.AnalysisMetricStatus{{Name: "errors", Measurements: 1, Result: lifecyclev1alpha1.ResultMet}}
				return s
			},
			now: time.Minute, values: []any{0.002},
			phase: lifecyclev1alpha1.RolloutPromoting, step: 3, weight: 100, wantCalls: 1},
		{name: "analysis not yet due does not query",
			steps: []lifecyclev1alpha1.RolloutStep{{Analysis: analysis(2, 0, 0)}},
			status: func(s lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus {
				at := metav1.NewTime(t0)
				s.LastMeasuredAt = &at
				s.Analysis = []lifecyclev1alpha1.AnalysisMetricStatus{{Name: "errors", Measurements: 1}}
				return s
			},
			now:   20 * time.Second,
			phase: lifecyclev1alpha1.RolloutProgressing, requeue: 40 * time.Second, wantCalls: 0},
		{name: "rollback during analysis: a failure over the limit aborts",
			steps:  []lifecyclev1alpha1.RolloutStep{{SetWeight: w(20)}, {Analysis: analysis(3, 0, 0)}},
			values: []any{0.05},
			phase:  lifecyclev1alpha1.RolloutAborting, step: 1, weight: 0,
			failure: "analysis metric errors was 0.05, threshold at most 0.01", wantCalls: 1},
		{name: "a failure within the limit continues",
			steps:  []lifecyclev1alpha1.RolloutStep{{Analysis: analysis(3, 1, 0)}},
			values: []any{0.05},
			phase:  lifecyclev1alpha1.RolloutProgressing, requeue: time.Minute, wantCalls: 1},
		{name: "no data: inconclusive pauses, never promotes",
			steps:  []lifecyclev1alpha1.RolloutStep{{SetWeight: w(20)}, {Analysis: analysis(1, 0, 0)}, {SetWeight: w(100)}},
			values: []any{nil},
			phase:  lifecyclev1alpha1.RolloutInconclusive, step: 1, weight: 20, message: "metric errors: no data", wantCalls: 1},
		{name: "prometheus unavailable: paused as inconclusive, nothing counted, measured again after an interval",
			steps: []lifecyclev1alpha1.RolloutStep{{Analysis: analysis(3, 0, 0)}}, status: oneMeasured,
			now: 2 * time.Minute, values: []any{errAway},
			phase: lifecyclev1alpha1.RolloutInconclusive, requeue: time.Minute, message: "resumes when Prometheus answers", wantCalls: 1,
			check: func(t *testing.T, r Result) {
				if a := r.Status.Analysis[0]; a.Measurements != 1 || a.Inconclusives != 0 || !r.Status.LastMeasuredAt.Equal(&metav1.Time{Time: t0}) {
					t.Errorf("analysis = %+v, lastMeasuredAt %v; want the one earlier measurement untouched", a, r.Status.LastMeasuredAt)
				}
				if r.Status.PrometheusUnavailableSince == nil || len(r.Events) != 1 || r.Events[0].Reason != "AnalysisPaused" {
					t.Errorf("since = %v, events = %+v; want the pause recorded once", r.Status.PrometheusUnavailableSince, r.Events)
				}
			}},
		{name: "paused for Prometheus and still away: unchanged, so nothing to write",
			steps: []lifecyclev1alpha1.RolloutStep{{Analysis: analysis(3, 0, 0)}}, status: pausedForPrometheus,
			now: 3 * time.Minute, values: []any{errAway},
			phase: lifecyclev1alpha1.RolloutInconclusive, requeue: time.Minute, wantCalls: 1,
			check: func(t *testing.T, r Result) {
				if !r.Status.PrometheusUnavailableSince.Equal(&pausedSince) || len(r.Events) != 0 {
					t.Errorf("since = %v, events = %+v; want the first pause kept and no event", r.Status.PrometheusUnavailableSince, r.Events)
				}
			}},
		{name: "paused for Prometheus resumes where it was once Prometheus answers",
			steps: []lifecyclev1alpha1.RolloutStep{{Analysis: analysis(3, 0, 0)}}, status: pausedForPrometheus,
			now: 4 * time.Minute, values: []any{0.002},
			phase: lifecyclev1alpha1.RolloutProgressing, requeue: time.Minute, message: "analysis 2 of 3", wantCalls: 1,
			check: func(t *testing.T, r Result) {
				if r.Status.PrometheusUnavailableSince != nil || len(r.Events) != 1 || r.Events[0].Reason != "AnalysisResumed" {
					t.Errorf("since = %v, events = %+v; want the pause ended with AnalysisResumed", r.Status.PrometheusUnavailableSince, r.Events)
				}
			}},
		{name: "background analysis with Prometheus unavailable pauses a timed pause step too",
			steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(20)}, {Pause: pause(time.Hour)}},
			bg:    analysis(100, 0, 5),
			status: func(s lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus {
				s.Step, s.Weight = 1, 20
				return s
			},
			values: []any{errAway},
			phase:  lifecyclev1alpha1.RolloutInconclusive, weight: 20, step: 1, requeue: time.Minute, message: "resumes when Prometheus answers", wantCalls: 1},
		{name: "a query error: inconclusive with the error",
			steps:  []lifecyclev1alpha1.RolloutStep{{Analysis: analysis(1, 0, 0)}},
			values: []any{errDown},
			phase:  lifecyclev1alpha1.RolloutInconclusive, message: "503 service unavailable", wantCalls: 1},
		{name: "an inconclusive measurement within the limit does not count toward count",
			steps:  []lifecyclev1alpha1.RolloutStep{{Analysis: analysis(1, 0, 2)}, {SetWeight: w(100)}},
			values: []any{nil},
			phase:  lifecyclev1alpha1.RolloutProgressing, step: 0, requeue: time.Minute, message: "analysis 0 of 1", wantCalls: 1},
		{name: "inconclusive stays paused without a request",
			steps: []lifecyclev1alpha1.RolloutStep{{Analysis: analysis(1, 0, 0)}},
			status: func(s lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus {
				s.Phase = lifecyclev1alpha1.RolloutInconclusive
				return s
			},
			phase: lifecyclev1alpha1.RolloutInconclusive, wantCalls: 0},
		{name: "background analysis failure aborts at any step",
			steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(20)}, {Pause: pause(time.Hour)}},
			bg:    analysis(100, 0, 5),
			status: func(s lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus {
				s.Step, s.Weight = 1, 20
				return s
			},
			values: []any{0.5},
			phase:  lifecyclev1alpha1.RolloutAborting, weight: 0, step: 1, failure: "analysis metric errors was 0.5", message: "background analysis metric", wantCalls: 1},
		{name: "background analysis passing keeps the pause and the earlier requeue",
			steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(20)}, {Pause: pause(time.Hour)}},
			bg:    analysis(100, 0, 5),
			status: func(s lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus {
				s.Step, s.Weight = 1, 20
				return s
			},
			values: []any{0.001},
			phase:  lifecyclev1alpha1.RolloutPaused, weight: 20, step: 1, requeue: time.Minute, wantCalls: 1},
		{name: "a finished rollout stays finished",
			steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(20)}},
			status: func(s lifecyclev1alpha1.RolloutStatus) lifecyclev1alpha1.RolloutStatus {
				s.Phase, s.Weight = lifecyclev1alpha1.RolloutAborted, 0
				return s
			},
			request: Promote, phase: lifecyclev1alpha1.RolloutAborted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var spec *lifecyclev1alpha1.RolloutSpec
			if tt.steps != nil {
				spec = &lifecyclev1alpha1.RolloutSpec{Steps: tt.steps, BackgroundAnalysis: tt.bg}
			}
			st := start()
			if tt.status != nil {
				st = tt.status(st)
			}
			m, calls := values(tt.values...)
			var r Result
			if tt.request != NoRequest {
				r = Step(context.Background(), Input{Spec: spec, Status: st, Now: t0.Add(tt.now), Request: tt.request}, m)
			} else {
				r = drive(t, spec, st, t0.Add(tt.now), m, false)
			}
			got := r.Status
			if got.Phase != tt.phase || got.Step != tt.step || got.Weight != tt.weight {
				t.Fatalf("phase/step/weight = %s/%d/%d, want %s/%d/%d (%s)", got.Phase, got.Step, got.Weight, tt.phase, tt.step, tt.weight, got.Message)
			}
			if r.RequeueAfter != tt.requeue {
				t.Errorf("requeue = %v, want %v", r.RequeueAfter, tt.requeue)
			}
			if !strings.Contains(got.Message, tt.message) {
				t.Errorf("message = %q, want it to contain %q", got.Message, tt.message)
			}
			if tt.failure != "" && (r.Failure == nil || !strings.Contains(r.Failure.String(), tt.failure)) {
				t.Errorf("failure = %v, want %q", r.Failure, tt.failure)
			}
			if tt.failure == "" && r.Failure != nil {
				t.Errorf("unexpected failure %v", r.Failure)
			}
			if *calls != tt.wantCalls {
				t.Errorf("measured %d times, want %d", *calls, tt.wantCalls)
			}
			if Terminal(got.Phase) && tt.status == nil && got.FinishedAt == nil {
				t.Errorf("finished rollout without finishedAt")
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// A canary that receives traffic and stays unavailable is rolled back once
// that has lasted the progress deadline, in its pods' words; one that
// becomes available in time starts the count again next time.
func TestProgressDeadline(t *testing.T) {
	deadline := metav1.Duration{Duration: 10 * time.Minute}
	spec := &lifecyclev1alpha1.RolloutSpec{ProgressDeadline: &deadline,
		Steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(20)}, {Pause: &lifecyclev1alpha1.PauseStep{}}}}
	m, _ := values()
	diagnose := func() string { return "pod shop-v2-abc: container model: CrashLoopBackOff" }
	st := Step(context.Background(), Input{Spec: spec, Status: start(), Now: t0}, m).Status

	r := Step(context.Background(), Input{Spec: spec, Status: st, Now: t0, Diagnose: diagnose}, m)
	if r.Status.Phase != lifecyclev1alpha1.RolloutProgressing || r.Status.CanaryUnavailableSince == nil || r.RequeueAfter != 10*time.Minute {
		t.Fatalf("first unavailable: phase %s since %v requeue %v", r.Status.Phase, r.Status.CanaryUnavailableSince, r.RequeueAfter)
	}
	r = Step(context.Background(), Input{Spec: spec, Status: r.Status, Now: t0.Add(6 * time.Minute), Diagnose: diagnose}, m)
	if r.Status.Phase != lifecyclev1alpha1.RolloutProgressing || r.RequeueAfter != 4*time.Minute {
		t.Fatalf("within the deadline: phase %s requeue %v", r.Status.Phase, r.RequeueAfter)
	}
	r = Step(context.Background(), Input{Spec: spec, Status: r.Status, Now: t0.Add(10 * time.Minute), Diagnose: diagnose}, m)
	if r.Status.Phase != lifecyclev1alpha1.RolloutAborting || r.Status.Reason != ReasonProgressDeadlineExceeded || r.Status.Weight != 0 {
		t.Fatalf("past the deadline: phase %s reason %s weight %d", r.Status.Phase, r.Status.Reason, r.Status.Weight)
	}
	if want := "not available within the progress deadline of 10m0s: pod shop-v2-abc: container model: CrashLoopBackOff"; !strings.Contains(r.Status.Message, want) {
		t.Errorf("message %q, want it to contain %q", r.Status.Message, want)
	}

	// Available in time: the count is cleared, and the paused rollout
	// waits for a person, not for the deadline.
	r = Step(context.Background(), Input{Spec: spec, Status: st, Now: t0.Add(time.Minute)}, m)
	r = Step(context.Background(), Input{Spec: spec, Status: r.Status, Now: t0.Add(2 * time.Minute), CanaryReady: true}, m)
	if r.Status.CanaryUnavailableSince != nil || r.Status.Phase != lifecyclev1alpha1.RolloutPaused {
		t.Fatalf("available: since %v phase %s", r.Status.CanaryUnavailableSince, r.Status.Phase)
	}
}

// A promotion or an abort is decided once: the step machine leaves the
// cutover to the controller, and only an abort request changes a promotion.
func TestCutoverIsTheControllers(t *testing.T) {
	m, _ := values()
	st := start()
	st.Phase, st.Weight, st.Reason = lifecyclev1alpha1.RolloutPromoting, 100, ReasonPromoted
	for _, req := range []Request{NoRequest, Promote} {
		if r := Step(context.Background(), Input{Status: st, Now: t0, Request: req}, m); r.Status.Phase != lifecyclev1alpha1.RolloutPromoting || r.WeightChanged {
			t.Errorf("request %q: %s, weight changed %v", req, r.Status.Phase, r.WeightChanged)
		}
	}
	r := Step(context.Background(), Input{Status: st, Now: t0, Request: Abort}, m)
	if r.Status.Phase != lifecyclev1alpha1.RolloutAborting || r.Status.Weight != 0 || r.Status.Reason != ReasonAbortedByRequest {
		t.Fatalf("abort during the promotion: %+v", r.Status)
	}
	events := Finish(&st, metav1.NewTime(t0))
	if st.Phase != lifecyclev1alpha1.RolloutSucceeded || st.FinishedAt == nil || len(events) != 1 || events[0].Reason != "RolloutSucceeded" {
		t.Fatalf("finished promotion: %+v, %+v", st, events)
	}
	ab := r.Status
	Finish(&ab, metav1.NewTime(t0))
	if ab.Phase != lifecyclev1alpha1.RolloutAborted || !strings.Contains(ab.Message, "rolled back") {
		t.Fatalf("finished abort: %+v", ab)
	}
}

// A split the router can never give aborts the rollout at once, with the
// router's reason, at any step and during a promotion; an abort under way
// stays as it is.
func TestRefusedSplitAborts(t *testing.T) {
	m, _ := values()
	refused := outcome.Stall(lifecyclev1alpha1.ReasonRouteRequired, errors.New("Standard mode cannot split traffic by itself"))
	spec := &lifecyclev1alpha1.RolloutSpec{Steps: []lifecyclev1alpha1.RolloutStep{{SetWeight: w(25)}, {Pause: &lifecyclev1alpha1.PauseStep{}}}}
	progressing := Step(context.Background(), Input{Spec: spec, Status: start(), Now: t0}, m).Status
	promoting := start()
	promoting.Phase, promoting.Weight = lifecyclev1alpha1.RolloutPromoting, 100
	aborting := start()
	aborting.Phase, aborting.Reason = lifecyclev1alpha1.RolloutAborting, ReasonAnalysisFailed
	for _, tt := range []struct {
		name       string
		status     lifecyclev1alpha1.RolloutStatus
		wantReason string
	}{
		{"at a step", progressing, lifecyclev1alpha1.ReasonRouteRequired},
		{"during a promotion", promoting, lifecyclev1alpha1.ReasonRouteRequired},
		{"during an abort", aborting, ReasonAnalysisFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Step(context.Background(), Input{Spec: spec, Status: tt.status, Now: t0, Refused: outcome.Stalling(refused)}, m)
			if r.Status.Phase != lifecyclev1alpha1.RolloutAborting || r.Status.Reason != tt.wantReason || r.Status.Weight != 0 {
				t.Fatalf("phase %s reason %s weight %d", r.Status.Phase, r.Status.Reason, r.Status.Weight)
			}
			if tt.wantReason == lifecyclev1alpha1.ReasonRouteRequired && !strings.Contains(r.Status.Message, "cannot split traffic") {
				t.Errorf("message %q does not say why", r.Status.Message)
			}
		})
	}
}

// A step is told once: a weight when the canary serves at it, an analysis
// by its verdict; a pause's end is the next step's start.
func TestEventsOnePerStepThatChangesWhatUsersGet(t *testing.T) {
	spec := &lifecyclev1alpha1.RolloutSpec{Steps: []lifecyclev1alpha1.RolloutStep{
		{SetWeight: w(25)}, {Pause: pause(time.Minute)}, {Analysis: analysis(1, 0, 0)}, {SetWeight: w(75)}}}
	m, _ := values(0.001)
	var reasons, notes []string
	st := start()
	for i, now := range []time.Time{t0, t0, t0.Add(time.Minute), t0.Add(2 * time.Minute)} {
		for range 20 {
			r := Step(context.Background(), Input{Spec: spec, Status: st, Now: now, CanaryReady: true}, m)
			st = r.Status
			for _, e := range r.Events {
				reasons, notes = append(reasons, e.Reason), append(notes, e.Message)
			}
			if !r.WeightChanged || Terminal(st.Phase) || Cutover(st.Phase) {
				break
			}
		}
		if i == len(spec.Steps)-1 && st.Phase != lifecyclev1alpha1.RolloutPromoting {
			t.Fatalf("phase %s at the end, want Promoting", st.Phase)
		}
	}
	want := []string{"StepCompleted", "AnalysisPassed", "StepCompleted", ReasonEventPromoting}
	if strings.Join(reasons, ",") != strings.Join(want, ",") {
		t.Errorf("events %v (%q), want %v", reasons, notes, want)
	}
	if notes[0] != "Completed step 1 of the rollout of v2: it serves at 25%" {
		t.Errorf("first event %q: want the weight served", notes[0])
	}
}
