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
// run's workload on its engine (a Job, a TrainJob, a JobSet, a RayJob),
// follows it, reads the result its trainer reports and registers the
// ModelVersion it produced. It alone writes a run's status;
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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	trainerv1alpha1 "github.com/kubeflow/trainer/v2/pkg/apis/trainer/v1alpha1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/backend"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/notify"
	"github.com/aipm-io/aipm-operator/internal/outcome"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
)

// Event reasons of a run.
const (
	EventStarted     = "RetrainingStarted"
	EventSucceeded   = "RetrainingSucceeded"
	EventFailed      = "RetrainingFailed"
	EventRefused     = "RetrainingRefused"
	EventUnavailable = "BackendUnavailable"
)

// uncachedPoll is how often a run follows a Job that only the API server
// shows: the cache sees only Jobs labelled as the operator's, and one whose
// label was taken off sends no watch events.
const uncachedPoll = time.Minute

// enginePoll is how often a run re-reads a TrainJob, JobSet or RayJob
// besides the watch on its kind: a safety net, for the watch is what
// brings a workload's end.
const enginePoll = 30 * time.Second

// Reconciler reconciles RetrainingRuns.
type Reconciler struct {
	client.Client
	// APIReader reads what the cache does not hold or may not hold yet:
	// pods, a workload just created, a ModelVersion that already exists,
	// the workloads of engines.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	// StatusWriter writes run status; statuswrite.Client{Client} when nil.
	StatusWriter statuswrite.Writer
	// Policy is what a retraining pod may do (the operator's flags).
	Policy retrain.Policy
	// Namespaces are the namespaces the operator watches (all when empty):
	// the engines' workloads are watched there only.
	Namespaces []string
	// UnavailablePoll is how often a run waiting for its engine (a CRD,
	// a TrainJob's runtime) looks again; one minute when zero.
	UnavailablePoll time.Duration

	// watches starts the watch on an engine's kind the first time a run
	// finds it installed: a watch on a kind without its CRD would fail the
	// manager's start, and most clusters have only some engines.
	watches engineWatches
}

// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=retrainingruns,verbs=get;list;watch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=retrainingruns/status,verbs=get;update;patch
// The workload's controller reference blocks the run's deletion until the
// workload is gone, which clusters enforcing owner-reference permissions
// (OpenShift) allow only to whoever may update the run's finalizers.
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=retrainingruns/finalizers,verbs=update
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=modelversions,verbs=get;create
// The engines: each workload is created and followed, and goes with its
// run by garbage collection; a TrainJob's runtime is read to check the pods
// it makes, and a TrainJob's JobSet read on the way to its rank-0 pod.
// +kubebuilder:rbac:groups=trainer.kubeflow.org,resources=trainjobs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=trainer.kubeflow.org,resources=trainingruntimes;clustertrainingruntimes,verbs=get
// +kubebuilder:rbac:groups=jobset.x-k8s.io,resources=jobsets,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=ray.io,resources=rayjobs,verbs=get;list;watch;create

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
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&lifecyclev1alpha1.RetrainingRun{}).
		Owns(&batchv1.Job{}).
		Named("retrainingrun").
		Build(r)
	if err != nil {
		return err
	}
	r.watches = newEngineWatches(mgr, c, r.Namespaces)
	return nil
}

// Reconcile reads a run and its workload, takes the next step, and writes
// the run's status once, at the end, if it changed.
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
	eng, err := backend.For(run.Spec.Backend)
	if err != nil {
		t.fail(failure(lifecyclev1alpha1.ReasonTemplateRefused, "%v", err))
		return ctrl.Result{}, nil
	}
	t.eng = eng
	if ok, err := t.available(ctx); err != nil || !ok {
		return ctrl.Result{}, err
	}
	obj, err := t.workload(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, t.act(ctx, obj, decide(run, eng, obj, t.builder(ctx)))
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
	eng backend.Engine
	now metav1.Time
	n   notify.Notifier
	// told are the Events and metrics of the run's end, given once its
	// status is written: a write refused because the run moved on means a
	// later reconcile decides again, and a finished run is counted once.
	told    []func(context.Context)
	requeue time.Duration
}

func (t *turn) kind() string { return t.eng.GVK().Kind }

// isJob reports whether the run trains in a batch Job, which the cache
// holds; the other engines are read from the API server.
func (t *turn) isJob() bool { return t.eng.Backend() == lifecyclev1alpha1.BackendJob }

// available reports whether the run's engine is installed, and starts the
// watch on its kind when it first is. A run whose engine is missing waits,
// Pending with reason BackendUnavailable, and looks again each minute.
func (t *turn) available(ctx context.Context) (bool, error) {
	if t.isJob() {
		return true, nil
	}
	err := t.watches.ensure(t.eng)
	if err == nil {
		return true, nil
	}
	var unavailable *backend.UnavailableError
	if !errors.As(err, &unavailable) {
		return false, err
	}
	t.wait(ctx, decision{step: stepWait, reason: lifecyclev1alpha1.ReasonBackendUnavailable, message: err.Error()})
	return false, nil
}

// wait keeps the run Pending for d's reason, telling it once.
func (t *turn) wait(ctx context.Context, d decision) {
	st := &t.run.Status
	if st.Reason != d.reason || st.Message != d.message {
		t.n.Event(ctx, t.run, true, EventUnavailable, "Retrain", d.message)
	}
	markPending(st, d.reason, d.message)
	t.requeue = t.UnavailablePoll
	if t.requeue == 0 {
		t.requeue = time.Minute
	}
}

// workload is the run's workload, nil when the API server holds none. A
// Job is asked of the cache first; when the status says one was created
// and the cache lacks it, the API server confirms before the run is
// failed for it. The other engines' workloads are read from the API
// server: one read per reconcile of a running run.
func (t *turn) workload(ctx context.Context) (client.Object, error) {
	name := backend.WorkloadName(t.run.Spec.Backend, t.run.Name)
	if w := t.run.Status.Workload; w != nil {
		name = w.Name
	}
	key := client.ObjectKey{Namespace: t.run.Namespace, Name: name}
	obj := t.eng.New()
	if !t.isJob() {
		err := t.APIReader.Get(ctx, key, obj)
		switch {
		case apierrors.IsNotFound(err):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("reading %s %s: %w", t.kind(), name, err)
		}
		t.requeue = enginePoll
		return obj, nil
	}
	err := t.Get(ctx, key, obj)
	if err == nil {
		return obj, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading Job %s: %w", key.Name, err)
	}
	if t.run.Status.Workload == nil {
		return nil, nil
	}
	err = t.APIReader.Get(ctx, key, obj)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading Job %s: %w", key.Name, err)
	}
	t.requeue = uncachedPoll
	return obj, nil
}

// builder renders the run's workload, when decide asks for it.
func (t *turn) builder(ctx context.Context) builder {
	return func() (client.Object, error) {
		if t.isJob() {
			return retrain.RunJob(t.run, t.Policy)
		}
		return backend.Build(t.run, backend.WorkloadName(t.run.Spec.Backend, t.run.Name), t.Policy,
			func(ref backend.RuntimeRef) (*backend.RuntimeTemplate, error) { return t.runtime(ctx, ref) })
	}
}

// runtime reads a TrainJob's training runtime from the API server: runs
// are few, and the operator watches no runtimes.
func (t *turn) runtime(ctx context.Context, ref backend.RuntimeRef) (*backend.RuntimeTemplate, error) {
	key := client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
	var err error
	var tpl *backend.RuntimeTemplate
	if ref.Kind == backend.KindTrainingRuntime {
		rt := &trainerv1alpha1.TrainingRuntime{}
		err = t.APIReader.Get(ctx, key, rt)
		tpl = &rt.Spec.Template
	} else {
		rt := &trainerv1alpha1.ClusterTrainingRuntime{}
		err = t.APIReader.Get(ctx, key, rt)
		tpl = &rt.Spec.Template
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, &backend.UnavailableError{Msg: fmt.Sprintf("%s does not exist; the run starts when it does", ref)}
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	return tpl, nil
}

// act takes the step d, on the workload as read.
func (t *turn) act(ctx context.Context, obj client.Object, d decision) error {
	st := &t.run.Status
	switch d.step {
	case stepCreate:
		return t.create(ctx, d.workload)
	case stepWait:
		t.wait(ctx, d)
	case stepFollow:
		markRunning(st, t.kind(), obj, t.now)
	case stepCollect:
		markWorkload(st, t.kind(), obj, t.now)
		return t.collect(ctx, obj)
	case stepFail:
		if obj != nil && metav1.IsControlledBy(obj, t.run) {
			markWorkload(st, t.kind(), obj, t.now)
		}
		t.fail(d)
	}
	return nil
}

// create creates the run's workload. One of its name that exists already
// is this run's, created by a reconcile whose status write was lost, when
// the run controls it; it is followed, never created twice.
func (t *turn) create(ctx context.Context, obj client.Object) error {
	if err := controllerutil.SetControllerReference(t.run, obj, t.Scheme()); err != nil {
		return err
	}
	kind := t.kind()
	err := t.Create(ctx, obj)
	switch {
	case err == nil:
		markRunning(&t.run.Status, kind, obj, t.now)
		// Told now, not with the status: the workload exists whatever
		// becomes of the write, and a later reconcile adopts it without a
		// word.
		t.n.Event(ctx, t.run, false, EventStarted, "Retrain", fmt.Sprintf("Created %s %s (trigger %s) to train version %s",
			kind, obj.GetName(), t.run.Spec.Trigger.Kind, t.run.Spec.TargetVersion))
		return nil
	case apierrors.IsAlreadyExists(err):
		existing := t.eng.New()
		if err := t.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), existing); err != nil {
			return fmt.Errorf("reading %s %s, which exists: %w", kind, obj.GetName(), err)
		}
		return t.act(ctx, existing, decide(t.run, t.eng, existing, t.builder(ctx)))
	case meta.IsNoMatchError(err):
		t.wait(ctx, decision{step: stepWait, reason: lifecyclev1alpha1.ReasonBackendUnavailable, message: backend.NotInstalled(t.eng).Error()})
		return nil
	case apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsBadRequest(err):
		// The same spec would be refused again: a failed run, not a storm of
		// retries.
		t.fail(failure(lifecyclev1alpha1.ReasonWorkloadRefused, "the API server refused %s %s: %v", kind, obj.GetName(), err))
		return nil
	default:
		markPending(&t.run.Status, lifecyclev1alpha1.ReasonRunPending, fmt.Sprintf("creating %s %s: %v", kind, obj.GetName(), err))
		return fmt.Errorf("creating %s %s: %w", kind, obj.GetName(), err)
	}
}

// collect reads the result of a succeeded workload and registers the
// version it reports.
func (t *turn) collect(ctx context.Context, obj client.Object) error {
	kind := t.kind()
	job, why, err := t.resultJob(ctx, obj)
	if err != nil {
		return err
	}
	if why != "" {
		t.fail(failure(lifecyclev1alpha1.ReasonResultUnusable, "the result of %s %s is unusable: %s", kind, obj.GetName(), why))
		return nil
	}
	// Pods are read from the API server: the operator watches none, and
	// reads these once per finished run.
	var pods corev1.PodList
	if err := t.APIReader.List(ctx, &pods, client.InNamespace(job.Namespace), client.MatchingLabels{retrain.JobNameLabel: job.Name}); err != nil {
		return fmt.Errorf("listing the pods of Job %s: %w", job.Name, err)
	}
	parsed, err := retrain.ParseResult(retrain.TerminationMessage(job, t.run.Spec.ResultContainer, pods.Items))
	if err != nil {
		t.fail(failure(lifecyclev1alpha1.ReasonResultUnusable, "the result of %s %s (Job %s, container %s) is unusable: %v",
			kind, obj.GetName(), job.Name, t.run.Spec.ResultContainer, err))
		return nil
	}
	res := trainingResult(parsed)
	t.run.Status.Result = res
	mv := modelVersion(t.run, obj.GetName(), res)
	err = t.Create(ctx, mv)
	switch {
	case apierrors.IsAlreadyExists(err):
		existing := &lifecyclev1alpha1.ModelVersion{}
		if err := t.APIReader.Get(ctx, client.ObjectKeyFromObject(mv), existing); err != nil {
			return fmt.Errorf("reading ModelVersion %s, which exists: %w", mv.Name, err)
		}
		if !producedBy(existing, obj.GetName()) {
			t.fail(failure(lifecyclev1alpha1.ReasonVersionTaken, "ModelVersion %s already exists and was not produced by %s %s",
				mv.Name, kind, obj.GetName()))
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
	markSucceeded(&t.run.Status, kind, obj, t.eng.Progress(obj).At, mv.Name, t.now)
	t.finished(false, EventSucceeded, fmt.Sprintf("%s %s registered ModelVersion %s (version %s)", kind, obj.GetName(), mv.Name, mv.Spec.Version))
	return nil
}

// resultJob follows the engine's path from the workload to the Job whose
// pod reports the result, each step controlled by the one before it. why
// says what broke the path, for a run that cannot be read.
func (t *turn) resultJob(ctx context.Context, obj client.Object) (job *batchv1.Job, why string, err error) {
	parent := obj
	for _, l := range t.eng.ResultPath(obj, t.run.Spec.ResultJob) {
		o, err := t.Scheme().New(l.GVK)
		if err != nil {
			return nil, "", err
		}
		next := o.(client.Object)
		err = t.APIReader.Get(ctx, client.ObjectKey{Namespace: obj.GetNamespace(), Name: l.Name}, next)
		switch {
		case apierrors.IsNotFound(err):
			return nil, fmt.Sprintf("%s %s, which reports its result, does not exist", l.GVK.Kind, l.Name), nil
		case err != nil:
			return nil, "", fmt.Errorf("reading %s %s: %w", l.GVK.Kind, l.Name, err)
		}
		if !metav1.IsControlledBy(next, parent) {
			return nil, fmt.Sprintf("%s %s is not controlled by %s %s", l.GVK.Kind, l.Name, parent.GetObjectKind().GroupVersionKind().Kind, parent.GetName()), nil
		}
		parent = next
	}
	job, ok := parent.(*batchv1.Job)
	if !ok {
		return nil, "", fmt.Errorf("the result path of %s %s ends in a %T, not a Job", t.kind(), obj.GetName(), parent)
	}
	return job, "", nil
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
