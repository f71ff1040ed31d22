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
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/backend"
	"github.com/aipm-io/aipm-operator/internal/drift"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/notify"
	"github.com/aipm-io/aipm-operator/internal/objectives"
	"github.com/aipm-io/aipm-operator/internal/outcome"
	"github.com/aipm-io/aipm-operator/internal/prom"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/rollout"
	"github.com/aipm-io/aipm-operator/internal/schedule"
)

// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=retrainingruns,verbs=get;list;watch;create;delete

// reconcileDrift queries each drift check when due and times its breaches.
func (r *AIProductReconciler) reconcileDrift(ctx context.Context, s *productScope) (time.Duration, error) {
	p := s.product
	d := p.Spec.Delivery
	if d == nil || d.Monitoring == nil || len(d.Monitoring.Drift) == 0 ||
		p.Status.Phase != lifecyclev1alpha1.PhaseDelivery || p.Status.ProductionVersion == "" {
		p.Status.Drift, p.Status.DriftState = nil, ""
		notify.Clear(&p.Status.Conditions, lifecyclev1alpha1.ConditionDrifted)
		return 0, nil
	}
	key := client.ObjectKeyFromObject(p)
	if due, wait := r.driftDue.due(key, p.Generation, s.now.Time); !due {
		return wait, nil
	}
	interval := d.Monitoring.Interval.Duration
	if interval <= 0 {
		interval = defaultEvaluationInterval
	}
	vars := map[string]string{"namespace": p.Namespace, "product": p.Name, "version": p.Status.ProductionVersion}
	prev := map[string]*lifecyclev1alpha1.DriftStatus{}
	for i := range p.Status.Drift {
		prev[p.Status.Drift[i].Name] = &p.Status.Drift[i]
	}
	out := make([]lifecyclev1alpha1.DriftStatus, 0, len(d.Monitoring.Drift))
	next := interval
	var sustained, breached, unknown []string
	for _, c := range d.Monitoring.Drift {
		var v float64
		var err error
		if c.Histogram != nil {
			v, err = r.histogramDrift(ctx, c, vars, s.versions[p.Status.ProductionVersion], s.now.Time)
		} else {
			v, err = r.measure(ctx, c.Query, c.MatchLabels, vars, interval)
		}
		st := drift.Evaluate(c, v, err, prev[c.Name], s.now)
		out = append(out, st)
		if w := drift.NextDue(c, st, s.now.Time); w > 0 && w < next {
			next = w
		}
		switch {
		case st.Sustained:
			sustained = append(sustained, drift.Message(c, st))
		case st.Result == lifecyclev1alpha1.ResultMissed:
			breached = append(breached, drift.Message(c, st))
		case st.Result == lifecyclev1alpha1.ResultUnknown:
			unknown = append(unknown, c.Name+": "+st.Message)
		}
	}
	p.Status.Drift = out
	p.Status.DriftState = drift.State(out)
	cond := metav1.Condition{Type: lifecyclev1alpha1.ConditionDrifted, Status: metav1.ConditionFalse, Reason: lifecyclev1alpha1.ReasonNoDrift,
		Message: fmt.Sprintf("all %d drift checks are within their thresholds", len(out))}
	switch {
	case len(sustained) > 0:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, lifecyclev1alpha1.ReasonDriftSustained, strings.Join(sustained, "; ")
	case len(unknown) > 0:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionUnknown, lifecyclev1alpha1.ReasonDriftUnknown, strings.Join(unknown, "; ")
	case len(breached) > 0:
		cond.Reason, cond.Message = lifecyclev1alpha1.ReasonBreachNotSustained, strings.Join(breached, "; ")
	}
	s.notify.SetCondition(ctx, p, &p.Status.Conditions, cond)
	r.driftDue.set(key, p.Generation, s.now.Add(next))
	return next, nil
}

// histogramDrift computes a drift statistic from a feature histogram: the
// query as of now against the same query as of the reference: an offset
// ago, or the end of the production version's training window.
func (r *AIProductReconciler) histogramDrift(ctx context.Context, c lifecyclev1alpha1.DriftCheck, vars map[string]string,
	production *lifecyclev1alpha1.ModelVersion, now time.Time) (float64, error) {
	q := prom.Expand(string(c.Histogram.Query), vars)
	read := func(at time.Time, what string) (drift.Histogram, error) {
		vec, err := r.Prometheus.QueryVectorAt(ctx, q, at)
		if err != nil {
			return drift.Histogram{}, err
		}
		h, err := drift.FromBuckets(vec)
		if err != nil {
			return drift.Histogram{}, fmt.Errorf("%s: %w", what, err)
		}
		return h, nil
	}
	current, err := read(now, "now")
	if err != nil {
		return 0, err
	}
	at, what, err := drift.ReferenceTime(c.Histogram.Reference, production, now)
	if err != nil {
		metrics.DriftComputed(vars["namespace"], vars["product"], c.Name, err)
		return 0, err
	}
	reference, err := read(at, what)
	if err != nil {
		return 0, err
	}
	v, err := drift.Compare(c.Statistic, current, reference)
	metrics.DriftComputed(vars["namespace"], vars["product"], c.Name, err)
	return v, err
}

// reconcileRetraining summarises the product's RetrainingRuns, prunes the
// finished ones beyond the history limits, and creates a run when a
// trigger is due. Each run's own reconciler runs its workload and
// registers what it produced.
func (r *AIProductReconciler) reconcileRetraining(ctx context.Context, s *productScope) (time.Duration, error) {
	p := s.product
	d := p.Spec.Delivery
	if d == nil || d.Retraining == nil {
		p.Status.Retraining = nil
		notify.Clear(&p.Status.Conditions, lifecyclev1alpha1.ConditionRetrainingAllowed)
		return 0, nil
	}
	spec := d.Retraining
	if p.Status.Retraining == nil {
		p.Status.Retraining = &lifecyclev1alpha1.RetrainingStatus{}
	}
	rs := p.Status.Retraining
	runs := newestFirst(s.runs)
	summarizeRuns(rs, runs)
	if err := r.pruneRuns(ctx, spec, runs); err != nil {
		return 0, err
	}

	allowed := func(status metav1.ConditionStatus, reason, msg string) {
		s.notify.SetCondition(ctx, p, &p.Status.Conditions, metav1.Condition{Type: lifecyclev1alpha1.ConditionRetrainingAllowed,
			Status: status, Reason: reason, Message: msg})
	}
	// Checked on every pass, in every phase, so that a team learns of a
	// refused template when it writes it, not when the first trigger fires.
	if err := admitTemplate(spec, r.retrainingPolicy()); err != nil {
		allowed(metav1.ConditionFalse, lifecyclev1alpha1.ReasonTemplateRefused, err.Error())
		rs.NextScheduleTime = nil
		rs.Pending = "no run starts until the " + string(backendOf(spec)) + " template is allowed (condition RetrainingAllowed)"
		return 0, nil
	}
	sched, err := parseSchedule(spec)
	if err != nil {
		// The CRD validates the cron syntax; what gets here is what only
		// this operator can tell, such as a time zone its image lacks. It
		// will not work until the spec changes: Stalled, not retried.
		allowed(metav1.ConditionFalse, lifecyclev1alpha1.ReasonInvalidSchedule, err.Error())
		rs.NextScheduleTime = nil
		rs.Pending = "no scheduled run starts until the schedule is fixed (condition RetrainingAllowed)"
		return 0, outcome.Stall(lifecyclev1alpha1.ReasonInvalidSchedule, err)
	}
	allowed(metav1.ConditionTrue, lifecyclev1alpha1.ReasonTemplateAllowed,
		"the "+string(backendOf(spec))+" template runs as an allowed ServiceAccount under the restricted Pod Security Standard")

	// Retired suspends retraining; so does any phase before Delivery.
	if p.Status.Phase != lifecyclev1alpha1.PhaseDelivery {
		rs.NextScheduleTime = nil
		rs.Pending = ""
		if p.Status.Phase == lifecyclev1alpha1.PhaseRetired {
			rs.Pending = "suspended: the product is retired"
		}
		return 0, nil
	}

	trigger, tick, episode := r.dueTrigger(p, spec, sched, s.persisted, s.now)
	requeue := time.Duration(0)
	if rs.NextScheduleTime != nil {
		requeue = rs.NextScheduleTime.Sub(s.now.Time)
	}
	if trigger == nil {
		rs.Pending = ""
		return requeue, nil
	}

	if trigger.Kind == lifecyclev1alpha1.TriggerManual {
		if used := usedRequest(p, runs, *trigger); used != nil {
			return requeue, r.refuseRequest(ctx, s, *trigger, used)
		}
	}

	if len(rs.Active) > 0 {
		if spec.ConcurrencyPolicy != lifecyclev1alpha1.ConcurrencyReplace {
			rs.Pending = fmt.Sprintf("%s trigger waits for RetrainingRun %s to finish (concurrencyPolicy Forbid)", trigger.Kind, rs.Active[0])
			if trigger.Kind == lifecyclev1alpha1.TriggerSchedule {
				// As a CronJob with Forbid does, the tick is skipped, not queued.
				rs.LastScheduleTime = &metav1.Time{Time: *tick}
				s.notify.Event(ctx, p, true, "RetrainingSkipped", "Retrain",
					fmt.Sprintf("Skipped the schedule tick of %s: RetrainingRun %s is still running", tick.UTC().Format(time.RFC3339), rs.Active[0]))
			}
			return requeue, nil
		}
		for i := range runs {
			if run := &runs[i]; !run.Status.Phase.Finished() {
				if err := r.Delete(ctx, run, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
					return 0, fmt.Errorf("deleting RetrainingRun %s to replace it: %w", run.Name, err)
				}
				s.notify.Event(ctx, p, true, "RetrainingReplaced", "Retrain",
					fmt.Sprintf("Deleted RetrainingRun %s for a newer %s run (concurrencyPolicy Replace)", run.Name, trigger.Kind))
			}
		}
	} else if last := rs.LastRun; last != nil && last.CompletionTime != nil {
		if end := last.CompletionTime.Add(spec.Cooldown.Duration); s.now.Time.Before(end) {
			rs.Pending = fmt.Sprintf("%s trigger waits for the cooldown until %s", trigger.Kind, end.UTC().Format(time.RFC3339))
			return outcome.Earliest(requeue, end.Sub(s.now.Time)), nil
		}
	}

	name, err := r.startRun(ctx, s, *trigger, runs)
	if err != nil {
		return 0, err
	}
	switch trigger.Kind {
	case lifecyclev1alpha1.TriggerSchedule:
		rs.LastScheduleTime = &metav1.Time{Time: *tick}
	case lifecyclev1alpha1.TriggerDrift:
		rs.LastDriftEpisode = &metav1.Time{Time: episode}
	case lifecyclev1alpha1.TriggerObjective:
		rs.LastObjectiveEpisode = &metav1.Time{Time: episode}
	case lifecyclev1alpha1.TriggerManual:
		if err := r.clearAnnotation(ctx, p, lifecyclev1alpha1.AnnotationRetrain); err != nil {
			return 0, err
		}
		p.Status.LastRequest = &lifecyclev1alpha1.RequestStatus{Action: "Retrain", Value: trigger.Key, HandledAt: s.now,
			Result: "started RetrainingRun " + name}
	}
	rs.Pending = ""
	if name != "" && !slices.Contains(rs.Active, name) {
		rs.Active = append(rs.Active, name)
		rs.LastRun = &lifecyclev1alpha1.RetrainingRunSummary{Name: name, Trigger: trigger.Kind, Phase: lifecyclev1alpha1.RunPending}
	}
	return requeue, nil
}

// usedRequest returns the run an earlier request of the same value
// started, or nil. A run of that name the product never acknowledged, and
// still going, is this request's own, created by a reconcile that stopped
// before it consumed the request: startRun adopts it. Any other is an
// earlier request's, whose Job may be kept long after it finished;
// adopting it would report its old result as this request's.
func usedRequest(p *lifecyclev1alpha1.AIProduct, runs []lifecyclev1alpha1.RetrainingRun, t retrain.Trigger) *lifecyclev1alpha1.RetrainingRun {
	name := retrain.JobName(p.Name, t)
	for i := range runs {
		if runs[i].Name != name {
			continue
		}
		last := p.Status.LastRequest
		acknowledged := last != nil && last.Action == "Retrain" && last.Value == t.Key
		if acknowledged || runs[i].Status.Phase.Finished() {
			return &runs[i]
		}
	}
	return nil
}

// refuseRequest consumes a retrain request whose value an earlier request
// used, starting nothing, and says so.
func (r *AIProductReconciler) refuseRequest(ctx context.Context, s *productScope, t retrain.Trigger, used *lifecyclev1alpha1.RetrainingRun) error {
	p := s.product
	if err := r.clearAnnotation(ctx, p, lifecyclev1alpha1.AnnotationRetrain); err != nil {
		return err
	}
	msg := fmt.Sprintf("refused: value %q already started RetrainingRun %s; request again with a new value", t.Key, used.Name)
	p.Status.LastRequest = &lifecyclev1alpha1.RequestStatus{Action: "Retrain", Value: t.Key, HandledAt: s.now, Result: msg}
	s.notify.Event(ctx, p, true, "RetrainingRequestRefused", "Retrain", "Did not start retraining: "+msg)
	return nil
}

// newestFirst returns the runs sorted newest first.
func newestFirst(runs []lifecyclev1alpha1.RetrainingRun) []lifecyclev1alpha1.RetrainingRun {
	out := append([]lifecyclev1alpha1.RetrainingRun(nil), runs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].CreationTimestamp, out[j].CreationTimestamp
		if a.Equal(&b) {
			return out[i].Name > out[j].Name
		}
		return b.Before(&a)
	})
	return out
}

// summarizeRuns records the newest run and the unfinished ones.
func summarizeRuns(rs *lifecyclev1alpha1.RetrainingStatus, runs []lifecyclev1alpha1.RetrainingRun) {
	rs.Active = nil
	for _, run := range runs {
		if !run.Status.Phase.Finished() {
			rs.Active = append(rs.Active, run.Name)
		}
	}
	if len(runs) == 0 {
		// Runs pruned or deleted leave the last summary as it was.
		return
	}
	newest := runs[0]
	rs.LastRun = &lifecyclev1alpha1.RetrainingRunSummary{Name: newest.Name, Trigger: newest.Spec.Trigger.Kind,
		Phase: newest.Status.Phase, ModelVersion: newest.Status.ModelVersion, CompletionTime: newest.Status.CompletionTime}
	if rs.LastRun.Phase == "" {
		rs.LastRun.Phase = lifecyclev1alpha1.RunPending
	}
}

func parseSchedule(spec *lifecyclev1alpha1.RetrainingSpec) (*schedule.Schedule, error) {
	if spec.Schedule == "" {
		return nil, nil
	}
	tz := ""
	if spec.TimeZone != nil {
		tz = *spec.TimeZone
	}
	return schedule.Parse(spec.Schedule, tz)
}

// dueTrigger returns the first trigger that is due: a manual request, then a
// sustained drift episode not yet answered, then a schedule tick. It also
// sets the next schedule time.
func (r *AIProductReconciler) dueTrigger(p *lifecyclev1alpha1.AIProduct, spec *lifecyclev1alpha1.RetrainingSpec, sched *schedule.Schedule,
	persisted *lifecyclev1alpha1.AIProductStatus, now metav1.Time) (*retrain.Trigger, *time.Time, time.Time) {
	rs := p.Status.Retraining
	var tick *time.Time
	rs.NextScheduleTime = nil
	if sched != nil {
		since := p.CreationTimestamp.Time
		if rs.LastScheduleTime != nil {
			since = rs.LastScheduleTime.Time
		}
		var deadline time.Duration
		if spec.StartingDeadlineSeconds != nil {
			deadline = time.Duration(*spec.StartingDeadlineSeconds) * time.Second
		}
		due, next := sched.Due(since, now.Time, deadline)
		tick = due
		// A schedule such as February 30th has no next tick.
		if !next.IsZero() {
			rs.NextScheduleTime = &metav1.Time{Time: next}
		}
	}
	if v, ok := p.Annotations[lifecyclev1alpha1.AnnotationRetrain]; ok {
		return &retrain.Trigger{Kind: lifecyclev1alpha1.TriggerManual, Key: v}, tick, time.Time{}
	}
	if spec.OnDrift {
		ep, check := drift.Episode(p.Status.Drift)
		answered := rs.LastDriftEpisode != nil && !ep.After(rs.LastDriftEpisode.Time)
		if !ep.IsZero() && breachRecorded(persisted.Drift, check, ep) && !answered {
			return &retrain.Trigger{Kind: lifecyclev1alpha1.TriggerDrift, Key: strconv.FormatInt(ep.Unix(), 10)}, tick, ep
		}
	}
	// An objective breached while a rollout runs is the rollout's to
	// judge (guardrails, the post-promotion watch), not a reason to train.
	if len(spec.OnObjectiveBreach) > 0 && p.Spec.Strategy != nil && !rolloutActive(p.Status.Rollout) {
		breaches, _ := objectives.Breaches(p.Spec.Strategy.Objectives, p.Status.Objectives, spec.OnObjectiveBreach, now.Time)
		for _, b := range breaches {
			answered := rs.LastObjectiveEpisode != nil && !b.Since.After(rs.LastObjectiveEpisode.Time)
			if !answered && transitionRecorded(persisted, b.Objective.Name, b.Since) {
				return &retrain.Trigger{Kind: lifecyclev1alpha1.TriggerObjective, Key: strconv.FormatInt(b.Since.Unix(), 10)}, tick, b.Since
			}
		}
	}
	if tick != nil {
		return &retrain.Trigger{Kind: lifecyclev1alpha1.TriggerSchedule, Key: strconv.FormatInt(tick.Unix(), 10)}, tick, time.Time{}
	}
	return nil, nil, time.Time{}
}

// rolloutActive reports whether a rollout is deciding or moving traffic.
func rolloutActive(ro *lifecyclev1alpha1.RolloutStatus) bool {
	return ro != nil && !rollout.Terminal(ro.Phase)
}

// transitionRecorded reports whether the status read from the API server
// holds the miss of objective that began at since, as breachRecorded does
// for drift: the run's name derives from that instant.
func transitionRecorded(persisted *lifecyclev1alpha1.AIProductStatus, objective string, since time.Time) bool {
	for _, o := range persisted.Objectives {
		if o.Name == objective && o.LastTransitionTime != nil && o.LastTransitionTime.Time.Equal(since) {
			return true
		}
	}
	return false
}

// breachRecorded reports whether the status read from the API server holds
// the breach of check that began at since. The run's name derives from that
// instant alone, so once it is recorded a restart names the same run; the
// breach need not be recorded as sustained too, which would hold the run
// back until the next measurement, a whole monitoring interval after it
// was due.
func breachRecorded(persisted []lifecyclev1alpha1.DriftStatus, check string, since time.Time) bool {
	for _, d := range persisted {
		if d.Name == check && d.BreachedSince != nil && d.BreachedSince.Time.Equal(since) {
			return true
		}
	}
	return false
}

// startRun creates the RetrainingRun a trigger names, with the Job template
// resolved from the product now. A run of that name that already exists is
// the same one, created before a restart: it is adopted, never duplicated.
func (r *AIProductReconciler) startRun(ctx context.Context, s *productScope, t retrain.Trigger,
	runs []lifecyclev1alpha1.RetrainingRun) (string, error) {
	p := s.product
	parent := s.versions[p.Status.ProductionVersion]
	// Runs not yet registered count too: a run just finished may have
	// created its version after the cache was read.
	known := append([]lifecyclev1alpha1.ModelVersion(nil), s.versionList...)
	for _, run := range runs {
		known = append(known, lifecyclev1alpha1.ModelVersion{Spec: lifecyclev1alpha1.ModelVersionSpec{Version: run.Spec.TargetVersion}})
	}
	name := retrain.JobName(p.Name, t)
	target := retrain.NextVersion(known)
	run := &lifecyclev1alpha1.RetrainingRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.Namespace,
			Labels: map[string]string{lifecyclev1alpha1.LabelProduct: p.Name, retrain.LabelTrigger: string(t.Kind)}},
		Spec: lifecyclev1alpha1.RetrainingRunSpec{
			Product:       lifecyclev1alpha1.LocalObjectName(p.Name),
			Trigger:       lifecyclev1alpha1.RunTrigger{Kind: t.Kind, Key: t.Key, Reason: triggerReason(p, t)},
			Backend:       backendOf(p.Spec.Delivery.Retraining),
			TargetVersion: target,
		},
	}
	err := resolveRun(p, run, retrain.Run{Name: name, Trigger: t, Parent: parent, TargetVersion: target}, r.retrainingPolicy())
	var refused *retrain.RefusedError
	if errors.As(err, &refused) {
		// Admitted a moment ago from the same spec, so only a change in
		// between gets here; no run starts.
		s.notify.Event(ctx, p, true, "RetrainingRefused", "Retrain", "Did not start retraining run "+name+": "+err.Error())
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if parent != nil {
		run.Spec.ParentVersion = parent.Name
	}
	if err := controllerutil.SetControllerReference(p, run, r.Scheme()); err != nil {
		return "", err
	}
	switch err := r.Create(ctx, run); {
	case apierrors.IsAlreadyExists(err):
		s.notify.Event(ctx, p, false, "RetrainingAdopted", "Retrain", fmt.Sprintf("RetrainingRun %s for this %s trigger already exists; following it", name, t.Kind))
	case err != nil:
		return "", fmt.Errorf("creating RetrainingRun %s: %w", name, err)
	default:
		s.notify.Event(ctx, p, false, "RetrainingTriggered", "Retrain",
			fmt.Sprintf("Started RetrainingRun %s (trigger %s) to produce version %s", name, t.Kind, target))
	}
	return name, nil
}

// triggerReason says in words what a run answers.
func triggerReason(p *lifecyclev1alpha1.AIProduct, t retrain.Trigger) string {
	switch t.Kind {
	case lifecyclev1alpha1.TriggerDrift:
		var breaches []string
		for _, d := range p.Status.Drift {
			if d.Sustained {
				breaches = append(breaches, fmt.Sprintf("%s at %s (threshold %s)", d.Name, d.Value, d.Threshold))
			}
		}
		return "sustained drift: " + strings.Join(breaches, ", ")
	case lifecyclev1alpha1.TriggerObjective:
		var breaches []string
		for _, o := range p.Status.Objectives {
			if o.Result == lifecyclev1alpha1.ResultMissed && o.LastTransitionTime != nil && strconv.FormatInt(o.LastTransitionTime.Unix(), 10) == t.Key {
				breaches = append(breaches, fmt.Sprintf("%s at %s (target %s %s) since %s", o.Name, o.Value,
					map[lifecyclev1alpha1.Direction]string{lifecyclev1alpha1.AtLeast: "at least", lifecyclev1alpha1.AtMost: "at most"}[o.Direction],
					o.Target, o.LastTransitionTime.UTC().Format(time.RFC3339)))
			}
		}
		return "sustained objective breach: " + strings.Join(breaches, ", ")
	case lifecyclev1alpha1.TriggerSchedule:
		sec, _ := strconv.ParseInt(t.Key, 10, 64)
		return "schedule tick of " + time.Unix(sec, 0).UTC().Format(time.RFC3339)
	default:
		return "requested by annotation " + lifecyclev1alpha1.AnnotationRetrain
	}
}

// pruneRuns keeps the newest finished runs up to the history limits.
func (r *AIProductReconciler) pruneRuns(ctx context.Context, spec *lifecyclev1alpha1.RetrainingSpec, newest []lifecyclev1alpha1.RetrainingRun) error {
	kept := map[lifecyclev1alpha1.RunPhase]int32{}
	limit := map[lifecyclev1alpha1.RunPhase]int32{
		lifecyclev1alpha1.RunSucceeded: spec.SuccessfulJobsHistoryLimit,
		lifecyclev1alpha1.RunFailed:    spec.FailedJobsHistoryLimit,
	}
	for i := range newest {
		run := &newest[i]
		phase := run.Status.Phase
		if !phase.Finished() {
			continue
		}
		if kept[phase] < limit[phase] {
			kept[phase]++
			continue
		}
		if err := r.Delete(ctx, run, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("pruning RetrainingRun %s: %w", run.Name, err)
		}
	}
	return nil
}

// retrainingPolicy is what the operator's flags let a retraining pod do.
func (r *AIProductReconciler) retrainingPolicy() retrain.Policy {
	return retrain.Policy{ServiceAccounts: r.RetrainingServiceAccounts}
}

// backendOf is the product's training backend, Job when unset.
func backendOf(spec *lifecyclev1alpha1.RetrainingSpec) lifecyclev1alpha1.TrainingBackend {
	if spec.Backend == "" {
		return lifecyclev1alpha1.BackendJob
	}
	return spec.Backend
}

// admitTemplate checks the product's training template against the
// retraining policy, whatever its engine.
func admitTemplate(spec *lifecyclev1alpha1.RetrainingSpec, pol retrain.Policy) error {
	if b := backendOf(spec); b != lifecyclev1alpha1.BackendJob {
		tpl := backend.TemplateOf(spec)
		if tpl == nil {
			return &retrain.RefusedError{Reasons: []string{"backend " + string(b) + " needs its template, spec.delivery.retraining." + backend.TemplateField(b)}}
		}
		return backend.Admit(b, tpl, pol)
	}
	if spec.Template == nil {
		return &retrain.RefusedError{Reasons: []string{"backend Job needs spec.delivery.retraining.template"}}
	}
	return pol.Admit(&spec.Template.Spec.Template)
}

// resolveRun fills in the run's workload: the product's template rendered
// for this run, hardened and checked, with the run's environment.
func resolveRun(p *lifecyclev1alpha1.AIProduct, run *lifecyclev1alpha1.RetrainingRun, rr retrain.Run, pol retrain.Policy) error {
	spec := p.Spec.Delivery.Retraining
	if b := run.Spec.Backend; b != lifecyclev1alpha1.BackendJob {
		tpl := backend.TemplateOf(spec)
		if tpl == nil {
			return &retrain.RefusedError{Reasons: []string{"backend " + string(b) + " has no template"}}
		}
		env := func(result string) []corev1.EnvVar { return retrain.Env(p, rr, result) }
		res, err := backend.Resolve(b, tpl, retrain.Labels(p.Name, rr.Trigger), retrain.Annotations(p.Name, rr),
			env, spec.ResultContainer, spec.ResultJob, pol)
		if err != nil {
			return err
		}
		run.Spec.Workload, run.Spec.ResultContainer, run.Spec.ResultJob = res.Workload, res.ResultContainer, spec.ResultJob
		return nil
	}
	job, err := retrain.Job(p, rr, pol)
	if err != nil {
		return err
	}
	run.Spec.ResultContainer = retrain.ResultContainer(p, job.Spec.Template.Spec.Containers)
	run.Spec.Template = &batchv1.JobTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: job.Labels, Annotations: job.Annotations},
		Spec:       job.Spec,
	}
	return nil
}
