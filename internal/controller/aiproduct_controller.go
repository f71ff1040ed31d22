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
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	experimentcontroller "github.com/aipm-io/aipm-operator/internal/controller/experiment"
	"github.com/aipm-io/aipm-operator/internal/index"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/notify"
	"github.com/aipm-io/aipm-operator/internal/outcome"
	"github.com/aipm-io/aipm-operator/internal/prom"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
	"github.com/aipm-io/aipm-operator/internal/traffic"
)

// defaultEvaluationInterval applies when an object predates the CRD default.
const defaultEvaluationInterval = time.Minute

// AIProductReconciler moves a product through its phases, measures its
// objectives and drift, serves and rolls out its versions, and starts its
// experiments and retraining runs. It writes the product's status and no
// other object's: what it decides about a version, an experiment or a run
// is recorded in the product's status or in the child object's spec, and
// each child's own reconciler writes the child's status.
type AIProductReconciler struct {
	client.Client
	// APIReader reads objects the operator does not cache: HTTPRoutes and
	// InferenceServices, whose CRDs may not be installed.
	APIReader  client.Reader
	Recorder   events.EventRecorder
	Prometheus prom.Querier
	Clock      clock.PassiveClock
	// RetrainingServiceAccounts are the ServiceAccounts a retraining Job's
	// pod may run as (--retraining-service-accounts); empty allows only
	// "default".
	RetrainingServiceAccounts []string
	// StatusWriter writes the status of products; nil writes through
	// Client.
	StatusWriter statuswrite.Writer

	objectivesDue dueTracker
	driftDue      dueTracker
	registryDue   dueTracker
	// fleet shares the results of fleet queries (matchLabels) among the
	// products that ask the same one.
	fleet *prom.Fleet
	// written holds, per product, the resourceVersion its last status write
	// replaced, until the cache has moved past it (see awaitCache).
	written sync.Map
	// pending holds the serving objects the operator created or deleted
	// until the cache shows it.
	pending pending
}

// cacheLag is how long a reconcile that finds the cache behind the
// operator's own last status write waits before trying again.
const cacheLag = 100 * time.Millisecond

// productScope is what one reconcile of a product works on: the product,
// read once, and its children as the cache holds them. Every step reads and
// changes it; the status is written once, after all steps ran.
type productScope struct {
	product *lifecyclev1alpha1.AIProduct
	// persisted is the status as read: what the API server holds.
	persisted *lifecyclev1alpha1.AIProductStatus
	// versions are the product's ModelVersions, by name.
	versions    map[string]*lifecyclev1alpha1.ModelVersion
	versionList []lifecyclev1alpha1.ModelVersion
	// experiments and runs are the children the product controls.
	experiments []lifecyclev1alpha1.Experiment
	runs        []lifecyclev1alpha1.RetrainingRun
	// now is the decision time, truncated to the second status records.
	now    metav1.Time
	notify notify.Notifier
	// delivery is what the delivery step found, for the summary.
	delivery delivery
	// refused is why the traffic router can never give the canary its
	// share, found while moving traffic: the rollout is aborted with it.
	refused *outcome.StallingError
	// retiring is the version traffic left at the end of a routed rollout,
	// kept running until the rollout's scaleDownAt.
	retiring *lifecyclev1alpha1.ModelVersion
}

// productStep is one part of a product's reconcile. It returns how soon it
// wants to run again (0: only on a change) and an error of its own, which
// stops neither the other steps nor the status write.
type productStep struct {
	name string
	run  func(ctx context.Context, s *productScope) (time.Duration, error)
}

// steps are the parts of a product's reconcile, in order: the experiments'
// verdicts open the Discovery gate in the same pass, the phase decides
// delivery, and serving's production version is what drift measures.
func (r *AIProductReconciler) steps() []productStep {
	return []productStep{
		{"objectives", r.reconcileObjectives},
		{"experiments", r.reconcileExperiments},
		{"phase", r.reconcilePhase},
		{"delivery", r.reconcileDelivery},
		{"drift", r.reconcileDrift},
		{"retraining", r.reconcileRetraining},
		{"registry", r.reconcileRegistry},
	}
}

// runSteps runs every step, whatever the others return, as Cluster API's
// doReconcile does: a failing experiment must not stop serving or drift.
func runSteps(ctx context.Context, s *productScope, steps []productStep) (time.Duration, error) {
	var requeue time.Duration
	var errs []error
	for _, st := range steps {
		wait, err := st.run(ctx, s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", st.name, err))
		}
		requeue = outcome.Earliest(requeue, wait)
	}
	return requeue, errors.Join(errs...)
}

// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=aiproducts,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=aiproducts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=modelversions,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile reads the product and its children, runs the steps, and writes
// status once, only when it changed.
func (r *AIProductReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	product := &lifecyclev1alpha1.AIProduct{}
	if err := r.Get(ctx, req.NamespacedName, product); err != nil {
		if apierrors.IsNotFound(err) {
			r.written.Delete(req.NamespacedName)
			r.objectivesDue.forget(req.NamespacedName)
			r.driftDue.forget(req.NamespacedName)
			r.registryDue.forget(req.NamespacedName)
			metrics.DeleteProduct(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !product.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	if r.awaitCache(req.NamespacedName, product) {
		return ctrl.Result{RequeueAfter: cacheLag}, nil
	}
	read := product.ResourceVersion

	s, err := r.newScope(ctx, product)
	if err != nil {
		return ctrl.Result{}, err
	}
	requeue, err := runSteps(ctx, s, r.steps())
	r.summarize(ctx, s, err)
	r.recordMetrics(s)
	if !equality.Semantic.DeepEqual(*s.persisted, product.Status) {
		// An update of the status subresource, under the resourceVersion
		// this reconcile read (moved on only by its own annotation
		// patches): a status decided from a stale cache is refused with a
		// Conflict and decided again from the newer object.
		switch werr := writeStatus(ctx, r.StatusWriter, r.Client, product); {
		case werr == nil:
			r.written.Store(req.NamespacedName, read)
		case apierrors.IsNotFound(werr):
		case apierrors.IsConflict(werr):
			metrics.StatusConflicts.Inc()
			err = errors.Join(err, werr)
		default:
			err = errors.Join(err, fmt.Errorf("writing status: %w", werr))
		}
	}
	return outcome.Result(err, untilDue(requeue, s.now.Time, r.Clock.Now()))
}

// awaitCache reports whether the cache still shows the product as it was
// before this operator's own last status write. A product's objects answer
// its writes within milliseconds and wake it again, often before the cache
// holds the write. Deciding from that copy would act on a stale status:
// re-apply the weights of a rollout step already passed to the Deployments
// (moving real pods back and forth until the status write is refused),
// and tell its Events again. The write is this operator's own, so waiting
// for the cache is exact; a status written by anyone else is not waited
// for (cachelag_test.go).
func (r *AIProductReconciler) awaitCache(key types.NamespacedName, p *lifecyclev1alpha1.AIProduct) bool {
	from, ok := r.written.Load(key)
	if !ok {
		return false
	}
	if from.(string) == p.ResourceVersion {
		return true
	}
	r.written.Delete(key)
	return false
}

// newScope reads the product's children from the cache.
func (r *AIProductReconciler) newScope(ctx context.Context, p *lifecyclev1alpha1.AIProduct) (*productScope, error) {
	s := &productScope{
		product:   p,
		persisted: p.Status.DeepCopy(),
		now:       metav1.NewTime(r.Clock.Now().Truncate(time.Second)),
		notify:    notify.Notifier{Recorder: r.Recorder},
	}
	// Versions and runs are read, never changed, so they are the cache's
	// own objects (shallow copies of them): a reconcile copied every
	// version and run of its product before, the largest share of what a
	// fleet's convergence allocates. foresee copies the few it annotates.
	var versions lifecyclev1alpha1.ModelVersionList
	if err := r.List(ctx, &versions, client.InNamespace(p.Namespace), client.MatchingFields{productIndex: p.Name},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing ModelVersions: %w", err)
	}
	s.versionList = versions.Items
	s.versions = make(map[string]*lifecyclev1alpha1.ModelVersion, len(versions.Items))
	for i := range versions.Items {
		s.versions[versions.Items[i].Name] = &versions.Items[i]
	}
	// The Experiments the spec declares, by name; one it no longer declares
	// is deleted by the Experiment's own controller.
	for _, name := range experimentcontroller.Declared(p, nil) {
		var e lifecyclev1alpha1.Experiment
		switch err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: name}, &e); {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("reading Experiment %s: %w", name, err)
		case metav1.IsControlledBy(&e, p):
			s.experiments = append(s.experiments, e)
		}
	}
	var runs lifecyclev1alpha1.RetrainingRunList
	if err := r.List(ctx, &runs, client.InNamespace(p.Namespace), ownedBy(p.Name), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing RetrainingRuns: %w", err)
	}
	for i := range runs.Items {
		if metav1.IsControlledBy(&runs.Items[i], p) {
			s.runs = append(s.runs, runs.Items[i])
		}
	}
	return s, nil
}

// untilDue turns a wait measured from now, the reconcile's truncated
// decision time, into one measured from clock, the time the reconcile
// returns: controller-runtime counts a RequeueAfter from then. Status
// records times to the second and every due time is computed from them;
// waiting from the truncated now would wake up to a second after a pause
// ends or a breach has lasted its for, and waiting from the return would
// add the reconcile's own duration, seconds when the API server is slow
// to take a status write.
func untilDue(wait time.Duration, now, clock time.Time) time.Duration {
	if wait <= 0 {
		return 0
	}
	return max(now.Add(wait).Sub(clock), time.Millisecond)
}

// recordMetrics sets the product's gauges from the status just computed and
// from its children as the cache holds them.
func (r *AIProductReconciler) recordMetrics(s *productScope) {
	p := s.product
	counts := map[lifecyclev1alpha1.Stage]int{}
	var promotedAt time.Time
	for _, mv := range s.versionList {
		counts[mv.Status.Stage]++
		if mv.Name == p.Status.ProductionVersion && mv.Status.StageTransitionTime != nil {
			promotedAt = mv.Status.StageTransitionTime.Time
		}
	}
	exps := make([]metrics.ExperimentState, 0, len(s.experiments))
	for _, e := range s.experiments {
		phase := string(e.Status.Phase)
		if e.Status.Phase == lifecyclev1alpha1.ExperimentFinished {
			phase = string(e.Status.Verdict)
		}
		exps = append(exps, metrics.ExperimentState{Name: e.Spec.Name, Phase: phase})
	}
	metrics.RecordProduct(p, counts, promotedAt, exps)
}

// summarize sets the kstatus conditions from what the steps found.
func (r *AIProductReconciler) summarize(ctx context.Context, s *productScope, err error) {
	p := s.product
	n := s.notify
	p.Status.ObservedGeneration = p.Generation
	conds := &p.Status.Conditions
	dl := s.delivery
	stall := outcome.Stalling(err)
	retry := outcome.Retriable(err)
	set := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		n.SetCondition(ctx, p, conds, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg})
	}
	// Only a person can open the gate that holds the product (owners,
	// objectives, an assessment, a mitigation, an experiment to declare or
	// rerun): Stalled, so that kstatus readers (Flux, the cli-utils
	// applier) fail at once instead of waiting for it. docs/argocd.md.
	heldByGate := p.Status.Phase != p.Spec.Phase && gateNeedsPerson(p)
	if stall == nil && !heldByGate && (!dl.stalled || retry != nil) {
		notify.Clear(conds, lifecyclev1alpha1.ConditionStalled)
	}
	switch {
	case outcome.OnlyConflicts(retry):
		// One of the operator's own writes met a newer object: it is
		// decided again in a moment, and nothing a person must hear of.
	case retry != nil:
		set(lifecyclev1alpha1.ConditionReady, metav1.ConditionFalse, lifecyclev1alpha1.ReasonReconcileError, retry.Error())
		set(lifecyclev1alpha1.ConditionReconciling, metav1.ConditionTrue, lifecyclev1alpha1.ReasonReconcileError, "retrying after an error")
	case stall != nil:
		notify.Clear(conds, lifecyclev1alpha1.ConditionReconciling)
		set(lifecyclev1alpha1.ConditionReady, metav1.ConditionFalse, stall.Reason, stall.Error())
		set(lifecyclev1alpha1.ConditionStalled, metav1.ConditionTrue, stall.Reason, stall.Error())
	case p.Status.Phase != p.Spec.Phase:
		msg := fmt.Sprintf("in %s, asked for %s", p.Status.Phase, p.Spec.Phase)
		if blocked := blockingGate(p); blocked != nil {
			msg += ": " + blocked.Message
		}
		set(lifecyclev1alpha1.ConditionReady, metav1.ConditionFalse, lifecyclev1alpha1.ReasonGateBlocked, msg)
		if heldByGate {
			notify.Clear(conds, lifecyclev1alpha1.ConditionReconciling)
			set(lifecyclev1alpha1.ConditionStalled, metav1.ConditionTrue, lifecyclev1alpha1.ReasonGateBlocked, msg)
		} else {
			set(lifecyclev1alpha1.ConditionReconciling, metav1.ConditionTrue, lifecyclev1alpha1.ReasonGateBlocked, msg)
		}
	case dl.active && dl.reason != "" && dl.awaitsPerson:
		// The rollout waits for a person by its own design (a pause
		// without a duration, an inconclusive analysis): the operator has
		// done all the spec asks, so Ready, with the wait as its reason,
		// and kstatus reads Current, as it reads a paused Argo Rollout.
		notify.Clear(conds, lifecyclev1alpha1.ConditionReconciling)
		set(lifecyclev1alpha1.ConditionReady, metav1.ConditionTrue, dl.reason, dl.message)
	case dl.active && dl.reason != "":
		set(lifecyclev1alpha1.ConditionReady, metav1.ConditionFalse, dl.reason, dl.message)
		if dl.stalled {
			notify.Clear(conds, lifecyclev1alpha1.ConditionReconciling)
			set(lifecyclev1alpha1.ConditionStalled, metav1.ConditionTrue, dl.reason, dl.message)
		} else {
			set(lifecyclev1alpha1.ConditionReconciling, metav1.ConditionTrue, dl.reason, dl.message)
		}
	default:
		notify.Clear(conds, lifecyclev1alpha1.ConditionReconciling)
		set(lifecyclev1alpha1.ConditionReady, metav1.ConditionTrue, lifecyclev1alpha1.ReasonReconciled,
			fmt.Sprintf("product is in phase %s", p.Status.Phase))
	}
}

// blockingGate returns the gate condition that holds the product back.
func blockingGate(p *lifecyclev1alpha1.AIProduct) *metav1.Condition {
	typ := lifecyclev1alpha1.ConditionStrategyGate
	if p.Status.Phase == lifecyclev1alpha1.PhaseDiscovery {
		typ = lifecyclev1alpha1.ConditionDiscoveryGate
	}
	for i := range p.Status.Conditions {
		c := &p.Status.Conditions[i]
		if c.Type == typ && c.Status != metav1.ConditionTrue {
			return c
		}
	}
	return nil
}

// gateNeedsPerson reports whether a gate holds the product that only a
// person can open: every closed gate but a Discovery gate waiting for
// experiments' verdicts, which the operator obtains by itself.
func gateNeedsPerson(p *lifecyclev1alpha1.AIProduct) bool {
	blocked := blockingGate(p)
	return blocked != nil && blocked.Reason != lifecyclev1alpha1.ReasonNoExperimentSucceeded &&
		blocked.Reason != lifecyclev1alpha1.ReasonObjectiveUnmeasured
}

// SetupWithManager sets up the controller with the Manager. Status writes do
// not trigger a reconcile (the generation does not move); annotation changes
// do, since manual requests arrive as annotations.
func (r *AIProductReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.Prometheus == nil {
		return errors.New("AIProductReconciler needs a Prometheus querier")
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	r.fleet = prom.NewFleet(r.Prometheus, r.Clock.Now)
	b := ctrl.NewControllerManagedBy(mgr).
		For(&lifecyclev1alpha1.AIProduct{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&lifecyclev1alpha1.Experiment{}, builder.WithPredicates(childStatusChanged)).
		Owns(&lifecyclev1alpha1.RetrainingRun{}, builder.WithPredicates(childStatusChanged)).
		Watches(&lifecyclev1alpha1.ModelVersion{}, handler.EnqueueRequestsFromMapFunc(productOfVersion)).
		Watches(&lifecyclev1alpha1.Approval{}, handler.EnqueueRequestsFromMapFunc(productOfApproval))
	// KServe is optional: where its CRD is installed when the operator
	// starts, a change of an InferenceService (KServe reporting it Ready,
	// its canary's progress) wakes the products that drive it. Only its
	// metadata is cached; the router reads it past the cache.
	if _, err := mgr.GetRESTMapper().RESTMapping(traffic.InferenceServiceGVK.GroupKind(), traffic.InferenceServiceGVK.Version); err == nil {
		isvc := &metav1.PartialObjectMetadata{}
		isvc.SetGroupVersionKind(traffic.InferenceServiceGVK)
		b = b.WatchesMetadata(isvc, handler.EnqueueRequestsFromMapFunc(r.productsOfInferenceService))
	} else if !meta.IsNoMatchError(err) {
		return fmt.Errorf("looking up KServe's InferenceService: %w", err)
	}
	return b.Named("aiproduct").Complete(r)
}

// productsOfInferenceService wakes the product whose canary an
// InferenceService is, and the products that drive it.
func (r *AIProductReconciler) productsOfInferenceService(ctx context.Context, o client.Object) []reconcile.Request {
	var out []reconcile.Request
	if ref := metav1.GetControllerOf(o); ref != nil && ref.APIVersion == lifecyclev1alpha1.GroupVersion.String() && ref.Kind == "AIProduct" {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: ref.Name}})
	}
	var products lifecyclev1alpha1.AIProductList
	if err := r.List(ctx, &products, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{index.InferenceService: o.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		return out
	}
	for i := range products.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&products.Items[i])})
	}
	return out
}

// childStatusChanged passes an Experiment's or a RetrainingRun's arrival,
// departure and change of phase: what the product reads of them.
var childStatusChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return childPhase(e.ObjectOld) != childPhase(e.ObjectNew)
	},
}

func childPhase(o client.Object) string {
	switch c := o.(type) {
	case *lifecyclev1alpha1.Experiment:
		return strings.Join([]string{string(c.Status.Phase), string(c.Status.Verdict), c.Status.Traffic}, "/")
	case *lifecyclev1alpha1.RetrainingRun:
		return string(c.Status.Phase) + "/" + c.Status.ModelVersion
	}
	return ""
}

// productOfVersion wakes a product when one of its versions appears or
// changes: a new Eligible version may start a rollout.
func productOfVersion(_ context.Context, o client.Object) []reconcile.Request {
	mv := o.(*lifecyclev1alpha1.ModelVersion)
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: mv.Namespace, Name: string(mv.Spec.Product)}}}
}
