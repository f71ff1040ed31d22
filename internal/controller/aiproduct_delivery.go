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
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/apply"
	judgepkg "github.com/aipm-io/aipm-operator/internal/judge"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/notify"
	"github.com/aipm-io/aipm-operator/internal/objectives"
	"github.com/aipm-io/aipm-operator/internal/outcome"
	"github.com/aipm-io/aipm-operator/internal/prom"
	"github.com/aipm-io/aipm-operator/internal/rollout"
	"github.com/aipm-io/aipm-operator/internal/serving"
	"github.com/aipm-io/aipm-operator/internal/traffic"
)

// delivery is what the delivery step found, for the summary conditions.
type delivery struct {
	// active is false outside Delivery.
	active bool
	// reason and message explain a product that is not yet where it should
	// be; empty when it is.
	reason, message string
	// stalled is true when only a person can move it on.
	stalled bool
	// awaitsPerson is true when the rollout waits, by its own design, for
	// a person's decision: a pause without a duration, or an inconclusive
	// analysis. Nothing is wrong and the operator has done all it can.
	awaitsPerson bool
}

// awaitsPerson reports whether the rollout waits for a person's decision
// by design: an inconclusive analysis, or a pause step without a duration.
func awaitsPerson(d *lifecyclev1alpha1.DeliverySpec, ro *lifecyclev1alpha1.RolloutStatus) bool {
	spec := d.Rollout
	switch ro.Phase {
	case lifecyclev1alpha1.RolloutInconclusive:
		return true
	case lifecyclev1alpha1.RolloutPaused:
		if rollout.AwaitingApproval(d, ro) {
			return true
		}
		if spec == nil || ro.Step < 0 || int(ro.Step) >= len(spec.Steps) {
			return false
		}
		pause := spec.Steps[ro.Step].Pause
		return pause != nil && pause.Duration == nil
	}
	return false
}

// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;patch
// +kubebuilder:rbac:groups=serving.kserve.io,resources=inferenceservices,verbs=get;list;watch;create;patch;delete

// reconcileDelivery serves the production version and runs the rollout of a
// new one. What it decides of versions (production, canary, the rollout's
// end) is recorded in the product's status; each version's reconciler
// derives its stage from that record.
func (r *AIProductReconciler) reconcileDelivery(ctx context.Context, s *productScope) (time.Duration, error) {
	next, err := r.deliver(ctx, s)
	// The version traffic left at the end of a routed rollout runs until its
	// scale-down time, whatever the rest decided.
	if ro := s.product.Status.Rollout; err == nil && s.retiring != nil && ro != nil && ro.ScaleDownAt != nil {
		next = outcome.Earliest(next, ro.ScaleDownAt.Sub(s.now.Time))
	}
	return next, err
}

func (r *AIProductReconciler) deliver(ctx context.Context, s *productScope) (time.Duration, error) {
	p := s.product
	if p.Spec.Delivery == nil {
		notify.Clear(&p.Status.Conditions, lifecyclev1alpha1.ConditionServing)
		notify.Clear(&p.Status.Conditions, lifecyclev1alpha1.ConditionTrafficSplit)
		return 0, r.scaleToZero(ctx, p)
	}
	if ro := p.Status.Rollout; ro == nil || rollout.Terminal(ro.Phase) {
		notify.Clear(&p.Status.Conditions, lifecyclev1alpha1.ConditionTrafficSplit)
	}
	if ro := p.Status.Rollout; ro != nil && ro.Phase == lifecyclev1alpha1.RolloutSucceeded && ro.ScaleDownAt != nil &&
		s.now.Before(ro.ScaleDownAt) && ro.StableVersion != p.Status.ProductionVersion {
		s.retiring = s.versions[ro.StableVersion]
	}
	if p.Status.Phase == lifecyclev1alpha1.PhaseRetired {
		if _, _, err := r.applyServing(ctx, s, s.versions[p.Status.ProductionVersion], nil, 0); err != nil {
			return 0, err
		}
		r.setServing(ctx, s, nil, metav1.ConditionFalse, lifecyclev1alpha1.ReasonRetired,
			"the product is retired: serving is scaled to zero")
		return 0, nil
	}
	if p.Status.Phase != lifecyclev1alpha1.PhaseDelivery {
		// Before Delivery nothing new is rolled out; a product moved back
		// from Delivery keeps serving its production version, which its
		// experiments compare against.
		prod := s.versions[p.Status.ProductionVersion]
		if prod == nil {
			notify.Clear(&p.Status.Conditions, lifecyclev1alpha1.ConditionServing)
			return 0, r.mirrorWithoutProduction(ctx, s)
		}
		_, err := r.serveStable(ctx, s, prod)
		return 0, err
	}

	foresee(s)
	choice := rollout.Choose(p.Spec.Delivery.ModelVersion, s.versionList, p.Status.ProductionVersion)
	p.Status.DesiredVersion = ""
	if choice.Version != nil {
		p.Status.DesiredVersion = choice.Version.Name
	}
	request, err := r.takeRequest(ctx, s)
	if err != nil {
		return 0, err
	}

	watch := r.watchPromotion(ctx, s)
	stable := s.versions[p.Status.ProductionVersion]
	ro := p.Status.Rollout
	inFlight := ro != nil && !rollout.Terminal(ro.Phase) && ro.CanaryVersion != p.Status.ProductionVersion

	// A rollout whose canary is no longer what git or the policy asks for
	// is abandoned: traffic returns to the stable, safely, before anything
	// new starts.
	if inFlight && ro.Phase != lifecyclev1alpha1.RolloutAborting &&
		(choice.Version == nil || ro.CanaryVersion != choice.Version.Name || choice.Reason != "") {
		s.notify.Event(ctx, p, true, "RolloutAbandoned", "Rollout",
			fmt.Sprintf("Abandoned the rollout of %s: %s is now the version to serve", ro.CanaryVersion, p.Status.DesiredVersion))
		ro.Phase, ro.Reason, ro.Weight, ro.CanaryUnavailableSince = lifecyclev1alpha1.RolloutAborting, rollout.ReasonAbandoned, 0, nil
		ro.Message = fmt.Sprintf("%s rolling back: abandoned, %s is now the version to serve", ro.CanaryVersion, p.Status.DesiredVersion)
		metrics.RolloutFinished(p.Namespace, p.Name, "Abandoned")
	}
	if inFlight && ro.Phase == lifecyclev1alpha1.RolloutAborting && stable != nil {
		// Whatever comes next waits for traffic to be back on the stable.
		canary := s.versions[ro.CanaryVersion]
		if canary == nil {
			rollout.Finish(ro, s.now)
		} else if next, err := r.runRollout(ctx, s, stable, canary, rollout.NoRequest); err != nil || !rollout.Terminal(ro.Phase) {
			return next, err
		}
		inFlight = false
	}

	switch {
	case choice.Version == nil:
		if _, _, err := r.applyServing(ctx, s, stable, nil, 0); err != nil {
			return 0, err
		}
		r.setServing(ctx, s, stable, metav1.ConditionFalse, choice.Reason, choice.Message)
		s.delivery = delivery{active: true, reason: choice.Reason, message: choice.Message}
		return 0, nil

	case choice.Reason != "" && !inFlight:
		// Pinned to a version that is not Eligible: never rolled out.
		if _, _, err := r.applyServing(ctx, s, stable, nil, 0); err != nil {
			return 0, err
		}
		r.setServing(ctx, s, stable, servingStatus(stable), choice.Reason, choice.Message)
		// A version not yet evaluated is a wait for a verdict that needs no
		// person: Reconciling, not Stalled (which Argo CD shows as Degraded,
		// for every product of a fleet applied at once).
		s.delivery = delivery{active: true, reason: choice.Reason, message: choice.Message,
			stalled: choice.Reason != rollout.ReasonNotEvaluated}
		return 0, nil

	case stable == nil:
		// The first version has nothing to be compared with: it is deployed
		// as production directly. It is named production only once its
		// serving objects exist: while the API server refuses them, status
		// would otherwise claim a version that nothing serves.
		mv := choice.Version
		next, err := r.serveStable(ctx, s, mv)
		if err != nil {
			return 0, err
		}
		p.Status.ProductionVersion = mv.Name
		s.notify.Event(ctx, p, false, "ProductionSet", "Rollout", fmt.Sprintf("Serving %s as the first production version", mv.Name))
		return next, nil

	case choice.Version.Name == stable.Name && !inFlight:
		next, err := r.serveStable(ctx, s, stable)
		return outcome.Earliest(next, watch), err
	}

	canary := choice.Version
	if ro == nil || ro.CanaryVersion != canary.Name {
		ro = &lifecyclev1alpha1.RolloutStatus{StableVersion: stable.Name, CanaryVersion: canary.Name,
			Phase: lifecyclev1alpha1.RolloutProgressing, StartedAt: &s.now, StepStartedAt: &s.now, Message: "starting"}
		p.Status.Rollout = ro
		s.notify.Event(ctx, p, false, "RolloutStarted", "Rollout", fmt.Sprintf("Started rolling out %s over %s", canary.Name, stable.Name))
	}
	if ro.Phase == lifecyclev1alpha1.RolloutAborted {
		// The desired version was rolled back; it stays so until a retry or
		// a different choice.
		if _, _, err := r.applyServing(ctx, s, stable, nil, 0); err != nil {
			return 0, err
		}
		r.setServing(ctx, s, stable, servingStatus(stable), lifecyclev1alpha1.ReasonRolloutAborted, ro.Message)
		s.delivery = delivery{active: true, reason: lifecyclev1alpha1.ReasonRolloutAborted, message: ro.Message +
			fmt.Sprintf("; annotate %s to try again", lifecyclev1alpha1.AnnotationRetry), stalled: true}
		return 0, nil
	}
	return r.runRollout(ctx, s, stable, canary, request)
}

// mirrorWithoutProduction keeps the mirror filter of a Shadow experiment
// that mirrors another system (mirrorFrom) on the product's HTTPRoute,
// before the product has a version of its own to serve: the route's
// backends stay the team's.
func (r *AIProductReconciler) mirrorWithoutProduction(ctx context.Context, s *productScope) error {
	p := s.product
	if p.Spec.Delivery.Serving.HTTPRoute == nil || p.Spec.Discovery == nil {
		return nil
	}
	mirrors := false
	for _, e := range p.Spec.Discovery.Experiments {
		mirrors = mirrors || e.MirrorFrom != nil
	}
	if !mirrors {
		return nil
	}
	_, err := traffic.For(p, r.Client, r.APIReader, s.liveTraffic()).Route(ctx, p, nil, nil, 0)
	return err
}

// runRollout moves traffic safely toward what the rollout asks, lets the
// step machine decide, and repeats while the weight changes; once the steps
// are decided it moves all traffic to the version that won, and records the
// outcome.
func (r *AIProductReconciler) runRollout(ctx context.Context, s *productScope, stable, canary *lifecyclev1alpha1.ModelVersion,
	request rollout.Request) (time.Duration, error) {
	p := s.product
	spec := p.Spec.Delivery.Rollout
	vars := map[string]string{"namespace": p.Namespace, "product": p.Name, "version": canary.Name,
		"canaryVersion": canary.Name, "stableVersion": stable.Name}
	measure := func(ctx context.Context, m lifecyclev1alpha1.MetricCheck) (float64, error) {
		if name, ok := rollout.Guarded(m); ok {
			return r.guardrail(ctx, p, name, m.Threshold, canary.Name, stable.Name)
		}
		return r.Prometheus.Query(ctx, prom.Expand(string(m.Query), vars))
	}
	diagnose := func() string { return r.diagnose(ctx, p, canary) }
	approval, err := r.approvals(ctx, p, canary.Name)
	if err != nil {
		return 0, err
	}
	var res rollout.Result
	var d serving.Decision
	var events []rollout.Event
	// The steps' events are told once this pass is done, in order, even
	// when a move fails half way.
	defer func() {
		for _, e := range events {
			s.notify.Event(ctx, p, e.Warning, e.Reason, "Rollout", e.Message)
		}
	}()
	for range 40 {
		var err error
		if d, err = r.moveTraffic(ctx, s, stable, canary); err != nil {
			return 0, err
		}
		res = rollout.Step(ctx, rollout.Input{Spec: spec, Status: *p.Status.Rollout,
			Now: s.now.Time, CanaryReady: d.Arrived, Request: request, Diagnose: diagnose, Refused: s.refused,
			Approval: approval}, measure)
		request = rollout.NoRequest
		*p.Status.Rollout = res.Status
		events = append(events, res.Events...)
		if !res.WeightChanged || rollout.Terminal(res.Status.Phase) || rollout.Cutover(res.Status.Phase) {
			break
		}
	}
	ro := p.Status.Rollout
	wait := res.RequeueAfter
	if rollout.Cutover(ro.Phase) {
		var err error
		var finished []rollout.Event
		wait, finished, err = r.cutover(ctx, s, stable, canary, diagnose)
		if err != nil {
			return 0, err
		}
		if ro.Phase == lifecyclev1alpha1.RolloutSucceeded {
			// A promotion done in the pass that decided it is told by its
			// success alone.
			events = slices.DeleteFunc(events, func(e rollout.Event) bool { return e.Reason == rollout.ReasonEventPromoting })
		}
		events = append(events, finished...)
	}
	if rollout.Terminal(ro.Phase) {
		metrics.RolloutFinished(p.Namespace, p.Name, ro.Phase)
		notify.Clear(&p.Status.Conditions, lifecyclev1alpha1.ConditionTrafficSplit)
	}
	switch ro.Phase {
	case lifecyclev1alpha1.RolloutSucceeded:
		p.Status.ProductionVersion = canary.Name
		return r.serveStable(ctx, s, canary)
	case lifecyclev1alpha1.RolloutAborted:
		if _, _, err := r.applyServing(ctx, s, stable, nil, 0); err != nil {
			return 0, err
		}
		r.setServing(ctx, s, stable, servingStatus(stable), lifecyclev1alpha1.ReasonRolloutAborted, ro.Message)
		s.delivery = delivery{active: true, reason: lifecyclev1alpha1.ReasonRolloutAborted, message: ro.Message,
			stalled: ro.Reason != rollout.ReasonAbandoned}
		return 0, nil
	case lifecyclev1alpha1.RolloutPromoting, lifecyclev1alpha1.RolloutAborting:
		reason := map[lifecyclev1alpha1.RolloutPhase]string{
			lifecyclev1alpha1.RolloutPromoting: lifecyclev1alpha1.ReasonPromoting,
			lifecyclev1alpha1.RolloutAborting:  lifecyclev1alpha1.ReasonAborting,
		}[ro.Phase]
		r.setServing(ctx, s, stable, metav1.ConditionTrue, reason,
			fmt.Sprintf("%s serves production; %s receives %d%%", stable.Name, canary.Name, ro.EffectiveWeight))
		s.delivery = delivery{active: true, reason: reason, message: ro.Message}
		return wait, nil
	}
	r.setTrafficSplit(ctx, s, d)
	r.setServing(ctx, s, stable, metav1.ConditionTrue, lifecyclev1alpha1.ReasonCanary,
		fmt.Sprintf("%s serves production; %s receives %d%% (its step asks %d%%)", stable.Name, canary.Name, ro.EffectiveWeight, ro.Weight))
	reason := map[lifecyclev1alpha1.RolloutPhase]string{
		lifecyclev1alpha1.RolloutProgressing:  lifecyclev1alpha1.ReasonRolloutProgressing,
		lifecyclev1alpha1.RolloutPaused:       lifecyclev1alpha1.ReasonRolloutPaused,
		lifecyclev1alpha1.RolloutInconclusive: lifecyclev1alpha1.ReasonRolloutInconclusive,
	}[ro.Phase]
	if rollout.AwaitingApproval(p.Spec.Delivery, ro) {
		reason = lifecyclev1alpha1.ReasonAwaitingApproval
	}
	s.delivery = delivery{active: true, reason: reason, message: ro.Message,
		awaitsPerson: awaitsPerson(p.Spec.Delivery, ro)}
	return wait, nil
}

// cutover moves all traffic to the version that won once it has the pods
// to take it, and finishes the rollout then. A promotion whose canary is
// not available at full size within the progress deadline is aborted.
func (r *AIProductReconciler) cutover(ctx context.Context, s *productScope, stable, canary *lifecyclev1alpha1.ModelVersion,
	diagnose func() string) (wait time.Duration, events []rollout.Event, err error) {
	p := s.product
	ro := p.Status.Rollout
	deadline := rollout.ProgressDeadline(p.Spec.Delivery.Rollout)
	for range 2 {
		d, err := r.moveTraffic(ctx, s, stable, canary)
		if err != nil {
			return 0, events, err
		}
		if d.Arrived {
			promoted := ro.Phase == lifecyclev1alpha1.RolloutPromoting
			events = append(events, rollout.Finish(ro, s.now)...)
			if promoted && r.routed(p) {
				// Requests already routed to the old stable finish there;
				// under a post-promotion watch it stays, warm, for the
				// window, so that a rollback has its capacity at once.
				delay := scaleDownDelay(p.Spec.Delivery.Rollout)
				if end := rollout.WatchEnds(p.Spec.Delivery.Rollout, ro); !end.IsZero() {
					delay = max(delay, end.Sub(s.now.Time))
				}
				at := metav1.NewTime(s.now.Add(delay))
				ro.ScaleDownAt = &at
				s.retiring = stable
			}
			return 0, events, nil
		}
		if ro.Phase == lifecyclev1alpha1.RolloutAborting {
			// The message keeps why it was aborted; the stable's pods
			// coming up wake this product again.
			return 0, events, nil
		}
		exceeded, wait := rollout.Unavailable(ro, deadline, s.now)
		if !exceeded {
			ro.Message = fmt.Sprintf("promoting %s: %d%% of traffic until it is available at full size", canary.Name, ro.EffectiveWeight)
			return wait, events, nil
		}
		why := fmt.Sprintf("not available at full size within the progress deadline of %s", deadline)
		if diag := diagnose(); diag != "" {
			why += ": " + diag
		}
		events = append(events, rollout.AbortCutover(ro, rollout.ReasonProgressDeadlineExceeded, why, s.now)...)
	}
	return 0, events, nil
}

// moveTraffic applies one safe move of the rollout's replicas and traffic
// (serving.Decide) and records the canary's effective weight.
func (r *AIProductReconciler) moveTraffic(ctx context.Context, s *productScope, stable, canary *lifecyclev1alpha1.ModelVersion) (serving.Decision, error) {
	p := s.product
	ro := p.Status.Rollout
	sv := p.Spec.Delivery.Serving
	if sv.Backend == lifecyclev1alpha1.BackendKServe {
		// KServe splits by its own canary fields, or by the product's
		// route, as its deployment mode allows.
		_, ready, err := r.applyServing(ctx, s, stable, canary, ro.Weight)
		if refused := outcome.Stalling(err); refused != nil {
			// The rollout is aborted with the refusal's reason.
			s.refused, err = refused, nil
		}
		if ready {
			ro.EffectiveWeight = ro.Weight
		}
		return serving.Decision{RouteWeight: ro.Weight, Effective: ro.EffectiveWeight, Reachable: ro.Weight, Arrived: ready}, err
	}
	current, available, observed, err := r.replicas(ctx, p, stable, canary)
	if err != nil {
		return serving.Decision{}, err
	}
	spec := p.Spec.Delivery.Rollout
	m := serving.Moment{Routed: r.routed(p), Replicas: max(sv.Replicas, 1), Surge: 1, Phase: ro.Phase, Weight: ro.Weight,
		RouteWeight: ro.EffectiveWeight, Current: current, Available: available}
	if spec != nil {
		m.MaxUnavailable = spec.MaxUnavailable
		if spec.MaxSurge != nil {
			m.Surge = *spec.MaxSurge
		}
	}
	d := serving.Decide(m)
	if d.Replicas.Stable < current.Stable || d.Replicas.Canary < current.Canary {
		// A scale-down leans on the other version's available pods: count
		// them only as far as their ReplicaSets, read past the cache,
		// confirm.
		if m.Available, err = r.confirm(ctx, p, stable, canary, available); err != nil {
			return serving.Decision{}, err
		}
		d = serving.Decide(m)
	}
	_, routed, err := r.sync(ctx, s, stable, canary, d.Replicas, d.RouteWeight, !m.Routed)
	if err != nil {
		return d, err
	}
	if !routed {
		d.Arrived = false
		d.RouteWeight, d.Effective = ro.EffectiveWeight, ro.EffectiveWeight
	}
	if !observed && !d.Arrived {
		// A Deployment's controller has not yet acted on its latest
		// spec, so its pods are counted as none: the share they give is
		// not known yet, and the last one known stands rather than a
		// dip to zero and back in status.
		d.Effective = ro.EffectiveWeight
	}
	ro.EffectiveWeight = d.Effective
	return d, nil
}

// routed reports whether a traffic router splits the product's requests
// exactly (an HTTPRoute); otherwise they follow the ratio of ready pods.
func (r *AIProductReconciler) routed(p *lifecyclev1alpha1.AIProduct) bool {
	sv := p.Spec.Delivery.Serving
	return sv.HTTPRoute != nil || sv.Backend == lifecyclev1alpha1.BackendKServe
}

// scaleDownDelay is the rollout's scaleDownDelay, or its default.
func scaleDownDelay(spec *lifecyclev1alpha1.RolloutSpec) time.Duration {
	if spec == nil || spec.ScaleDownDelay == nil {
		return defaultScaleDownDelay
	}
	return spec.ScaleDownDelay.Duration
}

const defaultScaleDownDelay = 30 * time.Second

// replicas reads what the stable and canary Deployments were last asked to
// run and have available; a missing one runs nothing. observed is false
// while the controller of either has not acted on its latest spec.
func (r *AIProductReconciler) replicas(ctx context.Context, p *lifecyclev1alpha1.AIProduct, stable, canary *lifecyclev1alpha1.ModelVersion) (current, available serving.Pair, observed bool, err error) {
	var list appsv1.DeploymentList
	if err := r.List(ctx, &list, client.InNamespace(p.Namespace), ownedBy(p.Name)); err != nil {
		return current, available, false, fmt.Errorf("listing Deployments: %w", err)
	}
	observed = true
	for i := range list.Items {
		d := &list.Items[i]
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		switch d.Name {
		case serving.ObjectName(p.Name, stable.Name):
			current.Stable, available.Stable = want, serving.Counted(d)
		case serving.ObjectName(p.Name, canary.Name):
			current.Canary, available.Canary = want, serving.Counted(d)
		default:
			continue
		}
		observed = observed && d.Status.ObservedGeneration >= d.Generation
	}
	return current, available, observed, nil
}

// confirm recounts the available pods of each version that has some, as
// far as its ReplicaSets confirm them (serving.Confirmed): the product's
// Deployments and ReplicaSets read past the cache, one list of each.
func (r *AIProductReconciler) confirm(ctx context.Context, p *lifecyclev1alpha1.AIProduct, stable, canary *lifecyclev1alpha1.ModelVersion, available serving.Pair) (serving.Pair, error) {
	if available.Stable == 0 && available.Canary == 0 {
		return available, nil
	}
	sel := client.MatchingLabels(serving.SelectorLabels(p.Name))
	var deployments appsv1.DeploymentList
	if err := r.APIReader.List(ctx, &deployments, client.InNamespace(p.Namespace), sel); err != nil {
		return available, fmt.Errorf("listing the Deployments of %s: %w", p.Name, err)
	}
	var sets appsv1.ReplicaSetList
	if err := r.APIReader.List(ctx, &sets, client.InNamespace(p.Namespace), sel); err != nil {
		return available, fmt.Errorf("listing the ReplicaSets of %s: %w", p.Name, err)
	}
	recount := func(mv *lifecyclev1alpha1.ModelVersion, n int32) int32 {
		if n == 0 {
			return 0
		}
		name := serving.ObjectName(p.Name, mv.Name)
		for i := range deployments.Items {
			if d := &deployments.Items[i]; d.Name == name {
				return serving.Confirmed(d, sets.Items)
			}
		}
		return 0
	}
	available.Stable, available.Canary = recount(stable, available.Stable), recount(canary, available.Canary)
	return available, nil
}

// setTrafficSplit says whether the canary's replicas can give its step's
// weight.
func (r *AIProductReconciler) setTrafficSplit(ctx context.Context, s *productScope, d serving.Decision) {
	ro := s.product.Status.Rollout
	cond := metav1.Condition{Type: lifecyclev1alpha1.ConditionTrafficSplit, Status: metav1.ConditionTrue,
		Reason: lifecyclev1alpha1.ReasonWeightMet, Message: fmt.Sprintf("the replicas can give the step's %d%%", ro.Weight)}
	if d.Reachable != ro.Weight {
		cond.Status, cond.Reason = metav1.ConditionFalse, lifecyclev1alpha1.ReasonWeightUnreachable
		cond.Message = fmt.Sprintf("the step asks %d%% for %s, and %d replicas with a surge of the rollout's maxSurge give %d%% at best: "+
			"traffic follows the ratio of ready pods; raise replicas or maxSurge, or route with an HTTPRoute",
			ro.Weight, ro.CanaryVersion, s.product.Spec.Delivery.Serving.Replicas, d.Reachable)
	}
	s.notify.SetCondition(ctx, s.product, &s.product.Status.Conditions, cond)
}

// diagnose reads, past the cache, the pods of a version's Deployment and
// says why it is not available; only when a progress deadline passed.
func (r *AIProductReconciler) diagnose(ctx context.Context, p *lifecyclev1alpha1.AIProduct, mv *lifecyclev1alpha1.ModelVersion) string {
	var pods corev1.PodList
	sel := serving.VersionLabels(p.Name, mv.Name)
	if err := r.APIReader.List(ctx, &pods, client.InNamespace(p.Namespace), client.MatchingLabels(sel)); err != nil {
		return ""
	}
	return serving.Diagnose(pods.Items)
}

// serveStable serves one version at full weight.
func (r *AIProductReconciler) serveStable(ctx context.Context, s *productScope, mv *lifecyclev1alpha1.ModelVersion) (time.Duration, error) {
	ready, _, err := r.applyServing(ctx, s, mv, nil, 0)
	if err != nil {
		return 0, err
	}
	s.delivery = delivery{active: s.product.Status.Phase == lifecyclev1alpha1.PhaseDelivery}
	if !ready {
		msg := fmt.Sprintf("waiting for %s to become available", mv.Name)
		r.setServing(ctx, s, mv, metav1.ConditionFalse, lifecyclev1alpha1.ReasonProgressing, msg)
		s.delivery.reason, s.delivery.message = lifecyclev1alpha1.ReasonServingProgressing, msg
		return 0, nil
	}
	r.setServing(ctx, s, mv, metav1.ConditionTrue, lifecyclev1alpha1.ReasonAvailable, mv.Name+" serves production")
	return 0, nil
}

func servingStatus(stable *lifecyclev1alpha1.ModelVersion) metav1.ConditionStatus {
	if stable == nil {
		return metav1.ConditionFalse
	}
	return metav1.ConditionTrue
}

func (r *AIProductReconciler) setServing(ctx context.Context, s *productScope, stable *lifecyclev1alpha1.ModelVersion,
	status metav1.ConditionStatus, reason, msg string) {
	if stable == nil && status == metav1.ConditionTrue {
		status = metav1.ConditionFalse
	}
	s.notify.SetCondition(ctx, s.product, &s.product.Status.Conditions, metav1.Condition{
		Type: lifecyclev1alpha1.ConditionServing, Status: status, Reason: reason, Message: msg})
}

// applyServing serves stable alone at full size (canary nil), or, for
// KServe, the canary beside it at weight. It reports whether each serves.
func (r *AIProductReconciler) applyServing(ctx context.Context, s *productScope, stable, canary *lifecyclev1alpha1.ModelVersion,
	weight int32) (stableReady, canaryReady bool, err error) {
	p := s.product
	total := max(p.Spec.Delivery.Serving.Replicas, 1)
	if p.Status.Phase == lifecyclev1alpha1.PhaseRetired {
		total = 0
	}
	live, routed, err := r.sync(ctx, s, stable, canary, serving.Pair{Stable: total}, weight, false)
	if err != nil {
		return false, false, err
	}
	if p.Spec.Delivery.Serving.Backend == lifecyclev1alpha1.BackendKServe {
		return routed, canary != nil && routed, nil
	}
	available := func(mv *lifecyclev1alpha1.ModelVersion) bool {
		if mv == nil {
			return false
		}
		d := live[serving.ObjectName(p.Name, mv.Name)]
		return d != nil && serving.Available(d)
	}
	return available(stable) && routed, false, nil
}

// sync makes the serving objects match: the stable and the canary
// Deployments at replicas (a version leaving at the end of a rollout
// alongside, until its scale-down time), their Services, and the route at
// routeWeight for the canary. It returns the Deployments as applied and
// whether the route took the weight.
//
// With dropIdle, a version asked to run no pods has no Deployment: a
// canary's is created with its first pods, and a version a cutover
// emptied is deleted rather than scaled to zero and deleted after. Only
// where traffic follows the pods: a route may still send requests to a
// version without pods for a moment.
func (r *AIProductReconciler) sync(ctx context.Context, s *productScope, stable, canary *lifecyclev1alpha1.ModelVersion,
	replicas serving.Pair, routeWeight int32, dropIdle bool) (map[string]*appsv1.Deployment, bool, error) {
	p := s.product
	sv := p.Spec.Delivery.Serving
	target := func(mv *lifecyclev1alpha1.ModelVersion) *traffic.Target {
		if mv == nil {
			return nil
		}
		return &traffic.Target{Version: mv.Name, URI: mv.Spec.Artifact.URI}
	}
	var live map[string]*appsv1.Deployment
	if sv.Backend != lifecyclev1alpha1.BackendKServe {
		var deployments []*appsv1.Deployment
		services := []*corev1.Service{serving.Service(p)}
		versions := []struct {
			mv       *lifecyclev1alpha1.ModelVersion
			replicas int32
		}{{stable, replicas.Stable}, {canary, replicas.Canary}}
		if canary == nil && s.retiring != nil && (stable == nil || s.retiring.Name != stable.Name) {
			versions = append(versions, struct {
				mv       *lifecyclev1alpha1.ModelVersion
				replicas int32
			}{s.retiring, replicas.Stable})
		}
		for _, v := range versions {
			if v.mv == nil || (dropIdle && v.replicas == 0) {
				continue
			}
			deployments = append(deployments, serving.Deployment(p, serving.Version{Name: v.mv.Name, URI: v.mv.Spec.Artifact.URI, Replicas: v.replicas}))
			if sv.HTTPRoute != nil {
				services = append(services, serving.VersionService(p, v.mv.Name))
			}
		}
		// A canary's Deployment is scaled at every step.
		var opts []apply.Option
		if canary != nil {
			opts = append(opts, apply.CreateByApply(serving.ObjectName(p.Name, canary.Name)))
		}
		var err error
		if live, err = syncOwned(ctx, r.Client, &r.pending, s.now.Time, p, deployments, &appsv1.DeploymentList{}, opts...); err != nil {
			return nil, false, err
		}
		if _, err := syncOwned(ctx, r.Client, &r.pending, s.now.Time, p, services, &corev1.ServiceList{}); err != nil {
			return nil, false, err
		}
	}
	if p.Status.Phase == lifecyclev1alpha1.PhaseRetired || (stable == nil && canary == nil) {
		return live, true, nil
	}
	routed, err := traffic.For(p, r.Client, r.APIReader, s.liveTraffic()).Route(ctx, p, target(stable), target(canary), routeWeight)
	if err != nil {
		return nil, false, err
	}
	if sv.Backend == lifecyclev1alpha1.BackendKServe && routed {
		// A product whose serving moved here from the Deployment backend
		// keeps its Deployments until KServe serves it; then they go.
		if _, err := syncOwned(ctx, r.Client, &r.pending, s.now.Time, p, []*appsv1.Deployment(nil), &appsv1.DeploymentList{}); err != nil {
			return nil, false, err
		}
		if _, err := syncOwned(ctx, r.Client, &r.pending, s.now.Time, p, []*corev1.Service(nil), &corev1.ServiceList{}); err != nil {
			return nil, false, err
		}
	}
	return live, routed, nil
}

// syncOwned applies want, the product's objects of one kind, and deletes
// the product's others of that kind; list is an empty list of the kind,
// filled from the cache, and what pd holds of the product's own recent
// creates and deletes corrects it.
func syncOwned[T client.Object](ctx context.Context, c client.Client, pd *pending, now time.Time, p *lifecyclev1alpha1.AIProduct, want []T,
	list client.ObjectList, opts ...apply.Option) (map[string]T, error) {
	if err := c.List(ctx, list, client.InNamespace(p.Namespace), ownedBy(p.Name)); err != nil {
		return nil, fmt.Errorf("listing owned objects: %w", err)
	}
	var have []T
	if err := meta.EachListItem(list, func(o runtime.Object) error {
		if t, ok := o.(T); ok {
			have = append(have, t)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	key := client.ObjectKeyFromObject(p)
	have = overlay(pd, key, have, now)
	out, err := syncChildren(ctx, c, p, want, have, opts...)
	if err == nil {
		note(pd, p, have, out, now)
	}
	return out, err
}

// syncChildren applies want, controlled by p, with server-side apply from
// the plan, and deletes what have holds beyond it: an unchanged plan makes
// no write, and fields others own (an autoscaler's replicas, a mesh's
// annotations) stay theirs.
func syncChildren[T client.Object](ctx context.Context, c client.Client, p *lifecyclev1alpha1.AIProduct, want, have []T, opts ...apply.Option) (map[string]T, error) {
	for _, o := range want {
		if err := controllerutil.SetControllerReference(p, o, c.Scheme()); err != nil {
			return nil, err
		}
		if err := apply.Stamp(o); err != nil {
			return nil, err
		}
	}
	return apply.Sync(ctx, c, p, want, have, opts...)
}

// scaleToZero scales every Deployment of the product to zero. A merge
// patch of replicas alone: with no serving spec there is no plan to apply,
// and an apply of replicas alone would drop every other field the
// operator applied before.
func (r *AIProductReconciler) scaleToZero(ctx context.Context, p *lifecyclev1alpha1.AIProduct) error {
	var existing appsv1.DeploymentList
	if err := r.List(ctx, &existing, client.InNamespace(p.Namespace), ownedBy(p.Name)); err != nil {
		return fmt.Errorf("listing Deployments: %w", err)
	}
	for i := range existing.Items {
		d := &existing.Items[i]
		if !metav1.IsControlledBy(d, p) || (d.Spec.Replicas != nil && *d.Spec.Replicas == 0) {
			continue
		}
		patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":0}}`))
		if err := r.Patch(ctx, d, patch, client.FieldOwner(apply.FieldOwner)); err != nil {
			return fmt.Errorf("scaling Deployment %s to zero: %w", d.Name, err)
		}
	}
	return nil
}

// takeRequest reads one manual rollout request from the annotations,
// removes it, and records it in status. Promote and Abort act on a running
// rollout; Retry restarts an aborted or inconclusive one.
func (r *AIProductReconciler) takeRequest(ctx context.Context, s *productScope) (rollout.Request, error) {
	p := s.product
	for _, a := range []struct {
		key string
		req rollout.Request
	}{{lifecyclev1alpha1.AnnotationAbort, rollout.Abort}, {lifecyclev1alpha1.AnnotationPromote, rollout.Promote},
		{lifecyclev1alpha1.AnnotationRetry, rollout.Retry}} {
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
		case a.req == rollout.Retry && ro.Phase != lifecyclev1alpha1.RolloutAborted && ro.Phase != lifecyclev1alpha1.RolloutInconclusive:
			result = "ignored: the rollout is " + string(ro.Phase)
		case a.req != rollout.Retry && rollout.Terminal(ro.Phase):
			result = "ignored: the rollout has " + string(ro.Phase)
		case a.req == rollout.Promote && rollout.Cutover(ro.Phase), ro.Phase == lifecyclev1alpha1.RolloutAborting:
			result = "ignored: the rollout is " + string(ro.Phase)
		}
		p.Status.LastRequest = &lifecyclev1alpha1.RequestStatus{Action: string(a.req), Value: value, HandledAt: s.now, Result: result}
		s.notify.Event(ctx, p, false, "Request"+string(a.req), "Request", fmt.Sprintf("%s requested by annotation: %s", a.req, result))
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
func (r *AIProductReconciler) clearAnnotation(ctx context.Context, p *lifecyclev1alpha1.AIProduct, key string) error {
	// The resourceVersion makes the request's consumption conditional on
	// the product being as read: a request acted on from a stale cache is
	// refused (Conflict) rather than consumed twice.
	patch := fmt.Appendf(nil, `{"metadata":{"resourceVersion":%q,"annotations":{%q:null}}}`, p.ResourceVersion, key)
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(lifecyclev1alpha1.GroupVersion.WithKind("AIProduct"))
	obj.SetNamespace(p.Namespace)
	obj.SetName(p.Name)
	if err := r.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("clearing annotation %s: %w", key, err)
	}
	delete(p.Annotations, key)
	p.ResourceVersion = obj.ResourceVersion
	return nil
}

// guardrail measures how much worse the canary does than the stable
// version on a business objective: its query run once for each, with
// $version set to it.
func (r *AIProductReconciler) guardrail(ctx context.Context, p *lifecyclev1alpha1.AIProduct, name string,
	tolerance lifecyclev1alpha1.Decimal, canary, stable string) (v float64, err error) {
	defer func() {
		result := lifecyclev1alpha1.ResultUnknown
		if t, terr := tolerance.Float64(); err == nil && terr == nil {
			result = judgepkg.Threshold(v, t, lifecyclev1alpha1.AtMost)
		}
		// Prometheus being away is no verdict: the measurement is taken
		// again, whole, once it answers.
		if !errors.Is(err, prom.ErrUnavailable) {
			metrics.GuardrailMeasured(p.Namespace, p.Name, name, result)
		}
	}()
	var obj *lifecyclev1alpha1.Objective
	if p.Spec.Strategy != nil {
		for i := range p.Spec.Strategy.Objectives {
			if p.Spec.Strategy.Objectives[i].Name == name {
				obj = &p.Spec.Strategy.Objectives[i]
			}
		}
	}
	switch {
	case obj == nil:
		return 0, fmt.Errorf("objective %s is not in spec.strategy.objectives", name)
	case len(obj.MatchLabels) > 0 || !strings.Contains(string(obj.Query), "$version"):
		return 0, fmt.Errorf("objective %s cannot guard a rollout: its query must use $version, without matchLabels, to tell the canary from the stable version", name)
	}
	value := func(version string) (float64, error) {
		q := prom.Expand(string(obj.Query), map[string]string{"namespace": p.Namespace, "product": p.Name, "version": version})
		v, err := r.Prometheus.Query(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("objective %s of version %s: %w", name, version, err)
		}
		return v, nil
	}
	c, err := value(canary)
	if err != nil {
		return 0, err
	}
	s, err := value(stable)
	if err != nil {
		return 0, err
	}
	return objectives.Degradation(c, s, obj.Direction)
}

// watchPromotion runs the post-promotion watch of the last rollout: a
// guarded objective broken within the window rolls the promoted version
// back. It returns how long until the watch should look again.
func (r *AIProductReconciler) watchPromotion(ctx context.Context, s *productScope) time.Duration {
	p := s.product
	ro := p.Status.Rollout
	if p.Spec.Strategy == nil || ro == nil || ro.CanaryVersion != p.Status.ProductionVersion || s.versions[ro.StableVersion] == nil {
		return 0
	}
	breach, wait := rollout.Watch(p.Spec.Delivery.Rollout, ro, p.Spec.Strategy.Objectives, p.Status.Objectives, s.now.Time)
	if breach == nil {
		return wait
	}
	e := rollout.RollBack(ro, *breach, s.now)
	p.Status.ProductionVersion = ro.StableVersion
	s.notify.Event(ctx, p, e.Warning, e.Reason, "Rollout", e.Message)
	metrics.PostPromotionRollback(p.Namespace, p.Name, breach.Objective.Name)
	return 0
}
