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
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/gates"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/objectives"
	"github.com/aipm-io/aipm-operator/internal/prom"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
)

// defaultEvaluationInterval applies when an object predates the CRD default.
const defaultEvaluationInterval = time.Minute

// maxPhaseHistory bounds status.phaseHistory.
const maxPhaseHistory = 20

// AIProductReconciler moves a product through its phases and measures its
// objectives.
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
	// StatusWriter writes the status of products and versions; nil writes
	// through Client. The operator gives both reconcilers one
	// statuswrite.Lean, so that each kind's status writes draw on one
	// token bucket.
	StatusWriter statuswrite.Writer

	objectivesDue dueTracker
	driftDue      dueTracker
	// fleet shares the results of fleet queries (matchLabels) among the
	// products that ask the same one.
	fleet *prom.Fleet
	// written holds, per product, the resourceVersion its last status write
	// replaced, until the cache has moved past it.
	written sync.Map
}

// cacheLag is how long a reconcile that finds the cache behind the
// operator's own last status write waits before trying again.
const cacheLag = 100 * time.Millisecond

// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=aiproducts,verbs=get;list;watch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=aiproducts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile reads the product, decides its phase and objectives, and writes
// status once, only when it changed.
func (r *AIProductReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	product := &lifecyclev1alpha1.AIProduct{}
	if err := r.Get(ctx, req.NamespacedName, product); err != nil {
		if apierrors.IsNotFound(err) {
			r.written.Delete(req.NamespacedName)
			r.objectivesDue.forget(req.NamespacedName)
			r.driftDue.forget(req.NamespacedName)
			metrics.DeleteProduct(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !product.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	// A product's objects and versions answer its writes within a few
	// milliseconds and wake it again, often before the cache holds its own
	// status write. Deciding from that copy would redo the decisions the
	// write recorded, tell them again, and end in a refused write: at 32
	// workers, 600 conflicts for 1,000 products (docs/benchmarks.md).
	if from, ok := r.written.Load(req.NamespacedName); ok {
		if from.(string) == product.ResourceVersion {
			return ctrl.Result{RequeueAfter: cacheLag}, nil
		}
		r.written.Delete(req.NamespacedName)
	}
	read := product.ResourceVersion
	n := notifier{recorder: r.Recorder}
	// The status alone: the update sends the whole object, so nothing
	// else needs keeping to compare.
	before := product.Status.DeepCopy()
	defer func() {
		r.recordMetrics(ctx, product)
		if equality.Semantic.DeepEqual(*before, product.Status) {
			return
		}
		// An update of the status subresource, under the resourceVersion
		// this reconcile read (moved on only by its own annotation
		// patches): a status decided from a stale cache, or raced by
		// another writer, is refused with a Conflict and decided again
		// from the newer object, after the rate limiter's backoff, instead
		// of overwriting what it never saw. An update, not a patch: the
		// API server would otherwise encode the stored product and merge
		// the patch into it, and the operator diff the two statuses, for
		// the same outcome (docs/benchmarks.md).
		err := writeStatus(ctx, r.StatusWriter, r.Client, product)
		if err != nil && !apierrors.IsNotFound(err) {
			// The error requeues with backoff; a wait set beside it would
			// be ignored, and controller-runtime warns of both.
			result = ctrl.Result{}
		}
		switch {
		case err == nil:
			r.written.Store(req.NamespacedName, read)
		case apierrors.IsNotFound(err):
			// A product deleted while it was reconciled has no status to write.
		case apierrors.IsConflict(err):
			metrics.StatusConflicts.Inc()
			retErr = errors.Join(retErr, fmt.Errorf("status changed since it was read; deciding again: %w", err))
		default:
			retErr = errors.Join(retErr, fmt.Errorf("writing status: %w", err))
		}
	}()

	clockNow := r.Clock.Now()
	now := metav1.NewTime(clockNow.Truncate(time.Second))
	var dl delivery
	defer func() { r.summarize(ctx, n, product, dl, retErr) }()

	requeue := r.reconcileObjectives(ctx, n, product, now)
	r.reconcilePhase(ctx, n, product, now)
	expNext, err := r.reconcileExperiments(ctx, n, product, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	// An experiment's verdict may open the Discovery gate at once.
	r.reconcilePhase(ctx, n, product, now)
	next, dl, err := r.reconcileDelivery(ctx, n, product, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	driftNext := r.reconcileDrift(ctx, n, product, now)
	retrainNext, err := r.reconcileRetraining(ctx, n, product, before.Drift, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: fromClock(earliest(requeue, expNext, next, driftNext, retrainNext), clockNow.Sub(now.Time))}, nil
}

// fromClock turns a wait measured from the truncated now into one measured
// from the clock. Status records times to the second and every due time is
// computed from them; waiting from the truncated now would wake up to a
// second after a pause ends or a breach has lasted its for.
func fromClock(wait, truncated time.Duration) time.Duration {
	if wait <= 0 {
		return 0
	}
	return max(wait-truncated, time.Millisecond)
}

// recordMetrics sets the product's gauges from the status just computed and
// from the stages of its versions, read from the cache.
func (r *AIProductReconciler) recordMetrics(ctx context.Context, p *lifecyclev1alpha1.AIProduct) {
	// Read only, so the cache's own copies, not a deep copy of each version
	// on every reconcile to count their stages.
	var versions lifecyclev1alpha1.ModelVersionList
	if err := r.List(ctx, &versions, client.InNamespace(p.Namespace), client.MatchingFields{productIndex: p.Name},
		client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	counts := map[lifecyclev1alpha1.Stage]int{}
	var promotedAt time.Time
	for _, mv := range versions.Items {
		counts[mv.Status.Stage]++
		if mv.Name == p.Status.ProductionVersion && mv.Status.StageTransitionTime != nil {
			promotedAt = mv.Status.StageTransitionTime.Time
		}
	}
	metrics.RecordProduct(p, counts, promotedAt)
}

// earliest returns the soonest positive duration, or zero if none is.
func earliest(ds ...time.Duration) time.Duration {
	var out time.Duration
	for _, d := range ds {
		if d > 0 && (out == 0 || d < out) {
			out = d
		}
	}
	return out
}

// reconcileObjectives queries the objectives when they are due and returns
// how long until they are due again.
func (r *AIProductReconciler) reconcileObjectives(ctx context.Context, n notifier, p *lifecyclev1alpha1.AIProduct, now metav1.Time) time.Duration {
	st := p.Spec.Strategy
	if st == nil || len(st.Objectives) == 0 {
		p.Status.Objectives = nil
		clearCondition(&p.Status.Conditions, ConditionObjectivesMet)
		return 0
	}
	interval := defaultEvaluationInterval
	if st.EvaluationInterval != nil && st.EvaluationInterval.Duration > 0 {
		interval = st.EvaluationInterval.Duration
	}
	key := client.ObjectKeyFromObject(p)
	if due, wait := r.objectivesDue.due(key, p.Generation, now.Time); !due {
		return wait
	}
	vars := map[string]string{"namespace": p.Namespace, "product": p.Name}
	measure := func(o lifecyclev1alpha1.Objective) (float64, error) {
		return r.measure(ctx, o.Query, o.MatchLabels, vars, interval)
	}
	p.Status.Objectives = objectives.Evaluate(measure, st.Objectives, p.Status.Objectives, now)
	status, reason, msg := objectives.Summary(p.Status.Objectives)
	n.setCondition(ctx, p, &p.Status.Conditions, metav1.Condition{
		Type: ConditionObjectivesMet, Status: status, Reason: reason, Message: msg,
	})
	r.objectivesDue.set(key, p.Generation, now.Add(interval))
	return interval
}

// measure runs one of the product's periodic queries: alone, or, with
// match, as a fleet query whose result serves every product asking the
// same for half of each one's interval. Half keeps a product's reading
// within its own interval of the data while a fleet on one interval sends
// a query about twice an interval, not once per product.
func (r *AIProductReconciler) measure(ctx context.Context, query lifecyclev1alpha1.PromQL, match lifecyclev1alpha1.SeriesMatch,
	vars map[string]string, interval time.Duration) (float64, error) {
	q := prom.Expand(string(query), vars)
	if len(match) == 0 {
		return r.Prometheus.Query(ctx, q)
	}
	return r.fleet.Select(ctx, q, prom.ExpandLabels(match, vars), interval/2)
}

// reconcilePhase evaluates both gates and moves status.phase toward
// spec.phase, one phase per step, recording each move.
func (r *AIProductReconciler) reconcilePhase(ctx context.Context, n notifier, p *lifecyclev1alpha1.AIProduct, now metav1.Time) {
	results := map[lifecyclev1alpha1.ProductPhase]gates.Result{
		lifecyclev1alpha1.PhaseStrategy:  gates.EvaluateStrategy(&p.Spec),
		lifecyclev1alpha1.PhaseDiscovery: gates.EvaluateDiscovery(&p.Spec, p.Status.Experiments),
	}
	p.Status.Gates = p.Status.Gates[:0]
	for _, phase := range []lifecyclev1alpha1.ProductPhase{lifecyclev1alpha1.PhaseStrategy, lifecyclev1alpha1.PhaseDiscovery} {
		g := results[phase]
		gs := lifecyclev1alpha1.GateStatus{Name: g.Name, Passed: g.Passed()}
		for _, b := range g.Blockers {
			gs.Blockers = append(gs.Blockers, b.Message)
		}
		p.Status.Gates = append(p.Status.Gates, gs)
		n.setCondition(ctx, p, &p.Status.Conditions, gateCondition(g))
	}

	// The moves of one reconcile make one Event: a product applied straight
	// into Delivery would otherwise cost three writes for one decision.
	var moves []string
	defer func() {
		if len(moves) > 0 {
			n.event(ctx, p, false, "PhaseChanged", "MovePhase", strings.Join(moves, "; "))
		}
	}()
	// Three forward steps at most take any phase to any other; the bound
	// guards against a decision function that never settles.
	for range 4 {
		move := gates.NextPhase(p.Status.Phase, p.Spec.Phase, func(ph lifecyclev1alpha1.ProductPhase) gates.Result {
			return results[ph]
		})
		if move.To == "" {
			return
		}
		from := p.Status.Phase
		p.Status.Phase = move.To
		p.Status.PhaseHistory = append(p.Status.PhaseHistory, lifecyclev1alpha1.PhaseTransition{
			From: from, To: move.To, Time: now, Reason: move.Reason,
		})
		if extra := len(p.Status.PhaseHistory) - maxPhaseHistory; extra > 0 {
			p.Status.PhaseHistory = p.Status.PhaseHistory[extra:]
		}
		msg := fmt.Sprintf("Entered phase %s", move.To)
		if from != "" {
			msg = fmt.Sprintf("Moved from %s to %s (%s)", from, move.To, move.Reason)
		}
		moves = append(moves, msg)
	}
}

func gateCondition(g gates.Result) metav1.Condition {
	typ := ConditionStrategyGate
	if g.Name == gates.Discovery {
		typ = ConditionDiscoveryGate
	}
	if g.Passed() {
		return metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: "GatePassed",
			Message: fmt.Sprintf("every requirement of the %s gate holds", g.Name)}
	}
	msgs := make([]string, 0, len(g.Blockers))
	for _, b := range g.Blockers {
		msgs = append(msgs, b.Message)
	}
	return metav1.Condition{Type: typ, Status: metav1.ConditionFalse, Reason: g.Blockers[0].Reason,
		Message: strings.Join(msgs, "; ")}
}

// summarize sets the kstatus conditions from what the reconcile found.
func (r *AIProductReconciler) summarize(ctx context.Context, n notifier, p *lifecyclev1alpha1.AIProduct, dl delivery, err error) {
	p.Status.ObservedGeneration = p.Generation
	conds := &p.Status.Conditions
	if !dl.stalled || err != nil {
		clearCondition(conds, lifecyclev1alpha1.ConditionStalled)
	}
	switch {
	case err != nil:
		n.setCondition(ctx, p, conds, metav1.Condition{Type: lifecyclev1alpha1.ConditionReady,
			Status: metav1.ConditionFalse, Reason: "ReconcileError", Message: err.Error()})
		n.setCondition(ctx, p, conds, metav1.Condition{Type: lifecyclev1alpha1.ConditionReconciling,
			Status: metav1.ConditionTrue, Reason: "ReconcileError", Message: "retrying after an error"})
	case p.Status.Phase != p.Spec.Phase:
		blocked := blockingGate(p)
		msg := fmt.Sprintf("in %s, asked for %s", p.Status.Phase, p.Spec.Phase)
		if blocked != nil {
			msg = fmt.Sprintf("in %s, asked for %s: %s", p.Status.Phase, p.Spec.Phase, blocked.Message)
		}
		n.setCondition(ctx, p, conds, metav1.Condition{Type: lifecyclev1alpha1.ConditionReady,
			Status: metav1.ConditionFalse, Reason: "GateBlocked", Message: msg})
		n.setCondition(ctx, p, conds, metav1.Condition{Type: lifecyclev1alpha1.ConditionReconciling,
			Status: metav1.ConditionTrue, Reason: "GateBlocked", Message: msg})
	case dl.active && dl.reason != "":
		n.setCondition(ctx, p, conds, metav1.Condition{Type: lifecyclev1alpha1.ConditionReady,
			Status: metav1.ConditionFalse, Reason: dl.reason, Message: dl.message})
		if dl.stalled {
			clearCondition(conds, lifecyclev1alpha1.ConditionReconciling)
			n.setCondition(ctx, p, conds, metav1.Condition{Type: lifecyclev1alpha1.ConditionStalled,
				Status: metav1.ConditionTrue, Reason: dl.reason, Message: dl.message})
		} else {
			n.setCondition(ctx, p, conds, metav1.Condition{Type: lifecyclev1alpha1.ConditionReconciling,
				Status: metav1.ConditionTrue, Reason: dl.reason, Message: dl.message})
		}
	default:
		clearCondition(conds, lifecyclev1alpha1.ConditionReconciling)
		n.setCondition(ctx, p, conds, metav1.Condition{Type: lifecyclev1alpha1.ConditionReady,
			Status: metav1.ConditionTrue, Reason: lifecyclev1alpha1.ReasonReconciled,
			Message: fmt.Sprintf("product is in phase %s", p.Status.Phase)})
	}
}

// blockingGate returns the gate condition that holds the product back.
func blockingGate(p *lifecyclev1alpha1.AIProduct) *metav1.Condition {
	typ := ConditionStrategyGate
	if p.Status.Phase == lifecyclev1alpha1.PhaseDiscovery {
		typ = ConditionDiscoveryGate
	}
	for i := range p.Status.Conditions {
		c := &p.Status.Conditions[i]
		if c.Type == typ && c.Status != metav1.ConditionTrue {
			return c
		}
	}
	return nil
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
	return ctrl.NewControllerManagedBy(mgr).
		For(&lifecyclev1alpha1.AIProduct{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&appsv1.Deployment{}).
		Owns(&batchv1.Job{}).
		Owns(&corev1.Service{}).
		Watches(&lifecyclev1alpha1.ModelVersion{}, handler.EnqueueRequestsFromMapFunc(productOfVersion)).
		Named("aiproduct").
		Complete(r)
}

// productOfVersion wakes a product when one of its versions appears or
// changes: a new Eligible version may start a rollout.
func productOfVersion(_ context.Context, o client.Object) []reconcile.Request {
	mv := o.(*lifecyclev1alpha1.ModelVersion)
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: mv.Namespace, Name: string(mv.Spec.Product)}}}
}
