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

// Package experiment runs Experiments: it starts one when its product lets
// it, keeps its candidate's Deployment and Service while it runs, measures
// its success criteria in Prometheus, and records its verdict. It alone
// writes an Experiment's status; the product reads it.
package experiment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/apply"
	judging "github.com/aipm-io/aipm-operator/internal/experiment"
	"github.com/aipm-io/aipm-operator/internal/index"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/notify"
	"github.com/aipm-io/aipm-operator/internal/outcome"
	"github.com/aipm-io/aipm-operator/internal/prom"
	"github.com/aipm-io/aipm-operator/internal/serving"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
)

// Reconciler runs Experiments.
type Reconciler struct {
	client.Client
	Recorder   events.EventRecorder
	Prometheus prom.Querier
	// Clock is the real clock when nil.
	Clock clock.PassiveClock
	// StatusWriter is statuswrite.Client over Client when nil.
	StatusWriter statuswrite.Writer

	// apiReader reads past the cache, set by SetupWithManager.
	apiReader client.Reader
}

// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=experiments,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=experiments/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=aiproducts,verbs=get;list;watch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=modelversions,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile reads an Experiment and its product, decides what the
// experiment does now, acts on its Deployment and Service, and writes its
// status once, only when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	exp := &lifecyclev1alpha1.Experiment{}
	if err := r.Get(ctx, req.NamespacedName, exp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !exp.DeletionTimestamp.IsZero() {
		// The garbage collector removes its objects with it.
		return ctrl.Result{}, nil
	}
	now := r.clock().Now()
	t := &turn{
		r: r, exp: exp, n: notify.Notifier{Recorder: r.Recorder}, now: now,
		// Stored times have whole seconds; in memory they are the same, so
		// what this reconcile computes from them a later one computes too.
		stamp: metav1.NewTime(now.Truncate(time.Second)),
	}
	before := exp.Status.DeepCopy()
	var requeue time.Duration
	var err error
	defer func() {
		if t.deleted && err == nil {
			result, retErr = ctrl.Result{}, nil
			return
		}
		t.setConditions(ctx, err)
		exp.Status.ObservedGeneration = exp.Generation
		if !equality.Semantic.DeepEqual(before, &exp.Status) {
			// Under the resourceVersion read: a reconcile that decided from
			// a stale copy gets a Conflict and decides again.
			werr := r.statusWriter().Update(ctx, exp)
			if apierrors.IsNotFound(werr) {
				// Deleted meanwhile, with its product as often as not.
				result, retErr = ctrl.Result{}, nil
				return
			}
			if werr != nil {
				err = errors.Join(err, fmt.Errorf("writing the status of Experiment %s: %w", exp.Name, werr))
				result, retErr = outcome.Result(err, requeue)
				return
			}
		}
		// Told only once the status that says so is written: a refused
		// write means this reconcile runs again and would tell it twice.
		for _, tell := range t.told {
			tell()
		}
		result, retErr = outcome.Result(err, requeue)
	}()
	requeue, err = t.decide(ctx)
	return result, retErr
}

func (r *Reconciler) clock() clock.PassiveClock {
	if r.Clock == nil {
		return clock.RealClock{}
	}
	return r.Clock
}

func (r *Reconciler) statusWriter() statuswrite.Writer {
	if r.StatusWriter == nil {
		return statuswrite.Client{Client: r.Client}
	}
	return r.StatusWriter
}

// turn is one reconcile of one Experiment.
// productPoll is how soon an Experiment whose product does not exist looks
// for it again.
const productPoll = time.Minute

type turn struct {
	r     *Reconciler
	exp   *lifecyclev1alpha1.Experiment
	n     notify.Notifier
	now   time.Time
	stamp metav1.Time
	// productMissing: the product named by spec.product does not exist.
	productMissing bool
	// deleted: its product no longer declares it, and it was deleted.
	deleted bool
	// told are the Events and metrics of this reconcile, sent once its
	// status is written.
	told []func()
}

// owned are the serving objects an Experiment controls.
type owned struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
}

func (t *turn) spec() *lifecyclev1alpha1.DiscoveryExperiment { return &t.exp.Spec.DiscoveryExperiment }

func (t *turn) tell(ctx context.Context, warning bool, reason, action, msg string) {
	t.told = append(t.told, func() { t.n.Event(ctx, t.exp, warning, reason, action, msg) })
}

func (t *turn) decide(ctx context.Context) (time.Duration, error) {
	st := &t.exp.Status
	have, err := t.owned(ctx)
	if err != nil {
		return 0, err
	}
	p := &lifecyclev1alpha1.AIProduct{}
	if err := t.r.Get(ctx, client.ObjectKey{Namespace: t.exp.Namespace, Name: string(t.exp.Spec.Product)}, p); err != nil {
		if !apierrors.IsNotFound(err) {
			return 0, err
		}
		if st.Phase == lifecyclev1alpha1.ExperimentFinished {
			return 0, t.sync(ctx, have, nil, nil)
		}
		// Objects arrive in any order under GitOps. The product's creation
		// wakes the Experiments it declares; one it does not declare, and
		// so never runs, is looked at again within a minute to say so.
		t.productMissing = true
		t.stop(ctx, fmt.Sprintf("waiting for AIProduct %s", t.exp.Spec.Product))
		return productPoll, t.sync(ctx, have, nil, nil)
	}
	if metav1.IsControlledBy(t.exp, p) && !slices.Contains(Declared(p, nil), t.exp.Name) {
		return 0, t.deleteUndeclared(ctx)
	}
	if st.Phase == lifecyclev1alpha1.ExperimentFinished {
		return 0, t.sync(ctx, have, nil, nil)
	}
	if !metav1.IsControlledBy(t.exp, p) {
		// An Experiment runs a version with the product's serving template
		// and Prometheus queries: only the product's own, declared in its
		// spec, may, so that a right to write Experiments is no right to
		// run another team's models.
		t.stop(ctx, fmt.Sprintf("not run: only the Experiments AIProduct %s creates from its spec.discovery.experiments run, and it does not control this one", p.Name))
		return 0, t.sync(ctx, have, nil, nil)
	}
	mv, candidate, err := t.candidate(ctx)
	if err != nil {
		return 0, err
	}
	if st.Phase == lifecyclev1alpha1.ExperimentRunning {
		why, err := t.changedSinceStart(ctx, have)
		if err != nil {
			return 0, err
		}
		if why != "" {
			t.restart(ctx, why)
		}
	}
	if why := judging.CannotStart(p, t.spec(), candidate); why != "" {
		t.stop(ctx, why)
		return 0, t.sync(ctx, have, nil, nil)
	}
	if st.Phase != lifecyclev1alpha1.ExperimentRunning {
		return t.start(ctx, p, mv, have)
	}
	return t.run(ctx, p, mv, have)
}

// deleteUndeclared deletes an Experiment its product created and no longer
// declares, as the product's spec now reads at the API server: the cache
// may hold the product from before it declared a new experiment.
func (t *turn) deleteUndeclared(ctx context.Context) error {
	p := &lifecyclev1alpha1.AIProduct{}
	if err := t.r.apiReader.Get(ctx, client.ObjectKey{Namespace: t.exp.Namespace, Name: string(t.exp.Spec.Product)}, p); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(t.exp, p) || slices.Contains(Declared(p, nil), t.exp.Name) {
		return nil
	}
	t.deleted = true
	err := t.r.Delete(ctx, t.exp, client.Preconditions{UID: &t.exp.UID}, client.PropagationPolicy(metav1.DeletePropagationBackground))
	return client.IgnoreNotFound(err)
}

// candidate reads the candidate ModelVersion; nil when there is none.
func (t *turn) candidate(ctx context.Context) (*lifecyclev1alpha1.ModelVersion, judging.Candidate, error) {
	mv := &lifecyclev1alpha1.ModelVersion{}
	err := t.r.Get(ctx, client.ObjectKey{Namespace: t.exp.Namespace, Name: string(t.spec().ModelVersion)}, mv)
	switch {
	case apierrors.IsNotFound(err):
		return nil, judging.Candidate{}, nil
	case err != nil:
		return nil, judging.Candidate{}, err
	}
	return mv, judging.Candidate{Found: true, Product: string(mv.Spec.Product)}, nil
}

// stop makes the experiment wait for why. A running one loses its run so
// far: what stops it (its product left the phase, gave the live traffic to
// another, began a rollout) also changes what it measured against.
func (t *turn) stop(ctx context.Context, why string) {
	st := &t.exp.Status
	if st.Phase == lifecyclev1alpha1.ExperimentRunning {
		t.tell(ctx, false, "ExperimentStopped", "Stop", fmt.Sprintf("Stopped experiment %s: %s; it runs again from the start once it can", t.spec().Name, why))
	}
	*st = lifecyclev1alpha1.ExperimentStatus{Phase: lifecyclev1alpha1.ExperimentWaiting, Message: why, Conditions: st.Conditions}
}

// restart sends a running experiment back to Pending, to start afresh
// with what its spec now says.
func (t *turn) restart(ctx context.Context, why string) {
	st := &t.exp.Status
	t.tell(ctx, false, "ExperimentRestarted", "Restart", fmt.Sprintf("Restarting experiment %s: %s", t.spec().Name, why))
	*st = lifecyclev1alpha1.ExperimentStatus{Phase: lifecyclev1alpha1.ExperimentPending, Message: "restarting: " + why, Conditions: st.Conditions}
}

// changedSinceStart says how the candidate or the type differs from what
// the running experiment was started with, as its Deployment records it;
// "" when neither does, or the Deployment is gone (it is rendered again).
func (t *turn) changedSinceStart(ctx context.Context, have owned) (string, error) {
	name := ObjectName(string(t.exp.Spec.Product), t.spec().Name)
	for _, d := range have.deployments {
		if d.Name != name || !metav1.IsControlledBy(d, t.exp) {
			continue
		}
		why := t.differs(d.Labels)
		if why == "" || t.r.apiReader == nil {
			return why, nil
		}
		// A restart throws the run so far away; the cache may not have
		// seen this controller's last apply yet, so ask the API server.
		fresh := &metav1.PartialObjectMetadata{}
		fresh.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("Deployment"))
		if err := t.r.apiReader.Get(ctx, client.ObjectKeyFromObject(d), fresh); err != nil {
			return "", client.IgnoreNotFound(err)
		}
		return t.differs(fresh.Labels), nil
	}
	return "", nil
}

func (t *turn) differs(labels map[string]string) string {
	e := t.spec()
	if v, ok := labels[lifecyclev1alpha1.LabelVersion]; ok && v != serving.Shorten(string(e.ModelVersion), 63) {
		return fmt.Sprintf("the candidate changed from %s to %s", v, e.ModelVersion)
	}
	if v, ok := labels[LabelExperimentType]; ok && v != string(e.Type) {
		return fmt.Sprintf("the type changed from %s to %s", v, e.Type)
	}
	return ""
}

func (t *turn) start(ctx context.Context, p *lifecyclev1alpha1.AIProduct, mv *lifecyclev1alpha1.ModelVersion, have owned) (time.Duration, error) {
	e := t.spec()
	d, svc := render(e, p, mv)
	// The status says Running only once the candidate's objects exist.
	if err := t.sync(ctx, have, d, svc); err != nil {
		return 0, err
	}
	st := &t.exp.Status
	*st = lifecyclev1alpha1.ExperimentStatus{
		Phase: lifecyclev1alpha1.ExperimentRunning, StartedAt: t.stamp.DeepCopy(),
		Traffic: judging.Traffic(p, e), Conditions: st.Conditions,
	}
	st.Message = runningMessage(st, e)
	t.tell(ctx, false, "ExperimentStarted", "Start", fmt.Sprintf("Started %s experiment %s of %s (traffic: %s)", e.Type, e.Name, e.ModelVersion, st.Traffic))
	_, _, next := judging.Due(st.StartedAt.Time, time.Time{}, e.Interval.Duration, e.Duration.Duration, t.now)
	return next, nil
}

// run keeps a running experiment's objects, measures it when due, and
// ends it with its verdict once its duration is over.
func (t *turn) run(ctx context.Context, p *lifecyclev1alpha1.AIProduct, mv *lifecyclev1alpha1.ModelVersion, have owned) (time.Duration, error) {
	e := t.spec()
	st := &t.exp.Status
	var last time.Time
	if st.LastEvaluated != nil {
		last = st.LastEvaluated.Time
	}
	measure, over, next := judging.Due(st.StartedAt.Time, last, e.Interval.Duration, e.Duration.Duration, t.now)
	if !over {
		// The product may have changed what it can give the candidate
		// (a route, a production version to mirror) or how it is served.
		st.Traffic = judging.Traffic(p, e)
		st.Message = runningMessage(st, e)
		d, svc := render(e, p, mv)
		if err := t.sync(ctx, have, d, svc); err != nil {
			return 0, err
		}
	}
	if !measure {
		return next, nil
	}
	cs, ctl := t.measure(ctx, p)
	if !over {
		return next, nil
	}
	verdict, msg := judging.Verdict(*e, st.Criteria, cs, ctl)
	st.Phase, st.Verdict, st.Message, st.FinishedAt = lifecyclev1alpha1.ExperimentFinished, verdict, msg, t.stamp.DeepCopy()
	ns, product := t.exp.Namespace, p.Name
	t.told = append(t.told, func() { metrics.ExperimentFinished(ns, product, verdict) })
	t.tell(ctx, verdict != lifecyclev1alpha1.VerdictSucceeded, "Experiment"+string(verdict), "Finish",
		fmt.Sprintf("Experiment %s %s: %s", e.Name, verdict, msg))
	// The verdict stands even if removing the objects fails: the Finished
	// branch removes them on the retry.
	return 0, t.sync(ctx, have, nil, nil)
}

// measure evaluates every criterion and counts both arms' samples; the
// control arm is the product's production version.
func (t *turn) measure(ctx context.Context, p *lifecyclev1alpha1.AIProduct) (candidate, control *float64) {
	e := t.spec()
	st := &t.exp.Status
	querier := t.r.Prometheus
	if querier == nil {
		querier, _ = prom.NewClient("", 0)
	}
	q := func(ctx context.Context, query lifecyclev1alpha1.PromQL, version string) (float64, error) {
		vars := map[string]string{"namespace": p.Namespace, "product": p.Name, "version": version}
		return querier.Query(ctx, prom.Expand(string(query), vars))
	}
	production := p.Status.ProductionVersion
	st.Criteria = judging.Evaluate(ctx, *e, string(e.ModelVersion), production, q)
	candidate = judging.Samples(ctx, *e, string(e.ModelVersion), q)
	if e.Type == lifecyclev1alpha1.ExperimentABTest {
		control = judging.Samples(ctx, *e, production, q)
	}
	st.CandidateSamples, st.ControlSamples = decimal(candidate), decimal(control)
	st.LastEvaluated = t.stamp.DeepCopy()
	return candidate, control
}

func decimal(f *float64) lifecyclev1alpha1.Decimal {
	if f == nil {
		return ""
	}
	return lifecyclev1alpha1.DecimalOf(*f)
}

func runningMessage(st *lifecyclev1alpha1.ExperimentStatus, e *lifecyclev1alpha1.DiscoveryExperiment) string {
	msg := fmt.Sprintf("running until %s", st.StartedAt.Add(e.Duration.Duration).UTC().Format(time.RFC3339))
	if e.Type == lifecyclev1alpha1.ExperimentShadow && st.Traffic == lifecyclev1alpha1.TrafficNone {
		msg += "; no live traffic: mirroring needs serving.httpRoute and a production version"
	}
	return msg
}

// setConditions states the phase in kstatus terms. Waiting and running are
// progress, not trouble: Ready False with a quiet reason, Reconciling True.
// Finished is Ready whatever the verdict: the experiment did its job, and
// the verdict is data for the product.
func (t *turn) setConditions(ctx context.Context, err error) {
	st := &t.exp.Status
	ready := metav1.Condition{Type: lifecyclev1alpha1.ConditionReady, Status: metav1.ConditionFalse, Message: st.Message}
	switch {
	case t.productMissing:
		ready.Reason = lifecyclev1alpha1.ReasonProductNotFound
	case st.Phase == lifecyclev1alpha1.ExperimentFinished:
		ready.Status, ready.Reason = metav1.ConditionTrue, lifecyclev1alpha1.ReasonExperimentFinished
		ready.Message = fmt.Sprintf("%s: %s", st.Verdict, st.Message)
	case st.Phase == lifecyclev1alpha1.ExperimentRunning:
		ready.Reason = lifecyclev1alpha1.ReasonExperimentRunning
	default:
		ready.Reason = lifecyclev1alpha1.ReasonExperimentWaiting
	}
	if err = outcome.Retriable(err); err != nil && !outcome.OnlyConflicts(err) {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, lifecyclev1alpha1.ReasonReconcileError, err.Error()
	}
	t.n.SetCondition(ctx, t.exp, &st.Conditions, ready)
	if ready.Status == metav1.ConditionTrue {
		notify.Clear(&st.Conditions, lifecyclev1alpha1.ConditionReconciling)
	} else {
		t.n.SetCondition(ctx, t.exp, &st.Conditions, metav1.Condition{
			Type: lifecyclev1alpha1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: ready.Reason, Message: ready.Message,
		})
	}
	notify.Clear(&st.Conditions, lifecyclev1alpha1.ConditionStalled)
}

// owned lists the Deployments and Services the Experiment controls.
func (t *turn) owned(ctx context.Context) (owned, error) {
	in := []client.ListOption{client.InNamespace(t.exp.Namespace), index.OwnedBy(lifecyclev1alpha1.KindExperiment, t.exp.Name)}
	var out owned
	var ds appsv1.DeploymentList
	if err := t.r.List(ctx, &ds, in...); err != nil {
		return out, err
	}
	for i := range ds.Items {
		out.deployments = append(out.deployments, &ds.Items[i])
	}
	var svcs corev1.ServiceList
	if err := t.r.List(ctx, &svcs, in...); err != nil {
		return out, err
	}
	for i := range svcs.Items {
		out.services = append(out.services, &svcs.Items[i])
	}
	return out, nil
}

// sync applies d and svc (either nil for none) as the Experiment's only
// Deployment and Service, deleting any other it controls.
func (t *turn) sync(ctx context.Context, have owned, d *appsv1.Deployment, svc *corev1.Service) error {
	var wantD []*appsv1.Deployment
	var wantS []*corev1.Service
	if d != nil {
		if err := t.own(d); err != nil {
			return err
		}
		wantD = append(wantD, d)
	}
	if svc != nil {
		if err := t.own(svc); err != nil {
			return err
		}
		wantS = append(wantS, svc)
	}
	// The Deployment first: a Service without pods behind it is the
	// lesser gap for whatever routes to it.
	if _, err := apply.Sync(ctx, t.r.Client, t.exp, wantD, have.deployments); err != nil {
		return err
	}
	_, err := apply.Sync(ctx, t.r.Client, t.exp, wantS, have.services)
	return err
}

// own makes the Experiment, not the product, the controller of obj: the
// Experiment decides when it exists, and it goes with the Experiment.
func (t *turn) own(obj client.Object) error {
	if err := controllerutil.SetControllerReference(t.exp, obj, t.r.Scheme()); err != nil {
		return err
	}
	return apply.Stamp(obj)
}

// SetupWithManager registers the controller and its indexes with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.apiReader = mgr.GetAPIReader()
	if r.Prometheus == nil {
		r.Prometheus, _ = prom.NewClient("", 0)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&lifecyclev1alpha1.Experiment{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A Deployment's status moves with every pod; only a change to
		// what was applied, or a deletion, is this controller's business.
		Owns(&appsv1.Deployment{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.Service{}).
		Watches(&lifecyclev1alpha1.AIProduct{}, handler.EnqueueRequestsFromMapFunc(r.experimentsOf(false)),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: productDecisionChanged})).
		Watches(&lifecyclev1alpha1.ModelVersion{}, handler.EnqueueRequestsFromMapFunc(r.experimentsOf(true)),
			// A version's identity is immutable: only its arrival or
			// departure changes whether an experiment can run.
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		Named("experiment").
		Complete(r)
}

// experimentsOf maps a product to the Experiments its spec declares or,
// with candidate, a ModelVersion to those of its product's that try it.
// Mapped from a product's old and new spec alike, an Experiment the new
// spec dropped is reconciled too, and deletes itself.
func (r *Reconciler) experimentsOf(candidate bool) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		p, ok := o.(*lifecyclev1alpha1.AIProduct)
		var keep func(e *lifecyclev1alpha1.DiscoveryExperiment) bool
		if mv, isVersion := o.(*lifecyclev1alpha1.ModelVersion); isVersion {
			p = &lifecyclev1alpha1.AIProduct{}
			if err := r.Get(ctx, client.ObjectKey{Namespace: mv.Namespace, Name: string(mv.Spec.Product)}, p); err != nil {
				// No product, no Experiment of its to wake; its
				// arrival maps to them.
				return nil
			}
			ok = true
			keep = func(e *lifecyclev1alpha1.DiscoveryExperiment) bool { return string(e.ModelVersion) == mv.Name }
		}
		if !ok {
			return nil
		}
		names := Declared(p, keep)
		out := make([]reconcile.Request, 0, len(names))
		for _, name := range names {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: p.Namespace, Name: name}})
		}
		return out
	}
}

// productDecisionChanged passes the product changes that can start or
// stop its experiments; the product's status changes on most of its
// reconciles for reasons no experiment cares about.
func productDecisionChanged(e event.UpdateEvent) bool {
	old, okOld := e.ObjectOld.(*lifecyclev1alpha1.AIProduct)
	cur, okNew := e.ObjectNew.(*lifecyclev1alpha1.AIProduct)
	if !okOld || !okNew {
		return true
	}
	return old.Generation != cur.Generation ||
		old.Status.Phase != cur.Status.Phase ||
		old.Status.LiveExperiment != cur.Status.LiveExperiment ||
		old.Status.ProductionVersion != cur.Status.ProductionVersion ||
		rolloutState(old.Status.Rollout) != rolloutState(cur.Status.Rollout)
}

func rolloutState(r *lifecyclev1alpha1.RolloutStatus) string {
	if r == nil {
		return ""
	}
	return string(r.Phase) + "/" + r.CanaryVersion
}
