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

	v1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/drift"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/schedule"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// Condition and run results of retraining and drift.
const (
	// ConditionDrifted is True when a drift check has been in breach for
	// its full for duration.
	ConditionDrifted = "Drifted"

	RunRunning   = "Running"
	RunSucceeded = "Succeeded"
	RunFailed    = "Failed"

	// ConditionRetrainingAllowed is False, reason TemplateRefused, when the
	// retraining Job template asks for a ServiceAccount the operator does not
	// allow or breaks the restricted Pod Security Standard; no run starts
	// until a person fixes the template or the operator's flags.
	ConditionRetrainingAllowed = "RetrainingAllowed"
	ReasonTemplateRefused      = "TemplateRefused"
	ReasonTemplateAllowed      = "TemplateAllowed"
)

// A refused template is a Warning when it appears and good news when it
// goes; registered here so the retraining code owns its condition.
func init() { conditionPolarity[ConditionRetrainingAllowed] = metav1.ConditionTrue }

// jobNameLabel is the label the Job controller puts on a Job's pods.
const jobNameLabel = "batch.kubernetes.io/job-name"

// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=modelversions,verbs=create

// reconcileDrift queries each drift check when due and times its breaches.
func (r *AIProductReconciler) reconcileDrift(ctx context.Context, n notifier, p *v1.AIProduct, now metav1.Time) time.Duration {
	d := p.Spec.Delivery
	if d == nil || d.Monitoring == nil || len(d.Monitoring.Drift) == 0 ||
		p.Status.Phase != v1.PhaseDelivery || p.Status.ProductionVersion == "" {
		p.Status.Drift, p.Status.DriftState = nil, ""
		clearCondition(&p.Status.Conditions, ConditionDrifted)
		return 0
	}
	key := client.ObjectKeyFromObject(p)
	if due, wait := r.driftDue.due(key, p.Generation, now.Time); !due {
		return wait
	}
	interval := d.Monitoring.Interval.Duration
	if interval <= 0 {
		interval = defaultEvaluationInterval
	}
	vars := map[string]string{"namespace": p.Namespace, "product": p.Name, "version": p.Status.ProductionVersion}
	prev := map[string]*v1.DriftStatus{}
	for i := range p.Status.Drift {
		prev[p.Status.Drift[i].Name] = &p.Status.Drift[i]
	}
	out := make([]v1.DriftStatus, 0, len(d.Monitoring.Drift))
	next := interval
	var sustained, breached, unknown []string
	for _, c := range d.Monitoring.Drift {
		v, err := r.measure(ctx, c.Query, c.MatchLabels, vars, interval)
		st := drift.Evaluate(c, v, err, prev[c.Name], now)
		out = append(out, st)
		if w := drift.NextDue(c, st, now.Time); w > 0 && w < next {
			next = w
		}
		switch {
		case st.Sustained:
			sustained = append(sustained, drift.Message(c, st))
		case st.Result == v1.ResultMissed:
			breached = append(breached, drift.Message(c, st))
		case st.Result == v1.ResultUnknown:
			unknown = append(unknown, c.Name+": "+st.Message)
		}
	}
	p.Status.Drift = out
	p.Status.DriftState = drift.State(out)
	cond := metav1.Condition{Type: ConditionDrifted, Status: metav1.ConditionFalse, Reason: "NoDrift",
		Message: fmt.Sprintf("all %d drift checks are within their thresholds", len(out))}
	switch {
	case len(sustained) > 0:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "DriftSustained", strings.Join(sustained, "; ")
	case len(unknown) > 0:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionUnknown, "DriftUnknown", strings.Join(unknown, "; ")
	case len(breached) > 0:
		cond.Reason, cond.Message = "BreachNotSustained", strings.Join(breached, "; ")
	}
	n.setCondition(ctx, p, &p.Status.Conditions, cond)
	r.driftDue.set(key, p.Generation, now.Add(next))
	return next
}

// reconcileRetraining follows the running Job, starts a new one when a
// trigger is due, and prunes old Jobs. persisted is the drift status as read
// from the API server: a drift run starts only from a breach already
// recorded there, so the episode that names its Job survives a restart.
func (r *AIProductReconciler) reconcileRetraining(ctx context.Context, n notifier, p *v1.AIProduct, persisted []v1.DriftStatus, now metav1.Time) (time.Duration, error) {
	d := p.Spec.Delivery
	if d == nil || d.Retraining == nil {
		p.Status.Retraining = nil
		clearCondition(&p.Status.Conditions, ConditionRetrainingAllowed)
		return 0, nil
	}
	spec := d.Retraining
	if p.Status.Retraining == nil {
		p.Status.Retraining = &v1.RetrainingStatus{}
	}
	rs := p.Status.Retraining

	var jobs batchv1.JobList
	if err := r.List(ctx, &jobs, client.InNamespace(p.Namespace), ownedBy(p.Name),
		client.MatchingLabels{v1.LabelProduct: p.Name, serving.LabelManagedBy: serving.ManagedBy}); err != nil {
		return 0, fmt.Errorf("listing Jobs: %w", err)
	}
	owned := map[string]*batchv1.Job{}
	for i := range jobs.Items {
		if metav1.IsControlledBy(&jobs.Items[i], p) {
			owned[jobs.Items[i].Name] = &jobs.Items[i]
		}
	}
	if err := r.followRun(ctx, n, p, owned, now); err != nil {
		return 0, err
	}
	if err := r.pruneJobs(ctx, spec, owned); err != nil {
		return 0, err
	}

	// Checked on every pass, in every phase, so that a team learns of a
	// refused template when it writes it, not when the first trigger fires.
	if err := r.retrainingPolicy().Admit(&spec.Template.Spec.Template); err != nil {
		n.setCondition(ctx, p, &p.Status.Conditions, metav1.Condition{Type: ConditionRetrainingAllowed,
			Status: metav1.ConditionFalse, Reason: ReasonTemplateRefused, Message: err.Error()})
		rs.NextScheduleTime = nil
		rs.Pending = "no run starts until the Job template is allowed (condition RetrainingAllowed)"
		return 0, nil
	}
	n.setCondition(ctx, p, &p.Status.Conditions, metav1.Condition{Type: ConditionRetrainingAllowed,
		Status: metav1.ConditionTrue, Reason: ReasonTemplateAllowed,
		Message: "the Job template runs as an allowed ServiceAccount under the restricted Pod Security Standard"})

	// Retired suspends retraining; so does any phase before Delivery.
	if p.Status.Phase != v1.PhaseDelivery {
		rs.NextScheduleTime = nil
		rs.Pending = ""
		if p.Status.Phase == v1.PhaseRetired {
			rs.Pending = "suspended: the product is retired"
		}
		return 0, nil
	}

	trigger, tick, episode, err := r.dueTrigger(p, spec, persisted, now)
	if err != nil {
		return 0, err
	}
	requeue := time.Duration(0)
	if rs.NextScheduleTime != nil {
		requeue = rs.NextScheduleTime.Sub(now.Time)
	}
	if trigger == nil {
		rs.Pending = ""
		return requeue, nil
	}

	running := rs.LastRun != nil && rs.LastRun.Result == RunRunning
	if running {
		if spec.ConcurrencyPolicy != v1.ConcurrencyReplace {
			rs.Pending = fmt.Sprintf("%s trigger waits for Job %s to finish (concurrencyPolicy Forbid)", trigger.Kind, rs.LastRun.Job)
			if trigger.Kind == v1.TriggerSchedule {
				// As a CronJob with Forbid does, the tick is skipped, not queued.
				rs.LastScheduleTime = &metav1.Time{Time: *tick}
				n.event(ctx, p, true, "RetrainingSkipped", "Retrain",
					fmt.Sprintf("Skipped the schedule tick of %s: Job %s is still running", tick.UTC().Format(time.RFC3339), rs.LastRun.Job))
			}
			return requeue, nil
		}
		if job := owned[rs.LastRun.Job]; job != nil {
			if err := r.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return 0, fmt.Errorf("deleting Job %s to replace it: %w", job.Name, err)
			}
		}
		rs.LastRun.Result, rs.LastRun.Message, rs.LastRun.CompletionTime = RunFailed, "replaced by a newer "+string(trigger.Kind)+" run", &now
		finished(p, rs.LastRun)
		n.event(ctx, p, true, "RetrainingReplaced", "Retrain", fmt.Sprintf("Replaced Job %s (concurrencyPolicy Replace)", rs.LastRun.Job))
	} else if rs.LastRun != nil && rs.LastRun.CompletionTime != nil {
		if end := rs.LastRun.CompletionTime.Add(spec.Cooldown.Duration); now.Time.Before(end) {
			rs.Pending = fmt.Sprintf("%s trigger waits for the cooldown until %s", trigger.Kind, end.UTC().Format(time.RFC3339))
			return earliest(requeue, end.Sub(now.Time)), nil
		}
	}

	if err := r.startRun(ctx, n, p, *trigger, now); err != nil {
		return 0, err
	}
	switch trigger.Kind {
	case v1.TriggerSchedule:
		rs.LastScheduleTime = &metav1.Time{Time: *tick}
	case v1.TriggerDrift:
		rs.LastDriftEpisode = &metav1.Time{Time: episode}
	case v1.TriggerManual:
		if err := r.clearAnnotation(ctx, p, v1.AnnotationRetrain); err != nil {
			return 0, err
		}
		p.Status.LastRequest = &v1.RequestStatus{Action: "Retrain", Value: trigger.Key, HandledAt: now,
			Result: "started Job " + rs.LastRun.Job}
	}
	rs.Pending = ""
	return requeue, nil
}

// dueTrigger returns the first trigger that is due: a manual request, then a
// sustained drift episode not yet answered, then a schedule tick. It also
// sets the next schedule time.
func (r *AIProductReconciler) dueTrigger(p *v1.AIProduct, spec *v1.RetrainingSpec, persisted []v1.DriftStatus,
	now metav1.Time) (*retrain.Trigger, *time.Time, time.Time, error) {
	rs := p.Status.Retraining
	var tick *time.Time
	rs.NextScheduleTime = nil
	if spec.Schedule != "" {
		tz := ""
		if spec.TimeZone != nil {
			tz = *spec.TimeZone
		}
		sched, err := schedule.Parse(spec.Schedule, tz)
		if err != nil {
			return nil, nil, time.Time{}, err
		}
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
	if v, ok := p.Annotations[v1.AnnotationRetrain]; ok {
		return &retrain.Trigger{Kind: v1.TriggerManual, Key: v}, tick, time.Time{}, nil
	}
	if spec.OnDrift {
		ep, check := drift.Episode(p.Status.Drift)
		answered := rs.LastDriftEpisode != nil && !ep.After(rs.LastDriftEpisode.Time)
		if !ep.IsZero() && breachRecorded(persisted, check, ep) && !answered {
			return &retrain.Trigger{Kind: v1.TriggerDrift, Key: strconv.FormatInt(ep.Unix(), 10)}, tick, ep, nil
		}
	}
	if tick != nil {
		return &retrain.Trigger{Kind: v1.TriggerSchedule, Key: strconv.FormatInt(tick.Unix(), 10)}, tick, time.Time{}, nil
	}
	return nil, nil, time.Time{}, nil
}

// breachRecorded reports whether the status read from the API server holds
// the breach of check that began at since. The Job's name derives from that
// instant alone, so once it is recorded a restart names the same Job; the
// breach need not be recorded as sustained too, which would hold the Job back
// until the next measurement, a whole monitoring interval after it was due.
func breachRecorded(persisted []v1.DriftStatus, check string, since time.Time) bool {
	for _, d := range persisted {
		if d.Name == check && d.BreachedSince != nil && d.BreachedSince.Time.Equal(since) {
			return true
		}
	}
	return false
}

// startRun creates the Job a trigger names. A Job of that name that already
// exists is the same run, started before a restart: it is adopted, never
// duplicated.
func (r *AIProductReconciler) startRun(ctx context.Context, n notifier, p *v1.AIProduct, t retrain.Trigger, now metav1.Time) error {
	var versions v1.ModelVersionList
	if err := r.List(ctx, &versions, client.InNamespace(p.Namespace), client.MatchingFields{productIndex: p.Name}); err != nil {
		return fmt.Errorf("listing ModelVersions: %w", err)
	}
	var parent *v1.ModelVersion
	for i := range versions.Items {
		if versions.Items[i].Name == p.Status.ProductionVersion {
			parent = &versions.Items[i]
		}
	}
	name := retrain.JobName(p.Name, t)
	job, err := retrain.Job(p, retrain.Run{Name: name, Trigger: t, Parent: parent, TargetVersion: retrain.NextVersion(versions.Items)},
		r.retrainingPolicy())
	if err == nil {
		if err := controllerutil.SetControllerReference(p, job, r.Scheme()); err != nil {
			return err
		}
		err = r.Create(ctx, job)
	}
	var refused *retrain.RefusedError
	switch {
	case errors.As(err, &refused):
		// Admitted a moment ago from the same spec, so only a change in
		// between gets here; it is a failed run all the same, never a Job.
		p.Status.Retraining.LastRun = &v1.RetrainingRun{Job: name, Trigger: t.Kind, Result: RunFailed,
			Message: err.Error(), StartTime: &now, CompletionTime: &now}
		n.event(ctx, p, true, "RetrainingRefused", "Retrain", "Did not create retraining Job "+name+": "+err.Error())
		finished(p, p.Status.Retraining.LastRun)
		return nil
	case apierrors.IsAlreadyExists(err):
		n.event(ctx, p, false, "RetrainingAdopted", "Retrain", fmt.Sprintf("Job %s for this %s trigger already exists; following it", name, t.Kind))
	case err != nil:
		// A template the API server refuses is a failed run, with the reason,
		// not an error storm: the next trigger waits for the cooldown.
		p.Status.Retraining.LastRun = &v1.RetrainingRun{Job: name, Trigger: t.Kind, Result: RunFailed,
			Message: "creating the Job failed: " + err.Error(), StartTime: &now, CompletionTime: &now}
		n.event(ctx, p, true, "RetrainingFailed", "Retrain", "Could not create retraining Job "+name+": "+err.Error())
		finished(p, p.Status.Retraining.LastRun)
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			return nil
		}
		return fmt.Errorf("creating Job %s: %w", name, err)
	default:
		n.event(ctx, p, false, "RetrainingStarted", "Retrain",
			fmt.Sprintf("Started retraining Job %s (trigger %s) to produce version %s", name, t.Kind, job.Annotations[retrain.AnnotationTargetVersion]))
	}
	p.Status.Retraining.LastRun = &v1.RetrainingRun{Job: name, Trigger: t.Kind, Result: RunRunning, StartTime: &now}
	return nil
}

// followRun records the outcome of the running Job once it finishes, and
// registers the ModelVersion it reports.
func (r *AIProductReconciler) followRun(ctx context.Context, n notifier, p *v1.AIProduct, owned map[string]*batchv1.Job, now metav1.Time) error {
	run := p.Status.Retraining.LastRun
	if run == nil || run.Result != RunRunning {
		return nil
	}
	job := owned[run.Job]
	fail := func(msg string) {
		run.Result, run.Message, run.CompletionTime = RunFailed, msg, &now
		n.event(ctx, p, true, "RetrainingFailed", "Retrain", fmt.Sprintf("Retraining Job %s failed: %s", run.Job, msg))
		finished(p, run)
	}
	if job == nil {
		// The cache may not have seen a Job created a moment ago.
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: run.Job}, &batchv1.Job{}); err == nil {
			return nil
		} else if !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading Job %s: %w", run.Job, err)
		}
		fail("the Job was deleted before it finished")
		return nil
	}
	if c := jobCondition(job, batchv1.JobFailed); c != nil {
		fail(fmt.Sprintf("%s: %s", c.Reason, c.Message))
		return nil
	}
	if jobCondition(job, batchv1.JobComplete) == nil {
		return nil
	}
	// The cache may still hold this product as it was before an earlier
	// reconcile recorded this very outcome; the API server knows.
	if done, err := r.runRecorded(ctx, p, run.Job); err != nil || done {
		return err
	}
	if job.Status.CompletionTime != nil {
		now = *job.Status.CompletionTime
	}
	msg, err := r.resultMessage(ctx, p, job)
	if err != nil {
		return err
	}
	res, err := retrain.ParseResult(msg)
	if err != nil {
		fail("the result is unusable: " + err.Error())
		return nil
	}
	mv, err := r.register(ctx, p, job, run, res)
	if err != nil {
		if errors.Is(err, errVersionTaken) {
			fail(err.Error())
			return nil
		}
		return err
	}
	run.Result, run.ModelVersion, run.CompletionTime, run.Message = RunSucceeded, mv, &now, ""
	finished(p, run)
	n.event(ctx, p, false, "RetrainingSucceeded", "Retrain", fmt.Sprintf("Retraining Job %s registered ModelVersion %s", job.Name, mv))
	return nil
}

func jobCondition(job *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		c := &job.Status.Conditions[i]
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// resultMessage reads the termination message of the result container of
// the Job's succeeded pod. Pods are read without a cache: the operator
// watches no pods, and reads these once per finished Job.
func (r *AIProductReconciler) resultMessage(ctx context.Context, p *v1.AIProduct, job *batchv1.Job) (string, error) {
	var pods corev1.PodList
	if err := r.APIReader.List(ctx, &pods, client.InNamespace(job.Namespace), client.MatchingLabels{jobNameLabel: job.Name}); err != nil {
		return "", fmt.Errorf("listing pods of Job %s: %w", job.Name, err)
	}
	container := retrain.ResultContainer(p, job.Spec.Template.Spec.Containers)
	sort.Slice(pods.Items, func(i, j int) bool {
		return pods.Items[j].CreationTimestamp.Before(&pods.Items[i].CreationTimestamp)
	})
	for _, pod := range pods.Items {
		if pod.Status.Phase != corev1.PodSucceeded {
			continue
		}
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.Name == container && cs.State.Terminated != nil {
				return cs.State.Terminated.Message, nil
			}
		}
	}
	return "", nil
}

var errVersionTaken = errors.New("version taken")

// register creates the ModelVersion a run reports. Its name derives from the
// Job, so a second attempt finds the first one's version and takes it.
func (r *AIProductReconciler) register(ctx context.Context, p *v1.AIProduct, job *batchv1.Job, run *v1.RetrainingRun, res *retrain.Result) (string, error) {
	name := job.Annotations[retrain.AnnotationTargetName]
	semver := job.Annotations[retrain.AnnotationTargetVersion]
	mv := &v1.ModelVersion{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.Namespace,
			Labels: map[string]string{v1.LabelProduct: p.Name}},
		Spec: v1.ModelVersionSpec{
			Product: v1.LocalObjectName(p.Name),
			Version: semver,
			Artifact: v1.Artifact{URI: res.Artifact.URI, Format: v1.ModelFormat(res.Artifact.Format),
				Digest: res.Artifact.Digest},
			Lineage: &v1.Lineage{Trigger: run.Trigger, TrainingJob: job.Name,
				ParentVersion: job.Annotations[retrain.AnnotationParentVersion]},
		},
	}
	if res.Dataset != nil {
		mv.Spec.Lineage.Dataset = &v1.Dataset{URI: res.Dataset.URI, Digest: res.Dataset.Digest}
	}
	names := make([]string, 0, len(res.Metrics))
	for k := range res.Metrics {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		mv.Spec.Metrics = append(mv.Spec.Metrics, v1.EvaluationMetric{Name: k, Value: v1.DecimalOf(res.Metrics[k])})
	}
	err := r.Create(ctx, mv)
	if apierrors.IsAlreadyExists(err) {
		existing := &v1.ModelVersion{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(mv), existing); err != nil {
			return "", fmt.Errorf("reading ModelVersion %s: %w", name, err)
		}
		if existing.Spec.Lineage == nil || existing.Spec.Lineage.TrainingJob != job.Name {
			return "", fmt.Errorf("%w: ModelVersion %s already exists and was not produced by Job %s", errVersionTaken, name, job.Name)
		}
		return name, nil
	}
	if err != nil {
		if apierrors.IsInvalid(err) {
			return "", fmt.Errorf("%w: the API server refused ModelVersion %s: %v", errVersionTaken, name, err)
		}
		return "", fmt.Errorf("creating ModelVersion %s: %w", name, err)
	}
	return name, nil
}

// pruneJobs keeps the newest finished Jobs up to the history limits.
func (r *AIProductReconciler) pruneJobs(ctx context.Context, spec *v1.RetrainingSpec, owned map[string]*batchv1.Job) error {
	var succeeded, failed []*batchv1.Job
	for _, j := range owned {
		switch {
		case jobCondition(j, batchv1.JobComplete) != nil:
			succeeded = append(succeeded, j)
		case jobCondition(j, batchv1.JobFailed) != nil:
			failed = append(failed, j)
		}
	}
	for _, set := range []struct {
		jobs  []*batchv1.Job
		limit int32
	}{{succeeded, spec.SuccessfulJobsHistoryLimit}, {failed, spec.FailedJobsHistoryLimit}} {
		sort.Slice(set.jobs, func(i, j int) bool {
			return set.jobs[j].CreationTimestamp.Before(&set.jobs[i].CreationTimestamp)
		})
		for i := int(set.limit); i < len(set.jobs); i++ {
			if err := r.Delete(ctx, set.jobs[i], client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("pruning Job %s: %w", set.jobs[i].Name, err)
			}
		}
	}
	return nil
}

// retrainingPolicy is what the operator's flags let a retraining pod do.
func (r *AIProductReconciler) retrainingPolicy() retrain.Policy {
	return retrain.Policy{ServiceAccounts: r.RetrainingServiceAccounts}
}

// finished counts a run that has just ended.
func finished(p *v1.AIProduct, run *v1.RetrainingRun) {
	var d time.Duration
	if run.StartTime != nil && run.CompletionTime != nil {
		d = run.CompletionTime.Sub(run.StartTime.Time)
	}
	metrics.RetrainingFinished(p.Namespace, p.Name, run.Trigger, run.Result, d)
}

// runRecorded reports whether the API server's copy of the product already
// records the end of the run of job, and if so takes that record. It costs
// one read, once per finished Job.
func (r *AIProductReconciler) runRecorded(ctx context.Context, p *v1.AIProduct, job string) (bool, error) {
	fresh := &v1.AIProduct{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(p), fresh); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	rs := fresh.Status.Retraining
	if rs == nil || rs.LastRun == nil || rs.LastRun.Job != job || rs.LastRun.Result == RunRunning {
		return false, nil
	}
	p.Status.Retraining.LastRun = rs.LastRun.DeepCopy()
	return true, nil
}
