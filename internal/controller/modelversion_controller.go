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

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/promotion"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
)

// productIndex indexes ModelVersions by spec.product, so that a change to a
// product reaches exactly its versions.
const productIndex = "spec.product"

// ModelVersionReconciler keeps the registry: each version's link to its
// product, its first stage, and whether it meets the promotion policy.
type ModelVersionReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Clock    clock.PassiveClock
	// Workers is how many versions are reconciled at once; 0 keeps the
	// manager's default.
	Workers int
	// StatusWriter writes the status of versions; nil writes through
	// Client. The operator gives it the AIProductReconciler's.
	StatusWriter statuswrite.Writer
}

// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=modelversions,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=modelversions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=aiproducts,verbs=get;list;watch

// Reconcile labels the version with its product, evaluates it against the
// product's promotion policy and writes status once, only when it changed.
// The stage moves from Candidate only by the product's rollout; this
// reconciler only gives a new version its first stage.
func (r *ModelVersionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	mv := &lifecyclev1alpha1.ModelVersion{}
	if err := r.Get(ctx, req.NamespacedName, mv); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !mv.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	n := notifier{recorder: r.Recorder}

	// The product label is metadata, not spec: it is what makes
	// `kubectl get mv -l lifecycle.aipm.io/product=NAME` work, and a GitOps
	// tool that does not set the label leaves it alone.
	if mv.Labels[lifecyclev1alpha1.LabelProduct] != string(mv.Spec.Product) {
		patch := client.MergeFrom(mv.DeepCopy())
		if mv.Labels == nil {
			mv.Labels = map[string]string{}
		}
		mv.Labels[lifecyclev1alpha1.LabelProduct] = string(mv.Spec.Product)
		if err := r.Patch(ctx, mv, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("labelling with product: %w", err)
		}
		// The label change comes back through the watch with a fresh copy;
		// acting on this one as well would race it and register twice.
		return ctrl.Result{}, nil
	}

	product := &lifecyclev1alpha1.AIProduct{}
	productErr := r.Get(ctx, client.ObjectKey{Namespace: mv.Namespace, Name: string(mv.Spec.Product)}, product)
	// The product judges the version it serves itself, in the write that
	// gives the version its stage. Until the product has reconciled its
	// current generation a verdict here would race that write, and the
	// version would be written twice; the product's status write wakes
	// this version again (judgedBy). At a fleet's start this also leaves
	// the products, which wait on their writes, ahead of the verdicts of
	// versions no product serves yet.
	if productErr == nil && product.Status.ObservedGeneration != product.Generation {
		return ctrl.Result{}, nil
	}

	before := mv.Status.DeepCopy()
	defer func() {
		mv.Status.ObservedGeneration = mv.Generation
		if retErr != nil {
			n.setCondition(ctx, mv, &mv.Status.Conditions, metav1.Condition{Type: lifecyclev1alpha1.ConditionReady,
				Status: metav1.ConditionFalse, Reason: "ReconcileError", Message: retErr.Error()})
		}
		if equality.Semantic.DeepEqual(*before, mv.Status) {
			return
		}
		// Under the resourceVersion read, like the product's: the product
		// reconciler writes a version's stage, and a verdict decided from
		// the copy before that write would put the stage back.
		err := writeStatus(ctx, r.StatusWriter, r.Client, mv)
		switch {
		case err == nil, apierrors.IsNotFound(err):
		case apierrors.IsConflict(err):
			metrics.StatusConflicts.Inc()
			retErr = errors.Join(retErr, fmt.Errorf("status changed since it was read; deciding again: %w", err))
		default:
			retErr = errors.Join(retErr, fmt.Errorf("writing status: %w", err))
		}
	}()

	if mv.Status.Stage == "" {
		register(mv, metav1.NewTime(r.Clock.Now()))
	}
	if apierrors.IsNotFound(productErr) {
		// Objects arrive in any order under GitOps; the product's arrival
		// triggers this version again through the watch below.
		msg := fmt.Sprintf("waiting for AIProduct %q in namespace %s", mv.Spec.Product, mv.Namespace)
		n.setCondition(ctx, mv, &mv.Status.Conditions, metav1.Condition{Type: lifecyclev1alpha1.ConditionReady,
			Status: metav1.ConditionFalse, Reason: "ProductNotFound", Message: msg})
		n.setCondition(ctx, mv, &mv.Status.Conditions, metav1.Condition{Type: lifecyclev1alpha1.ConditionReconciling,
			Status: metav1.ConditionTrue, Reason: "ProductNotFound", Message: msg})
		return ctrl.Result{}, nil
	}
	if productErr != nil {
		return ctrl.Result{}, fmt.Errorf("reading AIProduct %s: %w", mv.Spec.Product, productErr)
	}

	production, err := r.productionMetrics(ctx, mv, product)
	if err != nil {
		return ctrl.Result{}, err
	}
	judge(ctx, n, mv, product, production, metav1.NewTime(r.Clock.Now()))
	return ctrl.Result{}, nil
}

// register gives a new version its first stage. No Event: the version's
// creator (a person's apply, or a retraining run, which has its own)
// already knows, and at a fleet's scale one Event per version was a third
// of the operator's writes.
func register(mv *lifecyclev1alpha1.ModelVersion, now metav1.Time) {
	mv.Status.Stage = lifecyclev1alpha1.StageCandidate
	mv.Status.StageReason = "Registered"
	mv.Status.StageTransitionTime = &now
}

// judge records in mv's status its verdict against product's promotion
// policy: its first stage, Eligible and why, and Ready. production holds
// the evaluation metrics of the product's production version, nil when
// there is none or it is mv. Both reconcilers judge by it: the version's
// own, and the product's when it reaches a version not yet judged, so that
// the product need not wait for the verdict's write and the stage it then
// gives the version goes in the same write as the verdict.
func judge(ctx context.Context, n notifier, mv *lifecyclev1alpha1.ModelVersion, product *lifecyclev1alpha1.AIProduct,
	production []lifecyclev1alpha1.EvaluationMetric, now metav1.Time) {
	if mv.Status.Stage == "" {
		register(mv, now)
	}
	var policy *lifecyclev1alpha1.PromotionSpec
	if product.Spec.Delivery != nil {
		policy = product.Spec.Delivery.Promotion
	}
	verdict := promotion.Evaluate(policy, mv.Spec.Metrics, production)
	mv.Status.Eligible = verdict.Eligible
	eligible := metav1.Condition{Type: ConditionEligible, Status: metav1.ConditionTrue, Reason: "PolicyMet",
		Message: "meets the promotion policy of product " + product.Name}
	switch {
	case policy == nil:
		eligible.Reason, eligible.Message = "NoPolicy", "product "+product.Name+" sets no promotion policy"
	case !verdict.Eligible:
		eligible.Status, eligible.Reason, eligible.Message = metav1.ConditionFalse, "PolicyNotMet", strings.Join(verdict.Reasons, "; ")
	}
	n.setCondition(ctx, mv, &mv.Status.Conditions, eligible)
	clearCondition(&mv.Status.Conditions, lifecyclev1alpha1.ConditionReconciling)
	n.setCondition(ctx, mv, &mv.Status.Conditions, metav1.Condition{Type: lifecyclev1alpha1.ConditionReady,
		Status: metav1.ConditionTrue, Reason: lifecyclev1alpha1.ReasonReconciled,
		// Not the stage: the product's rollout moves it, and a message that
		// followed it would cost a second write each time it moves.
		Message: fmt.Sprintf("evaluated against the policy of product %s, eligible: %t", product.Name, verdict.Eligible)})
	mv.Status.ObservedGeneration = mv.Generation
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
	if err := r.Get(ctx, client.ObjectKey{Namespace: mv.Namespace, Name: name}, prod); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading production version %s: %w", name, err)
	}
	return prod.Spec.Metrics, nil
}

// SetupIndexes registers the cache indexes both reconcilers use. Call it
// once per manager, before setting up the reconcilers.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &lifecyclev1alpha1.ModelVersion{}, productIndex,
		func(o client.Object) []string {
			return []string{string(o.(*lifecyclev1alpha1.ModelVersion).Spec.Product)}
		}); err != nil {
		return err
	}
	return setupOwnerIndexes(ctx, mgr)
}

// SetupWithManager sets up the controller with the Manager.
func (r *ModelVersionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&lifecyclev1alpha1.ModelVersion{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Watches(&lifecyclev1alpha1.AIProduct{}, handler.EnqueueRequestsFromMapFunc(r.versionsOfProduct),
			builder.WithPredicates(judgedBy)).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Workers}).
		Named("modelversion").
		Complete(r)
}

// judgedBy passes the product changes a verdict depends on: the product's
// arrival and departure, its spec (the promotion policy), its production
// version (what a version must beat), and its reconcile of a new
// generation (which versions wait for). The product's other status
// writes, two or more per rollout step, would each wake all its versions
// to decide nothing new.
var judgedBy = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		before, ok1 := e.ObjectOld.(*lifecyclev1alpha1.AIProduct)
		after, ok2 := e.ObjectNew.(*lifecyclev1alpha1.AIProduct)
		if !ok1 || !ok2 {
			return true
		}
		return before.Generation != after.Generation || before.Status.ObservedGeneration != after.Status.ObservedGeneration ||
			before.Status.ProductionVersion != after.Status.ProductionVersion
	},
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
