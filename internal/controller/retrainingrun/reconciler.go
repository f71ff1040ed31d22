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

// Package retrainingrun is the controller of RetrainingRuns: it creates a
// run's Job, follows it, reads the result its trainer reports and
// registers the ModelVersion it produced. It alone writes a run's status;
// the AIProduct reconciler creates runs and reads them.
package retrainingrun

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/notify"
	"github.com/aipm-io/aipm-operator/internal/outcome"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
)

// Event reasons of a run.
const (
	EventStarted   = "RetrainingStarted"
	EventSucceeded = "RetrainingSucceeded"
	EventFailed    = "RetrainingFailed"
	EventRefused   = "RetrainingRefused"
)

// uncachedPoll is how often a run follows a Job that only the API server
// shows: the cache sees only Jobs labelled as the operator's, and one whose
// label was taken off sends no watch events.
const uncachedPoll = time.Minute

// Reconciler reconciles RetrainingRuns.
type Reconciler struct {
	client.Client
	// APIReader reads what the cache does not hold or may not hold yet:
	// pods, a Job just created, a ModelVersion that already exists.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	// StatusWriter writes run status; statuswrite.Client{Client} when nil.
	StatusWriter statuswrite.Writer
	// Policy is what a retraining pod may do (the operator's flags).
	Policy retrain.Policy
}

// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=retrainingruns,verbs=get;list;watch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=retrainingruns/status,verbs=get;update;patch
// The Job's controller reference blocks the run's deletion until the Job is
// gone, which clusters enforcing owner-reference permissions (OpenShift)
// allow only to whoever may update the run's finalizers.
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=retrainingruns/finalizers,verbs=update
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=modelversions,verbs=get;create

// SetupWithManager registers the reconciler, filling in the defaults of the
// fields left unset.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.StatusWriter == nil {
		r.StatusWriter = statuswrite.Client{Client: r.Client}
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&lifecyclev1alpha1.RetrainingRun{}).
		Owns(&batchv1.Job{}).
		Named("retrainingrun").
		Complete(r)
}

// Reconcile reads a run and its Job, takes the next step, and writes the
// run's status once, at the end, if it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	run := &lifecyclev1alpha1.RetrainingRun{}
	if err := r.Get(ctx, req.NamespacedName, run); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if run.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	// To the second, as the API server keeps times, so that a time set here
	// compares equal to itself read back.
	now := metav1.NewTime(r.now()).Rfc3339Copy()
	before := run.Status.DeepCopy()
	t := &turn{Reconciler: r, run: run, now: now, n: notify.Notifier{Recorder: r.Recorder}}
	defer func() {
		setConditions(run, now)
		if !equality.Semantic.DeepEqual(before, &run.Status) {
			if werr := r.statusWriter().Update(ctx, run); werr != nil {
				err = errors.Join(err, fmt.Errorf("writing the status of RetrainingRun %s: %w", run.Name, werr))
				// Untold: the next reconcile decides again from what the
				// API server holds, and tells what it decides then.
				t.told = nil
			}
		}
		for _, tell := range t.told {
			tell(ctx)
		}
		res, err = outcome.Result(err, t.requeue)
	}()
	if run.Status.Phase.Finished() {
		return ctrl.Result{}, nil
	}
	job, err := t.workload(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, t.act(ctx, job, decide(run, job, r.Policy))
}

func (r *Reconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}

func (r *Reconciler) statusWriter() statuswrite.Writer {
	if r.StatusWriter == nil {
		return statuswrite.Client{Client: r.Client}
	}
	return r.StatusWriter
}

// turn is one reconcile of one run.
type turn struct {
	*Reconciler
	run *lifecyclev1alpha1.RetrainingRun
	now metav1.Time
	n   notify.Notifier
	// told are the Events and metrics of the run's end, given once its
	// status is written: a write refused because the run moved on means a
	// later reconcile decides again, and a finished run is counted once.
	told    []func(context.Context)
	requeue time.Duration
}

// workload is the run's Job, nil when the API server holds none. The cache
// is asked first; when the status says a Job was created and the cache
// lacks it, the API server confirms before the run is failed for it.
func (t *turn) workload(ctx context.Context) (*batchv1.Job, error) {
	key := client.ObjectKey{Namespace: t.run.Namespace, Name: t.run.Name}
	if w := t.run.Status.Workload; w != nil {
		key.Name = w.Name
	}
	job := &batchv1.Job{}
	err := t.Get(ctx, key, job)
	if err == nil {
		return job, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading Job %s: %w", key.Name, err)
	}
	if t.run.Status.Workload == nil {
		return nil, nil
	}
	err = t.APIReader.Get(ctx, key, job)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading Job %s: %w", key.Name, err)
	}
	t.requeue = uncachedPoll
	return job, nil
}

// act takes the step d, on job as read.
func (t *turn) act(ctx context.Context, job *batchv1.Job, d decision) error {
	st := &t.run.Status
	switch d.step {
	case stepCreate:
		return t.create(ctx, d.job)
	case stepFollow:
		markRunning(st, job, t.now)
	case stepCollect:
		markWorkload(st, job, t.now)
		return t.collect(ctx, job)
	case stepFail:
		if job != nil && metav1.IsControlledBy(job, t.run) {
			markWorkload(st, job, t.now)
		}
		t.fail(d)
	}
	return nil
}

// create creates the run's Job. A Job of its name that exists already is
// this run's, created by a reconcile whose status write was lost, when the
// run controls it; it is followed, never created twice.
func (t *turn) create(ctx context.Context, job *batchv1.Job) error {
	if err := controllerutil.SetControllerReference(t.run, job, t.Scheme()); err != nil {
		return err
	}
	err := t.Create(ctx, job)
	switch {
	case err == nil:
		markRunning(&t.run.Status, job, t.now)
		// Told now, not with the status: the Job exists whatever becomes
		// of the write, and a later reconcile adopts it without a word.
		t.n.Event(ctx, t.run, false, EventStarted, "Retrain", fmt.Sprintf("Created Job %s (trigger %s) to train version %s",
			job.Name, t.run.Spec.Trigger.Kind, t.run.Spec.TargetVersion))
		return nil
	case apierrors.IsAlreadyExists(err):
		existing := &batchv1.Job{}
		if err := t.APIReader.Get(ctx, client.ObjectKeyFromObject(job), existing); err != nil {
			return fmt.Errorf("reading Job %s, which exists: %w", job.Name, err)
		}
		return t.act(ctx, existing, decide(t.run, existing, t.Policy))
	case apierrors.IsInvalid(err) || apierrors.IsForbidden(err):
		// The same spec would be refused again: a failed run, not a storm of
		// retries.
		t.fail(failure(lifecyclev1alpha1.ReasonWorkloadRefused, "the API server refused Job %s: %v", job.Name, err))
		return nil
	default:
		markPending(&t.run.Status, fmt.Sprintf("creating Job %s: %v", job.Name, err))
		return fmt.Errorf("creating Job %s: %w", job.Name, err)
	}
}

// collect reads the result of a completed Job and registers the version it
// reports.
func (t *turn) collect(ctx context.Context, job *batchv1.Job) error {
	// Pods are read from the API server: the operator watches none, and
	// reads these once per finished run.
	var pods corev1.PodList
	if err := t.APIReader.List(ctx, &pods, client.InNamespace(job.Namespace), client.MatchingLabels{retrain.JobNameLabel: job.Name}); err != nil {
		return fmt.Errorf("listing the pods of Job %s: %w", job.Name, err)
	}
	parsed, err := retrain.ParseResult(retrain.TerminationMessage(job, t.run.Spec.ResultContainer, pods.Items))
	if err != nil {
		t.fail(failure(lifecyclev1alpha1.ReasonResultUnusable, "the result of Job %s (container %s) is unusable: %v",
			job.Name, t.run.Spec.ResultContainer, err))
		return nil
	}
	res := trainingResult(parsed)
	t.run.Status.Result = res
	mv := modelVersion(t.run, job, res)
	err = t.Create(ctx, mv)
	switch {
	case apierrors.IsAlreadyExists(err):
		existing := &lifecyclev1alpha1.ModelVersion{}
		if err := t.APIReader.Get(ctx, client.ObjectKeyFromObject(mv), existing); err != nil {
			return fmt.Errorf("reading ModelVersion %s, which exists: %w", mv.Name, err)
		}
		if !producedBy(existing, job) {
			t.fail(failure(lifecyclev1alpha1.ReasonVersionTaken, "ModelVersion %s already exists and was not produced by Job %s",
				mv.Name, job.Name))
			return nil
		}
	case apierrors.IsInvalid(err):
		// ParseResult checks what ModelVersion admission checks, so what is
		// left is a target version no version may have.
		t.fail(failure(lifecyclev1alpha1.ReasonResultUnusable, "the API server refused ModelVersion %s: %v", mv.Name, err))
		return nil
	case err != nil:
		return fmt.Errorf("creating ModelVersion %s: %w", mv.Name, err)
	}
	markSucceeded(&t.run.Status, job, mv.Name, t.now)
	t.finished(false, EventSucceeded, fmt.Sprintf("Job %s registered ModelVersion %s (version %s)", job.Name, mv.Name, mv.Spec.Version))
	return nil
}

func (t *turn) fail(d decision) {
	markFailed(&t.run.Status, d, t.now)
	reason := EventFailed
	if d.reason == lifecyclev1alpha1.ReasonTemplateRefused {
		reason = EventRefused
	}
	t.finished(true, reason, fmt.Sprintf("Retraining failed (%s): %s", d.reason, d.message))
}

// finished tells of the run's end, once its status is written.
func (t *turn) finished(warning bool, reason, msg string) {
	run := t.run
	result := string(run.Status.Phase)
	var d time.Duration
	if run.Status.StartTime != nil && run.Status.CompletionTime != nil {
		d = run.Status.CompletionTime.Sub(run.Status.StartTime.Time)
	}
	t.told = append(t.told, func(ctx context.Context) {
		t.n.Event(ctx, run, warning, reason, "Retrain", msg)
		metrics.RetrainingFinished(run.Namespace, string(run.Spec.Product), run.Spec.Trigger.Kind, result, d)
	})
}
