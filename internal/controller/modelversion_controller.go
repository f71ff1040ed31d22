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

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	experimentcontroller "github.com/aipm-io/aipm-operator/internal/controller/experiment"
	"github.com/aipm-io/aipm-operator/internal/evaluate"
	"github.com/aipm-io/aipm-operator/internal/index"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/notify"
	"github.com/aipm-io/aipm-operator/internal/outcome"
	"github.com/aipm-io/aipm-operator/internal/promotion"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/rollout"
	"github.com/aipm-io/aipm-operator/internal/stage"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
)

// productIndex is what the reconcilers read ModelVersions through: by
// product, so that a change to a product reaches exactly its versions.
const productIndex = index.Product

// ModelVersionReconciler keeps the registry: each version's link to its
// product, its verdict against the product's promotion policy, and its
// stage, derived from what its product recorded. It is the only writer of
// ModelVersion status.
type ModelVersionReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Clock    clock.PassiveClock
	// Workers is how many versions are reconciled at once; 0 keeps the
	// manager's default.
	Workers int
	// StatusWriter writes the status of versions; nil writes through
	// Client.
	StatusWriter statuswrite.Writer
	// APIReader reads what the cache may not hold yet: an evaluation Job
	// just created, and its pods, which the operator does not watch.
	APIReader client.Reader
	// Policy is what an evaluation pod may do (the operator's flags), as
	// for a retraining pod.
	Policy retrain.Policy
}

// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=modelversions,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=modelversions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=aiproducts,verbs=get;list;watch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=experiments,verbs=get;list;watch
// An evaluation Job's controller reference blocks the version's deletion
// until the Job is gone, which clusters enforcing owner-reference
// permissions allow only to whoever may update the version's finalizers.
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=modelversions/finalizers,verbs=update
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list

// Reconcile labels the version with its product, judges it against the
// product's promotion policy, derives its stage from the product's record,
// and writes status once, only when it changed.
func (r *ModelVersionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	mv := &lifecyclev1alpha1.ModelVersion{}
	if err := r.Get(ctx, req.NamespacedName, mv); err != nil {
		if apierrors.IsNotFound(err) {
			metrics.DeleteVersion(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !mv.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	n := notify.Notifier{Recorder: r.Recorder}

	// The product label is metadata, not spec: it is what makes
	// `kubectl get mv -l lifecycle.aipm.io/product=NAME` work, and a GitOps
	// tool that does not set the label leaves it alone.
	if mv.Labels[lifecyclev1alpha1.LabelProduct] != string(mv.Spec.Product) {
		patch := client.MergeFrom(mv.DeepCopy())
		if mv.Labels == nil {
			mv.Labels = map[string]string{}
		}
		mv.Labels[lifecyclev1alpha1.LabelProduct] = string(mv.Spec.Product)
		if err := r.Patch(ctx, mv, patch, client.FieldOwner("aipm-operator/modelversion")); err != nil {
			return outcome.Result(fmt.Errorf("labelling with product: %w", err), 0)
		}
		// The label change comes back through the watch with a fresh copy.
		return ctrl.Result{}, nil
	}

	before := mv.Status.DeepCopy()
	err := r.decide(ctx, n, mv)
	if errors.Is(err, errProductUnseen) {
		return ctrl.Result{}, nil
	}
	mv.Status.ObservedGeneration = mv.Generation
	if err != nil && !outcome.OnlyConflicts(err) {
		n.SetCondition(ctx, mv, &mv.Status.Conditions, metav1.Condition{Type: lifecyclev1alpha1.ConditionReady,
			Status: metav1.ConditionFalse, Reason: lifecyclev1alpha1.ReasonReconcileError, Message: err.Error()})
	}
	if !equality.Semantic.DeepEqual(*before, mv.Status) {
		switch werr := writeStatus(ctx, r.StatusWriter, r.Client, mv); {
		case werr == nil:
			// Told once written: a write refused means a later reconcile
			// decides again and tells then.
			evaluationEnded(ctx, n, mv, before.Evaluation)
		case apierrors.IsNotFound(werr):
		case apierrors.IsConflict(werr):
			metrics.StatusConflicts.Inc()
			err = errors.Join(err, werr)
		default:
			err = errors.Join(err, fmt.Errorf("writing status: %w", werr))
		}
	}
	return outcome.Result(err, 0)
}

// decide sets the version's verdict, stage and kstatus conditions.
func (r *ModelVersionReconciler) decide(ctx context.Context, n notify.Notifier, mv *lifecyclev1alpha1.ModelVersion) error {
	now := metav1.NewTime(r.Clock.Now())
	// The product, its production version and its Experiments are only
	// read here, so they are the cache's objects, not copies: every version
	// of a fleet copied its whole product on each reconcile before.
	product := &lifecyclev1alpha1.AIProduct{}
	err := r.Get(ctx, client.ObjectKey{Namespace: mv.Namespace, Name: string(mv.Spec.Product)}, product, client.UnsafeDisableDeepCopy)
	if apierrors.IsNotFound(err) {
		if mv.Status.Stage == "" {
			setStage(mv, stage.Stage{Stage: lifecyclev1alpha1.StageCandidate, Reason: stage.ReasonRegistered}, now)
		}
		// Objects arrive in any order under GitOps; the product's arrival
		// triggers this version again through the watch below.
		msg := fmt.Sprintf("waiting for AIProduct %q in namespace %s", mv.Spec.Product, mv.Namespace)
		n.SetCondition(ctx, mv, &mv.Status.Conditions, metav1.Condition{Type: lifecyclev1alpha1.ConditionReady,
			Status: metav1.ConditionFalse, Reason: lifecyclev1alpha1.ReasonProductNotFound, Message: msg})
		n.SetCondition(ctx, mv, &mv.Status.Conditions, metav1.Condition{Type: lifecyclev1alpha1.ConditionReconciling,
			Status: metav1.ConditionTrue, Reason: lifecyclev1alpha1.ReasonProductNotFound, Message: msg})
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading AIProduct %s: %w", mv.Spec.Product, err)
	}
	if product.Status.ObservedGeneration == 0 {
		return errProductUnseen
	}
	if err := r.evaluate(ctx, n, mv, product, now); err != nil {
		return err
	}
	production, err := r.productionMetrics(ctx, mv, product)
	if err != nil {
		return err
	}
	var mine []lifecyclev1alpha1.Experiment
	for _, name := range experimentcontroller.Declared(product, nil) {
		var e lifecyclev1alpha1.Experiment
		switch err := r.Get(ctx, client.ObjectKey{Namespace: mv.Namespace, Name: name}, &e, client.UnsafeDisableDeepCopy); {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("reading Experiment %s: %w", name, err)
		case string(e.Spec.ModelVersion) == mv.Name && metav1.IsControlledBy(&e, product):
			mine = append(mine, e)
		}
	}
	had := stage.Stage{Stage: mv.Status.Stage, Reason: mv.Status.StageReason}
	setStage(mv, stage.Derive(mv.Name, had, stage.Record{Production: product.Status.ProductionVersion,
		Rollout: product.Status.Rollout, Experiments: mine}), now)
	judge(ctx, n, mv, product, production)
	// A rejected version is done for good: Stalled makes kstatus (Flux,
	// the cli-utils applier) read it Failed, as Argo CD reads it Degraded.
	if mv.Status.Stage == lifecyclev1alpha1.StageRejected {
		n.SetCondition(ctx, mv, &mv.Status.Conditions, metav1.Condition{Type: lifecyclev1alpha1.ConditionStalled,
			Status: metav1.ConditionTrue, Reason: lifecyclev1alpha1.ReasonRejected, Message: mv.Status.StageReason})
	} else {
		notify.Clear(&mv.Status.Conditions, lifecyclev1alpha1.ConditionStalled)
	}
	return nil
}

// errProductUnseen says the version's product exists but its reconciler has
// not recorded anything yet. The version then writes nothing: its stage
// follows the product's record, and the product's first write, which
// usually names the production version, wakes it again (productRecordChanged).
// Deciding before it costs every version whose product is still queued a
// second write, as when an operator starts on a fleet applied beforehand
// (docs/benchmarks.md).
var errProductUnseen = errors.New("product not reconciled yet")

// setStage records a stage, moving its transition time only when the
// stage itself changes.
func setStage(mv *lifecyclev1alpha1.ModelVersion, st stage.Stage, now metav1.Time) {
	if mv.Status.Stage != st.Stage {
		mv.Status.StageTransitionTime = &now
	}
	mv.Status.Stage, mv.Status.StageReason = st.Stage, st.Reason
}

// eligibility is a version's verdict against its product's promotion
// policy, as its Eligible condition says it. production holds the
// evaluation metrics of the product's production version, nil when there
// is none or it is mv. It is a pure function of the two specs and the
// production version, so the product's reconciler reaches the same
// verdict for a version whose own reconciler has not written it yet
// (foresee), without writing it.
func eligibility(mv *lifecyclev1alpha1.ModelVersion, product *lifecyclev1alpha1.AIProduct,
	production []lifecyclev1alpha1.EvaluationMetric) metav1.Condition {
	policy := promotionPolicy(product)
	eligible := metav1.Condition{Type: lifecyclev1alpha1.ConditionEligible, Status: metav1.ConditionTrue, Reason: lifecyclev1alpha1.ReasonPolicyMet,
		Message: "meets the promotion policy of product " + product.Name, ObservedGeneration: mv.Generation}
	candidate, reason, msg := judgedMetrics(mv, product)
	if reason != "" {
		eligible.Status, eligible.Reason, eligible.Message = metav1.ConditionFalse, reason, msg
		return eligible
	}
	evaluated := evaluationSpec(product) != nil
	if evaluated {
		eligible.Message += " on its independent evaluation; spec.metrics are self-reported and not judged"
	}
	verdict := promotion.Evaluate(policy, candidate, production)
	switch {
	case policy == nil:
		eligible.Reason, eligible.Message = lifecyclev1alpha1.ReasonNoPolicy, "product "+product.Name+" sets no promotion policy"
	case !verdict.Eligible:
		eligible.Status, eligible.Reason, eligible.Message = metav1.ConditionFalse, lifecyclev1alpha1.ReasonPolicyNotMet, strings.Join(verdict.Reasons, "; ")
		if evaluated {
			eligible.Message = "independent evaluation: " + eligible.Message
		}
	}
	return eligible
}

// judge records in mv's status its verdict against product's promotion
// policy: Eligible and why, and Ready.
func judge(ctx context.Context, n notify.Notifier, mv *lifecyclev1alpha1.ModelVersion, product *lifecyclev1alpha1.AIProduct,
	production []lifecyclev1alpha1.EvaluationMetric) {
	eligible := eligibility(mv, product, production)
	mv.Status.Eligible = eligible.Status == metav1.ConditionTrue
	if judged, reason, _ := judgedMetrics(mv, product); reason == "" {
		var spreads []metrics.SliceSpread
		for _, sp := range promotion.Spreads(promotionPolicy(product), judged) {
			spreads = append(spreads, metrics.SliceSpread{Metric: sp.Metric, By: sp.By, Gap: sp.Gap, Ratio: sp.Ratio})
		}
		metrics.RecordSlices(mv.Namespace, product.Name, mv.Name, spreads)
	}
	n.SetCondition(ctx, mv, &mv.Status.Conditions, eligible)
	notify.Clear(&mv.Status.Conditions, lifecyclev1alpha1.ConditionReconciling)
	// A version under evaluation is on its way to a verdict: kstatus
	// readers (kubectl wait, Flux) wait for it, as Argo CD does.
	if ev := mv.Status.Evaluation; ev != nil && ev.Phase == lifecyclev1alpha1.EvaluationRunning && evaluationSpec(product) != nil {
		n.SetCondition(ctx, mv, &mv.Status.Conditions, metav1.Condition{Type: lifecyclev1alpha1.ConditionReconciling,
			Status: metav1.ConditionTrue, Reason: lifecyclev1alpha1.ReasonEvaluationRunning, Message: "evaluating with Job " + ev.Job})
	}
	n.SetCondition(ctx, mv, &mv.Status.Conditions, metav1.Condition{Type: lifecyclev1alpha1.ConditionReady,
		Status: metav1.ConditionTrue, Reason: lifecyclev1alpha1.ReasonReconciled,
		// Not the stage: the product's rollout moves it, and a message that
		// followed it would cost a second write each time it moves.
		Message: fmt.Sprintf("evaluated against the policy of product %s, eligible: %t", product.Name, mv.Status.Eligible)})
}

// foresee gives each version of the scope not yet judged for its current
// spec the verdict its own reconciler will write, on the scope's copy
// only. The product then decides at once, as it would a moment later, and
// the version's reconciler writes the verdict together with the stage
// the decision gives it: one write, where waiting would cost the version
// two and the product one more (docs/benchmarks.md).
func foresee(s *productScope) {
	var production []lifecyclev1alpha1.EvaluationMetric
	if prod := s.versions[s.product.Status.ProductionVersion]; prod != nil {
		production, _, _ = judgedMetrics(prod, s.product)
	}
	for i := range s.versionList {
		mv := &s.versionList[i]
		if rollout.Judged(mv) {
			continue
		}
		metrics := production
		if mv.Name == s.product.Status.ProductionVersion {
			metrics = nil
		}
		// The scope holds the cache's objects: copy before annotating.
		*mv = *mv.DeepCopy()
		eligible := eligibility(mv, s.product, metrics)
		mv.Status.Eligible = eligible.Status == metav1.ConditionTrue
		meta.SetStatusCondition(&mv.Status.Conditions, eligible)
	}
}

// productionMetrics returns the evaluation metrics of the product's
// production version, or nil when there is none or this is it: a version
// does not have to beat itself.
func (r *ModelVersionReconciler) productionMetrics(ctx context.Context, mv *lifecyclev1alpha1.ModelVersion,
	product *lifecyclev1alpha1.AIProduct) ([]lifecyclev1alpha1.EvaluationMetric, error) {
	name := product.Status.ProductionVersion
	if name == "" || name == mv.Name {
		return nil, nil
	}
	prod := &lifecyclev1alpha1.ModelVersion{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: mv.Namespace, Name: name}, prod, client.UnsafeDisableDeepCopy); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading production version %s: %w", name, err)
	}
	// A production version whose evaluation never succeeded has nothing
	// comparable to beat: mustBeatProduction then compares with nothing.
	judged, _, _ := judgedMetrics(prod, product)
	return judged, nil
}

func promotionPolicy(p *lifecyclev1alpha1.AIProduct) *lifecyclev1alpha1.PromotionSpec {
	if p.Spec.Delivery == nil {
		return nil
	}
	return p.Spec.Delivery.Promotion
}

func evaluationSpec(p *lifecyclev1alpha1.AIProduct) *lifecyclev1alpha1.EvaluationSpec {
	if p.Spec.Delivery == nil {
		return nil
	}
	return p.Spec.Delivery.Evaluation
}

// judgedMetrics is what the product's promotion policy judges of mv: its
// independently evaluated metrics when the product evaluates versions,
// the ones its trainer reported otherwise. reason and message say why
// there are none to judge yet.
func judgedMetrics(mv *lifecyclev1alpha1.ModelVersion, p *lifecyclev1alpha1.AIProduct) (ms []lifecyclev1alpha1.EvaluationMetric, reason, message string) {
	if evaluationSpec(p) == nil {
		return mv.Spec.Metrics, "", ""
	}
	return evaluate.Judged(mv)
}

// SetupIndexes registers the cache indexes every controller of the
// operator uses. Call it once per manager, before setting up the
// controllers.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	return index.Setup(ctx, mgr.GetFieldIndexer())
}

// SetupWithManager sets up the controller with the Manager.
func (r *ModelVersionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&lifecyclev1alpha1.ModelVersion{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Watches(&lifecyclev1alpha1.AIProduct{}, handler.EnqueueRequestsFromMapFunc(r.versionsOfProduct),
			builder.WithPredicates(productRecordChanged)).
		Watches(&lifecyclev1alpha1.Experiment{}, handler.EnqueueRequestsFromMapFunc(candidateOf),
			builder.WithPredicates(childStatusChanged)).
		Owns(&batchv1.Job{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Workers}).
		Named("modelversion").
		Complete(r)
}

// productRecordChanged passes the product changes a version's status
// depends on: the product's arrival and departure, its spec (the promotion
// policy), its first reconcile, and its record of versions (production and the rollout's
// canary, phase and end). The product's other status writes would each
// wake all its versions to decide nothing new.
var productRecordChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		before, ok1 := e.ObjectOld.(*lifecyclev1alpha1.AIProduct)
		after, ok2 := e.ObjectNew.(*lifecyclev1alpha1.AIProduct)
		if !ok1 || !ok2 {
			return true
		}
		return before.Generation != after.Generation ||
			(before.Status.ObservedGeneration == 0) != (after.Status.ObservedGeneration == 0) ||
			before.Status.ProductionVersion != after.Status.ProductionVersion ||
			rolloutRecord(before.Status.Rollout) != rolloutRecord(after.Status.Rollout)
	},
}

func rolloutRecord(ro *lifecyclev1alpha1.RolloutStatus) string {
	if ro == nil {
		return ""
	}
	return ro.CanaryVersion + "/" + string(ro.Phase) + "/" + ro.Reason
}

func (r *ModelVersionReconciler) versionsOfProduct(ctx context.Context, o client.Object) []reconcile.Request {
	var list lifecyclev1alpha1.ModelVersionList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{productIndex: o.GetName()}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

// candidateOf wakes the version an Experiment tries.
func candidateOf(_ context.Context, o client.Object) []reconcile.Request {
	e := o.(*lifecyclev1alpha1.Experiment)
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: e.Namespace, Name: string(e.Spec.ModelVersion)}}}
}
