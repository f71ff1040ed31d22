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
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/prom"
	"github.com/aipm-io/aipm-operator/internal/rollout"
	"github.com/aipm-io/aipm-operator/internal/serving"
	"github.com/aipm-io/aipm-operator/internal/traffic"
)

// ConditionServing is True when the production version serves.
const ConditionServing = "Serving"

// delivery is what the delivery step found, for the summary conditions.
type delivery struct {
	// active is false outside Delivery.
	active bool
	// reason and message explain a product that is not yet where it should
	// be; empty when it is.
	reason, message string
	// stalled is true when only a person can move it on.
	stalled bool
}

// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;patch
// +kubebuilder:rbac:groups=serving.kserve.io,resources=inferenceservices,verbs=get;patch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=modelversions,verbs=get;list;watch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=modelversions/status,verbs=get;patch
// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=aiproducts,verbs=patch

// reconcileDelivery serves the production version, runs the rollout of a new
// one, and records the outcome on the product and its versions.
func (r *AIProductReconciler) reconcileDelivery(ctx context.Context, n notifier, p *v1.AIProduct, now metav1.Time) (time.Duration, delivery, error) {
	if p.Spec.Delivery == nil {
		if err := r.scaleToZero(ctx, p); err != nil {
			return 0, delivery{}, err
		}
		clearCondition(&p.Status.Conditions, ConditionServing)
		return 0, delivery{}, nil
	}
	var versions v1.ModelVersionList
	if err := r.List(ctx, &versions, client.InNamespace(p.Namespace), client.MatchingFields{productIndex: p.Name}); err != nil {
		return 0, delivery{}, fmt.Errorf("listing ModelVersions: %w", err)
	}
	byName := make(map[string]*v1.ModelVersion, len(versions.Items))
	for i := range versions.Items {
		byName[versions.Items[i].Name] = &versions.Items[i]
	}

	if p.Status.Phase == v1.PhaseRetired {
		prod := byName[p.Status.ProductionVersion]
		if _, _, err := r.applyServing(ctx, p, prod, nil, 0); err != nil {
			return 0, delivery{}, err
		}
		n.setCondition(ctx, p, &p.Status.Conditions, metav1.Condition{Type: ConditionServing, Status: metav1.ConditionFalse,
			Reason: "Retired", Message: "the product is retired: serving is scaled to zero"})
		return 0, delivery{}, nil
	}

	if p.Status.Phase != v1.PhaseDelivery {
		// Before Delivery nothing new is rolled out; a product moved back
		// from Delivery keeps serving its production version, which its
		// experiments compare against.
		prod := byName[p.Status.ProductionVersion]
		if prod == nil {
			clearCondition(&p.Status.Conditions, ConditionServing)
			return 0, delivery{}, nil
		}
		_, _, err := r.serveStable(ctx, n, p, prod)
		return 0, delivery{}, err
	}

	// A version this reconcile reaches before the version's own reconciler
	// has judged it is judged here, by the same rule and silently (that
	// reconciler tells its verdict when it writes it). The product need not
	// wait for that write, and a stage it gives the version carries the
	// verdict in the same write: one version write less per product for a
	// fleet applied at once, whose version writes share one client rate
	// limit (docs/benchmarks.md).
	for i := range versions.Items {
		if mv := &versions.Items[i]; !rollout.Judged(mv) {
			judge(ctx, notifier{}, mv, p, productionMetricsOf(byName, p, mv), now)
		}
	}
	if err := r.finishJudgedRollout(ctx, n, p, byName, now); err != nil {
		return 0, delivery{}, err
	}
	choice := rollout.Choose(p.Spec.Delivery.ModelVersion, versions.Items, p.Status.ProductionVersion)
	p.Status.DesiredVersion = ""
	if choice.Version != nil {
		p.Status.DesiredVersion = choice.Version.Name
	}
	request, err := r.takeRequest(ctx, n, p, now)
	if err != nil {
		return 0, delivery{}, err
	}

	stable := byName[p.Status.ProductionVersion]
	ro := p.Status.Rollout
	inFlight := ro != nil && !rollout.Terminal(ro.Phase) && ro.CanaryVersion != p.Status.ProductionVersion

	// A rollout whose canary is no longer what git or the policy asks for
	// is abandoned cleanly: its canary goes, traffic returns to stable.
	if inFlight && (choice.Version == nil || ro.CanaryVersion != choice.Version.Name || choice.Reason != "") {
		n.event(ctx, p, true, "RolloutAbandoned", "Rollout",
			fmt.Sprintf("Abandoned the rollout of %s: %s is now the version to serve", ro.CanaryVersion, p.Status.DesiredVersion))
		if err := r.setStage(ctx, byName[ro.CanaryVersion], v1.StageCandidate, "rollout abandoned for a newer choice", now); err != nil {
			return 0, delivery{}, err
		}
		ro.Phase, ro.Weight, ro.FinishedAt = v1.RolloutAborted, 0, &now
		ro.Message = fmt.Sprintf("%s abandoned: %s is now the version to serve", ro.CanaryVersion, p.Status.DesiredVersion)
		metrics.RolloutFinished(p.Namespace, p.Name, "Abandoned")
		inFlight = false
	}

	switch {
	case choice.Version == nil:
		if _, _, err := r.applyServing(ctx, p, stable, nil, 0); err != nil {
			return 0, delivery{}, err
		}
		r.setServing(ctx, n, p, stable, metav1.ConditionFalse, choice.Reason, choice.Message)
		return 0, delivery{active: true, reason: choice.Reason, message: choice.Message}, nil

	case choice.Reason != "" && !inFlight:
		// Pinned to a version that is not Eligible: never rolled out.
		if _, _, err := r.applyServing(ctx, p, stable, nil, 0); err != nil {
			return 0, delivery{}, err
		}
		r.setServing(ctx, n, p, stable, servingStatus(stable), choice.Reason, choice.Message)
		// A version not yet evaluated is a wait for a verdict that needs no
		// person: Reconciling, not Stalled (which Argo CD shows as Degraded,
		// for every product of a fleet applied at once).
		return 0, delivery{active: true, reason: choice.Reason, message: choice.Message,
			stalled: choice.Reason != rollout.ReasonNotEvaluated}, nil

	case stable == nil:
		// The first version has nothing to be compared with: it is deployed
		// as production directly. It is named production only once its
		// serving objects exist: while the API server refuses them, status
		// and stage would otherwise claim a version that nothing serves.
		mv := choice.Version
		next, dl, err := r.serveStable(ctx, n, p, mv)
		if err != nil {
			return 0, delivery{}, err
		}
		p.Status.ProductionVersion = mv.Name
		n.event(ctx, p, false, "ProductionSet", "Rollout", fmt.Sprintf("Serving %s as the first production version", mv.Name))
		if err := r.setStage(ctx, mv, v1.StageProduction, "first production version", now); err != nil {
			return 0, delivery{}, err
		}
		return next, dl, nil

	case choice.Version.Name == stable.Name && !inFlight:
		// A version already in Production keeps the reason it got there
		// by; restating it would cost a write per product.
		if stable.Status.Stage != v1.StageProduction {
			if err := r.setStage(ctx, stable, v1.StageProduction, "serving production", now); err != nil {
				return 0, delivery{}, err
			}
		}
		return r.serveStable(ctx, n, p, stable)
	}

	canary := choice.Version
	if ro == nil || ro.CanaryVersion != canary.Name {
		ro = &v1.RolloutStatus{StableVersion: stable.Name, CanaryVersion: canary.Name, Phase: v1.RolloutProgressing,
			StartedAt: &now, StepStartedAt: &now, Message: "starting"}
		p.Status.Rollout = ro
		n.event(ctx, p, false, "RolloutStarted", "Rollout", fmt.Sprintf("Started rolling out %s over %s", canary.Name, stable.Name))
		if err := r.setStage(ctx, canary, v1.StageStaging, "rolling out by canary", now); err != nil {
			return 0, delivery{}, err
		}
	}
	if ro.Phase == v1.RolloutAborted {
		// The desired version was rolled back; it stays so until a retry or
		// a different choice.
		if _, _, err := r.applyServing(ctx, p, stable, nil, 0); err != nil {
			return 0, delivery{}, err
		}
		r.setServing(ctx, n, p, stable, servingStatus(stable), "RolloutAborted", ro.Message)
		return 0, delivery{active: true, reason: "RolloutAborted", message: ro.Message +
			fmt.Sprintf("; annotate %s to try again", v1.AnnotationRetry), stalled: true}, nil
	}
	return r.runRollout(ctx, n, p, stable, canary, request, now)
}

// finishJudgedRollout completes the record of a rollout whose verdict was
// written to its canary's stage but not to the product. A verdict is written
// to the versions first and to the product's status last, so a crash or a
// refused status write in between leaves the product's rollout running with
// its canary already Rejected or in Production. The stage is the record: the
// rollout ends the way it was judged, instead of being re-run, or taken for
// abandoned with its rejection undone.
func (r *AIProductReconciler) finishJudgedRollout(ctx context.Context, n notifier, p *v1.AIProduct,
	byName map[string]*v1.ModelVersion, now metav1.Time) error {
	ro := p.Status.Rollout
	if ro == nil || rollout.Terminal(ro.Phase) || ro.CanaryVersion == p.Status.ProductionVersion {
		return nil
	}
	canary := byName[ro.CanaryVersion]
	if canary == nil || (canary.Status.Stage != v1.StageRejected && canary.Status.Stage != v1.StageProduction) {
		return nil
	}
	// The cache may lag: a version rejected by an earlier rollout and
	// retried may not show its new Staging stage yet. Only the API server's
	// word, judged after this rollout began, counts.
	fresh := &v1.ModelVersion{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(canary), fresh); err != nil {
		return client.IgnoreNotFound(err)
	}
	judged := fresh.Status.StageTransitionTime
	if judged == nil || (ro.StartedAt != nil && judged.Before(ro.StartedAt)) {
		return nil
	}
	*canary = *fresh
	switch fresh.Status.Stage {
	case v1.StageRejected:
		ro.Phase, ro.Weight, ro.FinishedAt = v1.RolloutAborted, 0, judged
		ro.Message = fmt.Sprintf("%s rolled back: %s", ro.CanaryVersion, fresh.Status.StageReason)
		metrics.RolloutFinished(p.Namespace, p.Name, v1.RolloutAborted)
	case v1.StageProduction:
		ro.Phase, ro.Weight, ro.FinishedAt = v1.RolloutSucceeded, 100, judged
		ro.Step = int32(len(rollout.Steps(p.Spec.Delivery.Rollout)))
		ro.Message = fmt.Sprintf("%s promoted: %s", ro.CanaryVersion, fresh.Status.StageReason)
		metrics.RolloutFinished(p.Namespace, p.Name, v1.RolloutSucceeded)
		p.Status.ProductionVersion = canary.Name
		if err := r.setStage(ctx, byName[ro.StableVersion], v1.StageArchived, "replaced by "+canary.Name, now); err != nil {
			return err
		}
	default:
		return nil
	}
	n.event(ctx, p, ro.Phase == v1.RolloutAborted, "RolloutRecovered", "Rollout", fmt.Sprintf(
		"Recorded the end of the rollout of %s from its stage: %s", ro.CanaryVersion, ro.Message))
	return nil
}

// runRollout applies the current weight, lets the step machine decide, and
// repeats while the weight changes, then records the outcome.
func (r *AIProductReconciler) runRollout(ctx context.Context, n notifier, p *v1.AIProduct, stable, canary *v1.ModelVersion,
	request rollout.Request, now metav1.Time) (time.Duration, delivery, error) {
	vars := map[string]string{"namespace": p.Namespace, "product": p.Name, "version": canary.Name,
		"canaryVersion": canary.Name, "stableVersion": stable.Name}
	measure := func(ctx context.Context, m v1.MetricCheck) (float64, error) {
		return r.Prometheus.Query(ctx, prom.Expand(string(m.Query), vars))
	}
	var res rollout.Result
	for range 40 {
		_, canaryReady, err := r.applyServing(ctx, p, stable, canary, p.Status.Rollout.Weight)
		if err != nil {
			return 0, delivery{}, err
		}
		res = rollout.Step(ctx, rollout.Input{Spec: p.Spec.Delivery.Rollout, Status: *p.Status.Rollout,
			Now: now.Time, CanaryReady: canaryReady, Request: request}, measure)
		request = rollout.NoRequest
		*p.Status.Rollout = res.Status
		for _, e := range res.Events {
			n.event(ctx, p, e.Warning, e.Reason, "Rollout", e.Message)
		}
		if !res.WeightChanged || rollout.Terminal(res.Status.Phase) {
			break
		}
	}
	ro := p.Status.Rollout
	if rollout.Terminal(ro.Phase) {
		metrics.RolloutFinished(p.Namespace, p.Name, ro.Phase)
	}
	switch ro.Phase {
	case v1.RolloutSucceeded:
		p.Status.ProductionVersion = canary.Name
		if err := r.setStage(ctx, canary, v1.StageProduction, "promoted by canary", now); err != nil {
			return 0, delivery{}, err
		}
		if err := r.setStage(ctx, stable, v1.StageArchived, "replaced by "+canary.Name, now); err != nil {
			return 0, delivery{}, err
		}
		return r.serveStable(ctx, n, p, canary)
	case v1.RolloutAborted:
		reason := ro.Message
		if res.Failure != nil {
			reason = res.Failure.String()
		}
		if err := r.setStage(ctx, canary, v1.StageRejected, reason, now); err != nil {
			return 0, delivery{}, err
		}
		if _, _, err := r.applyServing(ctx, p, stable, nil, 0); err != nil {
			return 0, delivery{}, err
		}
		r.setServing(ctx, n, p, stable, servingStatus(stable), "RolloutAborted", ro.Message)
		return 0, delivery{active: true, reason: "RolloutAborted", message: ro.Message, stalled: true}, nil
	}
	r.setServing(ctx, n, p, stable, metav1.ConditionTrue, "Canary",
		fmt.Sprintf("%s serves production; %s receives %d%%", stable.Name, canary.Name, ro.Weight))
	reason := "Rollout" + string(ro.Phase)
	return res.RequeueAfter, delivery{active: true, reason: reason, message: ro.Message}, nil
}

// serveStable serves one version at full weight.
func (r *AIProductReconciler) serveStable(ctx context.Context, n notifier, p *v1.AIProduct, mv *v1.ModelVersion) (time.Duration, delivery, error) {
	ready, _, err := r.applyServing(ctx, p, mv, nil, 0)
	if err != nil {
		return 0, delivery{}, err
	}
	if !ready {
		msg := fmt.Sprintf("waiting for %s to become available", mv.Name)
		r.setServing(ctx, n, p, mv, metav1.ConditionFalse, "Progressing", msg)
		return 0, delivery{active: true, reason: "ServingProgressing", message: msg}, nil
	}
	r.setServing(ctx, n, p, mv, metav1.ConditionTrue, "Available", mv.Name+" serves production")
	return 0, delivery{active: true}, nil
}

func servingStatus(stable *v1.ModelVersion) metav1.ConditionStatus {
	if stable == nil {
		return metav1.ConditionFalse
	}
	return metav1.ConditionTrue
}

func (r *AIProductReconciler) setServing(ctx context.Context, n notifier, p *v1.AIProduct, stable *v1.ModelVersion,
	status metav1.ConditionStatus, reason, msg string) {
	if stable == nil && status == metav1.ConditionTrue {
		status = metav1.ConditionFalse
	}
	n.setCondition(ctx, p, &p.Status.Conditions, metav1.Condition{Type: ConditionServing, Status: status, Reason: reason, Message: msg})
}

// applyServing makes the serving objects match: the stable version, and the
// canary at weight during a rollout. It reports whether each serves.
func (r *AIProductReconciler) applyServing(ctx context.Context, p *v1.AIProduct, stable, canary *v1.ModelVersion, weight int32) (stableReady, canaryReady bool, err error) {
	s := p.Spec.Delivery.Serving
	total := s.Replicas
	if total < 1 {
		total = 1
	}
	if p.Status.Phase == v1.PhaseRetired {
		total = 0
	}
	target := func(mv *v1.ModelVersion) *traffic.Target {
		if mv == nil {
			return nil
		}
		return &traffic.Target{Version: mv.Name, URI: mv.Spec.Artifact.URI}
	}
	stableReplicas, canaryReplicas := total, int32(0)
	if canary != nil {
		stableReplicas, canaryReplicas = serving.Split(total, weight)
	}

	if s.Backend != v1.BackendKServe {
		wanted := map[string]*appsv1.Deployment{}
		if stable != nil {
			wanted[serving.ObjectName(p.Name, stable.Name)] = serving.Deployment(p, serving.Version{Name: stable.Name, URI: stable.Spec.Artifact.URI, Replicas: stableReplicas})
		}
		if canary != nil {
			wanted[serving.ObjectName(p.Name, canary.Name)] = serving.Deployment(p, serving.Version{Name: canary.Name, URI: canary.Spec.Artifact.URI, Replicas: canaryReplicas})
		}
		live, err := r.applyDeployments(ctx, p, wanted)
		if err != nil {
			return false, false, err
		}
		services := []*corev1.Service{serving.Service(p)}
		if s.HTTPRoute != nil {
			for _, mv := range []*v1.ModelVersion{stable, canary} {
				if mv != nil {
					services = append(services, serving.VersionService(p, mv.Name))
				}
			}
		}
		if err := r.applyServices(ctx, p, services); err != nil {
			return false, false, err
		}
		if stable != nil {
			d := live[serving.ObjectName(p.Name, stable.Name)]
			stableReady = d != nil && serving.Available(d)
		}
		if canary != nil {
			d := live[serving.ObjectName(p.Name, canary.Name)]
			canaryReady = d != nil && serving.Available(d)
		}
	} else {
		stableReady, canaryReady = true, true
	}
	if p.Status.Phase == v1.PhaseRetired || (stable == nil && canary == nil) {
		return stableReady, canaryReady, nil
	}
	routed, err := traffic.For(p, r.Client, r.APIReader, r.liveExperiment(p)).Route(ctx, p, target(stable), target(canary), weight)
	if err != nil {
		return false, false, err
	}
	if canary == nil {
		return stableReady && routed, false, nil
	}
	return stableReady, canaryReady && routed, nil
}

// applyDeployments creates or updates the wanted Deployments and deletes the
// product's others. An unchanged Deployment costs no write.
func (r *AIProductReconciler) applyDeployments(ctx context.Context, p *v1.AIProduct, wanted map[string]*appsv1.Deployment) (map[string]*appsv1.Deployment, error) {
	var existing appsv1.DeploymentList
	if err := r.List(ctx, &existing, client.InNamespace(p.Namespace), ownedBy(p.Name), client.MatchingLabels(serving.SelectorLabels(p.Name))); err != nil {
		return nil, fmt.Errorf("listing Deployments: %w", err)
	}
	live := map[string]*appsv1.Deployment{}
	for i := range existing.Items {
		d := &existing.Items[i]
		if _, exp := d.Labels[LabelExperiment]; exp || !metav1.IsControlledBy(d, p) {
			continue
		}
		if _, ok := wanted[d.Name]; !ok {
			if err := r.Delete(ctx, d); client.IgnoreNotFound(err) != nil {
				return nil, fmt.Errorf("deleting Deployment %s: %w", d.Name, err)
			}
			continue
		}
		live[d.Name] = d
	}
	for name, want := range wanted {
		have := live[name]
		if have == nil {
			have = &appsv1.Deployment{}
		}
		if err := r.applyOwned(ctx, p, want, have); err != nil {
			return nil, err
		}
		if have.Name == "" {
			// Just created: what was sent is what runs.
			have = want
		}
		live[name] = have
	}
	return live, nil
}

func (r *AIProductReconciler) applyServices(ctx context.Context, p *v1.AIProduct, wanted []*corev1.Service) error {
	var existing corev1.ServiceList
	if err := r.List(ctx, &existing, client.InNamespace(p.Namespace), ownedBy(p.Name),
		client.MatchingLabels{v1.LabelProduct: p.Name, serving.LabelManagedBy: serving.ManagedBy}); err != nil {
		return fmt.Errorf("listing Services: %w", err)
	}
	want := map[string]*corev1.Service{}
	for _, s := range wanted {
		want[s.Name] = s
	}
	live := map[string]*corev1.Service{}
	for i := range existing.Items {
		have := &existing.Items[i]
		if _, exp := have.Labels[LabelExperiment]; exp || !metav1.IsControlledBy(have, p) {
			continue
		}
		if _, ok := want[have.Name]; !ok {
			if err := r.Delete(ctx, have); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting Service %s: %w", have.Name, err)
			}
			continue
		}
		live[have.Name] = have
	}
	for _, s := range wanted {
		have := live[s.Name]
		if have == nil {
			have = &corev1.Service{}
		}
		if err := r.applyOwned(ctx, p, s, have); err != nil {
			return err
		}
	}
	return nil
}

// scaleToZero scales every Deployment of the product to zero.
func (r *AIProductReconciler) scaleToZero(ctx context.Context, p *v1.AIProduct) error {
	var existing appsv1.DeploymentList
	if err := r.List(ctx, &existing, client.InNamespace(p.Namespace), ownedBy(p.Name), client.MatchingLabels(serving.SelectorLabels(p.Name))); err != nil {
		return fmt.Errorf("listing Deployments: %w", err)
	}
	for i := range existing.Items {
		d := &existing.Items[i]
		if !metav1.IsControlledBy(d, p) || (d.Spec.Replicas != nil && *d.Spec.Replicas == 0) {
			continue
		}
		before := d.DeepCopy()
		zero := int32(0)
		d.Spec.Replicas = &zero
		if err := r.Patch(ctx, d, client.MergeFrom(before)); err != nil {
			return fmt.Errorf("scaling Deployment %s to zero: %w", d.Name, err)
		}
	}
	return nil
}

// productionMetricsOf is, for judging mv, the evaluation metrics of p's
// production version: nil when there is none or mv is it.
func productionMetricsOf(byName map[string]*v1.ModelVersion, p *v1.AIProduct, mv *v1.ModelVersion) []v1.EvaluationMetric {
	prod := byName[p.Status.ProductionVersion]
	if prod == nil || prod.Name == mv.Name {
		return nil
	}
	return prod.Spec.Metrics
}

// setStage records a version's stage, once, with whatever else this
// reconcile has decided of the version's status (a verdict judged here),
// in one update under the resourceVersion the decision was made from.
func (r *AIProductReconciler) setStage(ctx context.Context, mv *v1.ModelVersion, stage v1.Stage, reason string, now metav1.Time) error {
	if mv == nil || (mv.Status.Stage == stage && mv.Status.StageReason == reason) {
		return nil
	}
	changed := mv.Status.Stage != stage
	mv.Status.Stage, mv.Status.StageReason = stage, reason
	if changed {
		mv.Status.StageTransitionTime = &now
	}
	// Under the resourceVersion read: the version reconciler writes the
	// verdict, and a stage set on the copy before that write would undo it.
	err := writeStatus(ctx, r.StatusWriter, r.Client, mv)
	if apierrors.IsConflict(err) {
		// Mostly the cache has not yet seen this operator's own write of a
		// moment ago (a reconcile retried after its status write was
		// refused): if the API server holds the stage already, it was set
		// and told then, and is not set or told again.
		fresh := &v1.ModelVersion{}
		if r.APIReader.Get(ctx, client.ObjectKeyFromObject(mv), fresh) == nil &&
			fresh.Status.Stage == stage && fresh.Status.StageReason == reason {
			*mv = *fresh
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("setting stage of %s: %w", mv.Name, err)
	}
	// No Event on the version: every stage move is the product's doing and
	// is told on the product (ProductionSet, RolloutStarted,
	// RolloutSucceeded, RolloutAborted, a request's Event), naming the
	// version; the version's status keeps the stage, its reason and time.
	// Telling it twice cost one API write per move, a fifth of a fleet's
	// writes to converge (docs/benchmarks.md).
	return nil
}

// takeRequest reads one manual rollout request from the annotations,
// removes it, and records it in status. Promote and Abort act on a running
// rollout; Retry restarts an aborted or inconclusive one.
func (r *AIProductReconciler) takeRequest(ctx context.Context, n notifier, p *v1.AIProduct, now metav1.Time) (rollout.Request, error) {
	for _, a := range []struct {
		key string
		req rollout.Request
	}{{v1.AnnotationAbort, rollout.Abort}, {v1.AnnotationPromote, rollout.Promote}, {v1.AnnotationRetry, rollout.Retry}} {
		value, ok := p.Annotations[a.key]
		if !ok {
			continue
		}
		if err := r.clearAnnotation(ctx, p, a.key); err != nil {
			return rollout.NoRequest, err
		}
		ro := p.Status.Rollout
		result := "acted on"
		switch {
		case ro == nil:
			result = "ignored: no rollout"
		case a.req == rollout.Retry && ro.Phase != v1.RolloutAborted && ro.Phase != v1.RolloutInconclusive:
			result = "ignored: the rollout is " + string(ro.Phase)
		case a.req != rollout.Retry && rollout.Terminal(ro.Phase):
			result = "ignored: the rollout has " + string(ro.Phase)
		}
		p.Status.LastRequest = &v1.RequestStatus{Action: string(a.req), Value: value, HandledAt: now, Result: result}
		n.event(ctx, p, false, "Request"+string(a.req), "Request", fmt.Sprintf("%s requested by annotation: %s", a.req, result))
		if result != "acted on" {
			return rollout.NoRequest, nil
		}
		if a.req == rollout.Retry {
			// The retry starts over: forgetting the canary makes the next
			// step start a new rollout of the desired version at step one.
			ro.CanaryVersion = ""
		}
		return a.req, nil
	}
	return rollout.NoRequest, nil
}

// clearAnnotation removes one annotation with a patch of the metadata alone,
// leaving the product as read (and its status as computed so far) untouched.
func (r *AIProductReconciler) clearAnnotation(ctx context.Context, p *v1.AIProduct, key string) error {
	// The resourceVersion makes the request's consumption conditional on
	// the product being as read: a request acted on from a stale cache is
	// refused (Conflict) rather than consumed twice.
	patch := []byte(fmt.Sprintf(`{"metadata":{"resourceVersion":%q,"annotations":{%q:null}}}`, p.ResourceVersion, key))
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(v1.GroupVersion.WithKind("AIProduct"))
	obj.SetNamespace(p.Namespace)
	obj.SetName(p.Name)
	if err := r.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("clearing annotation %s: %w", key, err)
	}
	delete(p.Annotations, key)
	p.ResourceVersion = obj.ResourceVersion
	return nil
}
