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

// Package rollout is the canary step machine. Given the steps, the rollout's
// status, the time, whether the canary serves at its weight, and a way to
// measure an analysis metric, it decides the next status and when it must
// be looked at again. It knows nothing of the API server.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/judge"
	"github.com/aipm-io/aipm-operator/internal/outcome"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

// Measure returns the current value of an analysis metric's query.
// An error, including prom.ErrNoData, makes the measurement inconclusive;
// prom.ErrUnavailable instead pauses the analysis without measuring.
type Measure func(ctx context.Context, m lifecyclev1alpha1.MetricCheck) (float64, error)

// Request is a manual request for the running rollout.
type Request string

// Why a rollout ended, as RolloutStatus.Reason records it.
const (
	ReasonPromoted          = "Promoted"
	ReasonPromotedByRequest = "PromotedByRequest"
	ReasonAnalysisFailed    = "AnalysisFailed"
	ReasonAbortedByRequest  = "AbortedByRequest"
	// ReasonAbandoned: a newer choice replaced the canary before its end;
	// the canary is not judged and goes back to Candidate.
	ReasonAbandoned = "Abandoned"
	// ReasonProgressDeadlineExceeded: the canary was not available at the
	// size its step or promotion needs within the progress deadline.
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// ReasonApprovalRejected: a person whose sign-off the promotion needs
	// rejected it.
	ReasonApprovalRejected = "ApprovalRejected"
)

// DefaultProgressDeadline is spec.delivery.rollout.progressDeadline when
// unset.
const DefaultProgressDeadline = 10 * time.Minute

// Manual requests.
const (
	NoRequest Request = ""
	Promote   Request = "Promote"
	Abort     Request = "Abort"
	// Retry restarts an aborted or inconclusive rollout from its first step;
	// the controller acts on it, since it starts a new rollout.
	Retry Request = "Retry"
)

// Input is everything a step decision depends on.
type Input struct {
	// Spec is the product's rollout; nil means a single step to 100%.
	Spec *lifecyclev1alpha1.RolloutSpec
	// Status is the rollout as last recorded.
	Status lifecyclev1alpha1.RolloutStatus
	// Now is the decision time.
	Now time.Time
	// CanaryReady is true when the canary serves at Status.Weight.
	CanaryReady bool
	// Request is a manual request, if any.
	Request Request
	// Diagnose says why the canary is not available, in the words of its
	// pods; it is called only when the progress deadline has passed.
	Diagnose func() string
	// Refused, when not nil, is why the traffic router can never give the
	// canary its share as configured (KServe's Standard mode without an
	// HTTPRoute): the rollout is aborted at once with its reason instead
	// of waiting out the progress deadline.
	Refused *outcome.StallingError
	// Approval is where the sign-off of the canary's promotion stands;
	// nil when the product needs none.
	Approval *Approval
}

// Approval is the sign-off a promotion needs, as the product's Approvals
// stand.
type Approval struct {
	// Needed names each role that has not approved yet, with the person
	// who holds it, such as "TechLead (tl@example.com)".
	Needed []string
	// Rejected, when set, is the rejection that aborts the rollout, in
	// words: who rejected, as what, and their comment.
	Rejected string
}

// Pending reports whether the promotion still waits for someone.
func (a *Approval) Pending() bool { return a != nil && len(a.Needed) > 0 }

// Event is something worth telling a person.
type Event struct {
	Warning bool
	Reason  string
	Message string
}

// Failure names the analysis metric that aborted a rollout.
type Failure struct {
	Metric    string
	Value     lifecyclev1alpha1.Decimal
	Threshold lifecyclev1alpha1.Decimal
	Direction lifecyclev1alpha1.Direction
}

func (f *Failure) String() string {
	if objective, ok := strings.CutPrefix(f.Metric, GuardPrefix); ok {
		return fmt.Sprintf("guardrail on objective %s: the canary did %s%% worse than the stable version, at most %s%% allowed",
			objective, percent(f.Value), percent(f.Threshold))
	}
	return fmt.Sprintf("analysis metric %s was %s, threshold %s %s", f.Metric, f.Value, wordFor(f.Direction), f.Threshold)
}

// percent writes a relative figure such as 0.2 as 20.
func percent(d lifecyclev1alpha1.Decimal) string {
	f, err := d.Float64()
	if err != nil {
		return string(d)
	}
	return strconv.FormatFloat(f*100, 'f', -1, 32)
}

// GuardPrefix names, in an analysis' status, the checks that guard a
// business objective: objective/<name>. Their value is how much worse the
// canary did than the stable version, relative to the stable's value.
const GuardPrefix = "objective/"

// DefaultMaxObjectiveDegradation is an analysis' maxObjectiveDegradation
// when unset.
const DefaultMaxObjectiveDegradation lifecyclev1alpha1.Decimal = "0.05"

// Checks is what one measurement of an analysis judges: its metrics, then
// a guardrail per objective, judged on the canary's relative degradation
// against the stable version.
func Checks(spec *lifecyclev1alpha1.AnalysisSpec) []lifecyclev1alpha1.MetricCheck {
	out := make([]lifecyclev1alpha1.MetricCheck, 0, len(spec.Metrics)+len(spec.Objectives))
	out = append(out, spec.Metrics...)
	tolerance := spec.MaxObjectiveDegradation
	if tolerance == "" {
		tolerance = DefaultMaxObjectiveDegradation
	}
	for _, o := range spec.Objectives {
		out = append(out, lifecyclev1alpha1.MetricCheck{Name: GuardPrefix + o, Threshold: tolerance, Direction: lifecyclev1alpha1.AtMost})
	}
	return out
}

// Guarded is the objective a check of Checks guards, if it is a guardrail.
func Guarded(m lifecyclev1alpha1.MetricCheck) (string, bool) {
	return strings.CutPrefix(m.Name, GuardPrefix)
}

// Result is the decision.
type Result struct {
	// Status is the rollout's new status.
	Status lifecyclev1alpha1.RolloutStatus
	// RequeueAfter is when the rollout must be looked at again; zero means
	// it waits for an event (canary readiness, a manual request).
	RequeueAfter time.Duration
	// WeightChanged is true when Status.Weight differs from the input's:
	// the caller applies it and calls Step again.
	WeightChanged bool
	// Events happened in this step.
	Events []Event
	// Failure is set when an analysis aborted the rollout.
	Failure *Failure
}

// Steps returns the effective steps: a rollout with no spec is one step to
// full weight.
func Steps(spec *lifecyclev1alpha1.RolloutSpec) []lifecyclev1alpha1.RolloutStep {
	if spec == nil || len(spec.Steps) == 0 {
		w := int32(100)
		return []lifecyclev1alpha1.RolloutStep{{SetWeight: &w}}
	}
	return spec.Steps
}

// Terminal reports whether a rollout phase is final.
func Terminal(p lifecyclev1alpha1.RolloutPhase) bool {
	return p == lifecyclev1alpha1.RolloutSucceeded || p == lifecyclev1alpha1.RolloutAborted
}

// Cutover reports whether the steps are decided and traffic moves to the
// version that won: Promoting or Aborting.
func Cutover(p lifecyclev1alpha1.RolloutPhase) bool {
	return p == lifecyclev1alpha1.RolloutPromoting || p == lifecyclev1alpha1.RolloutAborting
}

// ProgressDeadline is the spec's progress deadline, or its default.
func ProgressDeadline(spec *lifecyclev1alpha1.RolloutSpec) time.Duration {
	if spec == nil || spec.ProgressDeadline == nil {
		return DefaultProgressDeadline
	}
	return spec.ProgressDeadline.Duration
}

// Unavailable records that the canary is not available at the size it
// needs now, and reports whether that has lasted the progress deadline;
// wait is how long until it will have.
func Unavailable(st *lifecyclev1alpha1.RolloutStatus, deadline time.Duration, now metav1.Time) (exceeded bool, wait time.Duration) {
	if st.CanaryUnavailableSince == nil {
		st.CanaryUnavailableSince = &now
	}
	left := st.CanaryUnavailableSince.Add(deadline).Sub(now.Time)
	return left <= 0, left
}

// Finish ends a cutover once traffic has moved: a promoted canary is
// Succeeded, an aborted one Aborted.
func Finish(st *lifecyclev1alpha1.RolloutStatus, now metav1.Time) []Event {
	st.FinishedAt = &now
	st.CanaryUnavailableSince = nil
	if st.Phase == lifecyclev1alpha1.RolloutAborting {
		st.Phase = lifecyclev1alpha1.RolloutAborted
		st.Message = strings.Replace(st.Message, "rolling back", "rolled back", 1)
		return nil
	}
	st.Phase = lifecyclev1alpha1.RolloutSucceeded
	why := "all steps passed"
	if st.Reason == ReasonPromotedByRequest {
		why = "promoted by request"
	}
	st.Message = fmt.Sprintf("%s promoted: %s", st.CanaryVersion, why)
	return []Event{{Reason: "RolloutSucceeded", Message: fmt.Sprintf("Promoted %s to production (%s)", st.CanaryVersion, why)}}
}

// AbortCutover aborts a promotion whose canary did not become available
// at full size within the progress deadline.
func AbortCutover(st *lifecyclev1alpha1.RolloutStatus, reason, why string, now metav1.Time) []Event {
	r := Result{Status: *st}
	r.abort(now, reason, why, nil)
	*st = r.Status
	return r.Events
}

// Step advances the rollout as far as it can go now. It stops at the first
// thing it must wait for: canary readiness after a weight change, a pause,
// the next analysis measurement, or a person.
func Step(ctx context.Context, in Input, measure Measure) Result {
	r := Result{Status: *in.Status.DeepCopy()}
	st := &r.Status
	now := metav1.NewTime(in.Now)
	steps := Steps(in.Spec)
	if Terminal(st.Phase) {
		return r
	}
	// Status is whatever was last written, and anyone allowed to write it
	// could have written nonsense; a weight outside 0..100 would give the
	// canary more replicas than the product has, and a negative step would
	// index outside the list.
	st.Step = min(max(st.Step, 0), int32(len(steps)))
	st.Weight = clampWeight(st.Weight)
	switch {
	case in.Request == Abort && st.Phase != lifecyclev1alpha1.RolloutAborting:
		r.abort(now, ReasonAbortedByRequest, "aborted by request", nil)
		return r
	case in.Refused != nil && st.Phase != lifecyclev1alpha1.RolloutAborting:
		r.abort(now, in.Refused.Reason, in.Refused.Err.Error(), nil)
		return r
	case Cutover(st.Phase):
		// Decided; the caller moves traffic and finishes it.
		return r
	case in.Approval != nil && in.Approval.Rejected != "":
		r.abort(now, ReasonApprovalRejected, in.Approval.Rejected, nil)
		return r
	case in.Request == Promote && in.Approval.Pending():
		// A promotion by hand skips the steps, never the sign-off.
		st.Step = int32(len(steps))
		r.awaitApproval(in.Approval)
		return r
	case in.Request == Promote:
		r.succeed(now, ReasonPromotedByRequest, len(steps), "promoted by request")
		return r
	}
	// An Inconclusive pause waits for a person, unless Prometheus being
	// away caused it: then measuring again is how it ends.
	if st.Phase == lifecyclev1alpha1.RolloutInconclusive && st.PrometheusUnavailableSince == nil {
		return r
	}
	if st.StepStartedAt == nil {
		st.StepStartedAt = &now
	}
	if st.StartedAt == nil {
		st.StartedAt = &now
	}
	// A canary that receives traffic and is not available (pods that crash,
	// an image that cannot be pulled) is given the progress deadline, at
	// any step, and is then rolled back.
	if st.Weight > 0 && !in.CanaryReady {
		exceeded, wait := Unavailable(st, in.progressDeadline(), now)
		if exceeded {
			why := fmt.Sprintf("not available within the progress deadline of %s", in.progressDeadline())
			if in.Diagnose != nil {
				if d := in.Diagnose(); d != "" {
					why += ": " + d
				}
			}
			r.abort(now, ReasonProgressDeadlineExceeded, why, nil)
			return r
		}
		r.requeueAt(wait)
	} else {
		st.CanaryUnavailableSince = nil
	}

	// Each pass either advances one step or returns; the bound is the step
	// count plus the final promotion.
	for range len(steps) + 1 {
		if in.Spec != nil && in.Spec.BackgroundAnalysis != nil && st.Weight > 0 {
			out := analyse(ctx, in.Spec.BackgroundAnalysis, &st.BackgroundAnalysis, &st.BackgroundMeasuredAt, in.Now, measure)
			switch {
			case out.unavailable != "":
				r.unavailable(now, out.unavailable, out.wait)
				return r
			case out.measured:
				r.resume()
			}
			switch {
			case out.failure != nil:
				r.abort(now, ReasonAnalysisFailed, "background "+out.failure.String(), out.failure)
				return r
			case out.inconclusive != "":
				r.inconclusive("background analysis: " + out.inconclusive)
				return r
			}
			r.requeueAt(out.wait)
		}
		if int(st.Step) >= len(steps) {
			if in.Approval.Pending() {
				r.awaitApproval(in.Approval)
				return r
			}
			r.succeed(now, ReasonPromoted, len(steps), "all steps passed")
			return r
		}
		step := steps[st.Step]
		switch {
		case step.SetWeight != nil:
			w := clampWeight(*step.SetWeight)
			if st.Weight != w {
				st.Weight = w
				st.Phase = lifecyclev1alpha1.RolloutProgressing
				st.Message = fmt.Sprintf("step %d: set canary weight to %d%%", st.Step, w)
				r.WeightChanged = true
				return r
			}
			if !in.CanaryReady {
				st.Phase = lifecyclev1alpha1.RolloutProgressing
				st.Message = fmt.Sprintf("step %d: waiting for %s to serve at %d%%", st.Step, st.CanaryVersion, w)
				return r
			}
			r.completed(fmt.Sprintf(": it serves at %d%%", w))
			r.advance(now)
		case step.Pause != nil:
			if step.Pause.Duration == nil {
				st.Phase = lifecyclev1alpha1.RolloutPaused
				st.Message = fmt.Sprintf("step %d: paused until promoted (annotate %s)", st.Step, lifecyclev1alpha1.AnnotationPromote)
				return r
			}
			end := st.StepStartedAt.Add(step.Pause.Duration.Duration)
			if in.Now.Before(end) {
				st.Phase = lifecyclev1alpha1.RolloutPaused
				st.Message = fmt.Sprintf("step %d: paused until %s", st.Step, end.UTC().Format(time.RFC3339))
				r.requeueAt(end.Sub(in.Now))
				return r
			}
			r.advance(now)
		case step.Analysis != nil:
			out := analyse(ctx, step.Analysis, &st.Analysis, &st.LastMeasuredAt, in.Now, measure)
			if out.unavailable != "" {
				r.unavailable(now, out.unavailable, out.wait)
				return r
			}
			if out.measured {
				r.resume()
			}
			if st.PrometheusUnavailableSince == nil {
				st.Phase = lifecyclev1alpha1.RolloutProgressing
			}
			switch {
			case out.failure != nil:
				r.abort(now, ReasonAnalysisFailed, out.failure.String(), out.failure)
				return r
			case out.inconclusive != "":
				r.inconclusive(out.inconclusive)
				return r
			case !out.complete:
				st.Message = fmt.Sprintf("step %d: analysis %d of %d measurements taken", st.Step, measured(st.Analysis), step.Analysis.Count)
				r.requeueAt(out.wait)
				return r
			}
			r.Events = append(r.Events, Event{Reason: "AnalysisPassed", Message: fmt.Sprintf(
				"Analysis of %s passed at step %d", st.CanaryVersion, st.Step+1)})
			r.advance(now)
		default:
			r.completed("")
			r.advance(now)
		}
	}
	return r
}

func (in Input) progressDeadline() time.Duration { return ProgressDeadline(in.Spec) }

// clampWeight holds a weight to 0..100, which admission already requires of
// every step.
func clampWeight(w int32) int32 { return min(max(w, 0), 100) }

func (r *Result) requeueAt(d time.Duration) {
	if d > 0 && (r.RequeueAfter == 0 || d < r.RequeueAfter) {
		r.RequeueAfter = d
	}
}

// completed tells that the current step is done; detail ends the message.
// A step that sets a weight is told once, when the canary serves at it; a
// pause's end is the next step's start, and an analysis tells its own
// verdict.
func (r *Result) completed(detail string) {
	st := &r.Status
	r.Events = append(r.Events, Event{Reason: "StepCompleted", Message: fmt.Sprintf(
		"Completed step %d of the rollout of %s%s", st.Step+1, st.CanaryVersion, detail)})
}

// advance moves to the next step.
func (r *Result) advance(now metav1.Time) {
	st := &r.Status
	st.Step++
	st.StepStartedAt = &now
	st.Analysis = nil
	st.LastMeasuredAt = nil
}

// awaitApproval pauses a rollout whose steps have all passed until the
// people its promotion needs have approved it; an Approval wakes it.
func (r *Result) awaitApproval(a *Approval) {
	st := &r.Status
	msg := fmt.Sprintf("%s passed every step; waiting for approval by %s", st.CanaryVersion, strings.Join(a.Needed, " and "))
	if st.Phase != lifecyclev1alpha1.RolloutPaused || st.Message != msg {
		r.Events = append(r.Events, Event{Reason: "AwaitingApproval", Message: "Promotion of " + msg})
	}
	st.Phase, st.Message = lifecyclev1alpha1.RolloutPaused, msg
	r.RequeueAfter = 0
}

// AwaitingApproval reports whether a rollout is paused for sign-off: the
// product's promotions need some, its steps are done and it has not been
// promoted.
func AwaitingApproval(d *lifecyclev1alpha1.DeliverySpec, ro *lifecyclev1alpha1.RolloutStatus) bool {
	return d != nil && d.Promotion != nil && len(d.Promotion.Approvals) > 0 &&
		ro != nil && ro.Phase == lifecyclev1alpha1.RolloutPaused && int(ro.Step) >= len(Steps(d.Rollout))
}

// ReasonEventPromoting is the reason of the event that tells a promotion
// has been decided and waits for the canary's pods.
const ReasonEventPromoting = "RolloutPromoting"

// succeed decides the promotion; the caller scales the canary to full size,
// moves all traffic to it once it is available, and calls Finish.
func (r *Result) succeed(now metav1.Time, reason string, steps int, why string) {
	st := &r.Status
	st.Phase, st.Reason = lifecyclev1alpha1.RolloutPromoting, reason
	st.Step = int32(steps)
	st.Weight = 100
	st.StepStartedAt = &now
	st.CanaryUnavailableSince = nil
	st.Message = fmt.Sprintf("promoting %s (%s): scaling it to full size before it takes all traffic", st.CanaryVersion, why)
	r.WeightChanged = true
	r.RequeueAfter = 0
	r.Events = append(r.Events, Event{Reason: ReasonEventPromoting, Message: fmt.Sprintf(
		"Promoting %s (%s): it takes all traffic once it is available at full size", st.CanaryVersion, why)})
}

// abort decides the rollback; the caller restores the stable to full size,
// moves traffic back once it is available, and calls Finish.
func (r *Result) abort(now metav1.Time, reason, why string, f *Failure) {
	st := &r.Status
	st.Phase, st.Reason = lifecyclev1alpha1.RolloutAborting, reason
	st.Weight = 0
	st.CanaryUnavailableSince = nil
	st.Message = fmt.Sprintf("%s rolling back: %s", st.CanaryVersion, why)
	r.Failure = f
	r.WeightChanged = true
	r.RequeueAfter = 0
	r.Events = append(r.Events, Event{Warning: true, Reason: "RolloutAborted", Message: fmt.Sprintf(
		"Rolled %s back to %s: %s", st.CanaryVersion, st.StableVersion, why)})
}

func (r *Result) inconclusive(why string) {
	st := &r.Status
	st.Phase = lifecyclev1alpha1.RolloutInconclusive
	st.Message = fmt.Sprintf("paused as inconclusive: %s; annotate %s to measure again or %s to promote",
		why, lifecyclev1alpha1.AnnotationRetry, lifecyclev1alpha1.AnnotationPromote)
	r.RequeueAfter = 0
	r.Events = append(r.Events, Event{Warning: true, Reason: "AnalysisInconclusive", Message: fmt.Sprintf(
		"Analysis of %s is inconclusive: %s", st.CanaryVersion, why)})
}

// unavailable pauses the rollout as Inconclusive while Prometheus gives no
// answer, and asks to be looked at again after wait. The time it began
// stays put across retries, so the status is written once per outage.
func (r *Result) unavailable(now metav1.Time, why string, wait time.Duration) {
	st := &r.Status
	r.requeueAt(wait)
	if st.PrometheusUnavailableSince != nil {
		return
	}
	st.PrometheusUnavailableSince = &now
	st.Phase = lifecyclev1alpha1.RolloutInconclusive
	st.Message = fmt.Sprintf("paused as inconclusive since %s: %s; resumes when Prometheus answers",
		now.UTC().Format(time.RFC3339), why)
	r.Events = append(r.Events, Event{Warning: true, Reason: "AnalysisPaused", Message: fmt.Sprintf(
		"Analysis of %s paused: %s", st.CanaryVersion, why)})
}

// resume ends a pause for Prometheus once a measurement got an answer.
func (r *Result) resume() {
	st := &r.Status
	if st.PrometheusUnavailableSince == nil {
		return
	}
	r.Events = append(r.Events, Event{Reason: "AnalysisResumed", Message: fmt.Sprintf(
		"Analysis of %s resumed: Prometheus answers again (unavailable since %s)",
		st.CanaryVersion, st.PrometheusUnavailableSince.UTC().Format(time.RFC3339))})
	st.PrometheusUnavailableSince = nil
	st.Phase = lifecyclev1alpha1.RolloutProgressing
}

type analysisOutcome struct {
	complete     bool
	failure      *Failure
	inconclusive string
	// unavailable is why Prometheus gave no answer; nothing was recorded.
	unavailable string
	// measured is true when a measurement was taken and recorded.
	measured bool
	wait     time.Duration
}

// analyse takes a measurement when one is due and judges the counts. The
// first measurement is due at once; the next ones interval apart.
func analyse(ctx context.Context, spec *lifecyclev1alpha1.AnalysisSpec, results *[]lifecyclev1alpha1.AnalysisMetricStatus, last **metav1.Time,
	now time.Time, measure Measure) analysisOutcome {
	interval := spec.Interval.Duration
	if interval <= 0 {
		interval = time.Minute
	}
	count := spec.Count
	if count < 1 {
		count = 1
	}
	if *last != nil && now.Before((*last).Add(interval)) {
		return analysisOutcome{wait: (*last).Add(interval).Sub(now)}
	}
	prev := make(map[string]lifecyclev1alpha1.AnalysisMetricStatus, len(*results))
	for _, m := range *results {
		prev[m.Name] = m
	}
	checks := Checks(spec)
	out := make([]lifecyclev1alpha1.AnalysisMetricStatus, 0, len(checks))
	var outcome analysisOutcome
	for _, m := range checks {
		ms := prev[m.Name]
		ms.Name, ms.Threshold = m.Name, m.Threshold
		ms.Measurements++
		threshold, terr := m.Threshold.Float64()
		v, err := measure(ctx, m)
		if errors.Is(err, prom.ErrUnavailable) {
			// Half a measurement is none: leave every count as it was and
			// try the whole measurement again after an interval.
			return analysisOutcome{unavailable: fmt.Sprintf("metric %s: %s", m.Name, err), wait: interval}
		}
		switch {
		case terr != nil:
			err = terr
		case err == nil && judge.Threshold(v, threshold, m.Direction) == lifecyclev1alpha1.ResultUnknown:
			// A value that cannot be judged must not count toward a pass.
			err = fmt.Errorf("direction %q is neither AtLeast nor AtMost", m.Direction)
		}
		switch {
		case err != nil:
			ms.Value, ms.Result = "", lifecyclev1alpha1.ResultUnknown
			ms.Inconclusives++
			if ms.Inconclusives > spec.InconclusiveLimit && outcome.inconclusive == "" {
				outcome.inconclusive = fmt.Sprintf("metric %s: %s", m.Name, describe(err))
			}
		default:
			ms.Value = lifecyclev1alpha1.DecimalOf(v)
			ms.Result = judge.Threshold(v, threshold, m.Direction)
			if ms.Result == lifecyclev1alpha1.ResultMissed {
				ms.Failures++
				if ms.Failures > spec.FailureLimit && outcome.failure == nil {
					outcome.failure = &Failure{Metric: m.Name, Value: ms.Value, Threshold: m.Threshold, Direction: m.Direction}
				}
			}
		}
		out = append(out, ms)
	}
	*results = out
	t := metav1.NewTime(now)
	*last = &t
	outcome.measured = true
	outcome.complete = measured(out) >= count
	outcome.wait = interval
	return outcome
}

// measured counts the measurements that produced a value, for the metric
// with the fewest. Inconclusive measurements do not count toward an
// analysis' count, so missing data can delay a verdict but never pass one.
func measured(ms []lifecyclev1alpha1.AnalysisMetricStatus) int32 {
	if len(ms) == 0 {
		return 0
	}
	n := ms[0].Measurements - ms[0].Inconclusives
	for _, m := range ms[1:] {
		n = min(n, m.Measurements-m.Inconclusives)
	}
	return n
}

func describe(err error) string {
	if errors.Is(err, prom.ErrNoData) {
		return "no data"
	}
	return err.Error()
}

func wordFor(d lifecyclev1alpha1.Direction) string {
	if d == lifecyclev1alpha1.AtMost {
		return "at most"
	}
	return "at least"
}
