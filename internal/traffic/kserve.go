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

package traffic

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/apply"
	"github.com/aipm-io/aipm-operator/internal/outcome"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// InferenceServiceGVK is KServe's InferenceService, driven through the
// unstructured client so that KServe is not a build dependency.
var InferenceServiceGVK = schema.GroupVersionKind{Group: "serving.kserve.io", Version: "v1beta1", Kind: "InferenceService"}

// KServe's deployment modes, as its controller reports them in
// status.deploymentMode and reads them from the
// serving.kserve.io/deploymentMode annotation. Serverless and
// RawDeployment are the names before KServe 0.15 of Knative and Standard.
const (
	ModeKnative   = "Knative"
	ModeStandard  = "Standard"
	ModeModelMesh = "ModelMesh"

	// AnnotationDeploymentMode is KServe's annotation choosing the mode of
	// one InferenceService.
	AnnotationDeploymentMode = "serving.kserve.io/deploymentMode"
)

// Mode is the deployment mode of an InferenceService: its annotation if it
// has one, else what KServe reported in its status, "" while neither says.
func Mode(isvc *unstructured.Unstructured) string {
	mode := isvc.GetAnnotations()[AnnotationDeploymentMode]
	if mode == "" {
		mode, _, _ = unstructured.NestedString(isvc.Object, "status", "deploymentMode")
	}
	switch mode {
	case "Serverless":
		return ModeKnative
	case "RawDeployment":
		return ModeStandard
	}
	return mode
}

// KServe drives a product's InferenceService in the way its deployment
// mode allows.
//
// In Knative mode KServe splits traffic itself between the last rolled out
// revision and the newest: storageUri is the canary's artifact and
// canaryTrafficPercent its share, and a rollback is canaryTrafficPercent 0,
// which sends everything back to the last rolled out revision without
// starting a new one (KServe's documented rollback).
//
// In Standard mode (plain Deployments) canaryTrafficPercent does nothing:
// the new model would take all traffic at once. The canary runs instead as
// a second InferenceService, <name>-canary, a copy of the first serving the
// canary's artifact, and the product's HTTPRoute splits traffic between the
// two predictor Services. At promotion the route sends everything to the
// canary while the first InferenceService rolls to the new artifact, then
// back to it; the canary is deleted once nothing routes to it. Without an
// HTTPRoute a canary is refused (a stalling error, outcome.Stall); a
// rollout straight to 100% needs none.
type KServe struct {
	Client client.Client
	Reader client.Reader
	// Split is the product's HTTPRoute, nil when it names none.
	Split *HTTPRoute
}

// CanaryName is the name of the InferenceService that runs a canary in
// Standard mode.
func CanaryName(isvc string) string { return serving.Shorten(isvc+"-canary", 63) }

// predictorService is the Service KServe's Standard mode creates for an
// InferenceService's predictor, and predictorPort its port.
func predictorService(isvc string) string { return isvc + "-predictor" }

const predictorPort = 80

// Route drives the InferenceService and reports whether the split is in
// effect: the InferenceServices serving it are Ready at their current
// generation, and the route, if any, sends them their shares.
func (k *KServe) Route(ctx context.Context, p *lifecyclev1alpha1.AIProduct, stable, canary *Target, weight int32) (bool, error) {
	name := string(p.Spec.Delivery.Serving.InferenceService.Name)
	isvc, err := k.get(ctx, p.Namespace, name)
	if err != nil {
		return false, err
	}
	if isvc == nil {
		return false, fmt.Errorf("InferenceService %s not found", name)
	}
	switch mode := Mode(isvc); mode {
	case ModeKnative:
		return k.knative(ctx, isvc, stable, canary, weight)
	case ModeStandard:
		return k.standard(ctx, p, isvc, stable, canary, weight)
	case "":
		// KServe has not reconciled it yet; it wakes the product when it
		// has.
		return false, nil
	default:
		return false, outcome.Stall(lifecyclev1alpha1.ReasonDeploymentModeUnsupported, fmt.Errorf("InferenceService %s runs in KServe's %s mode; the operator drives Knative and Standard", name, mode))
	}
}

// knative uses KServe's own canary fields.
func (k *KServe) knative(ctx context.Context, isvc *unstructured.Unstructured, stable, canary *Target, weight int32) (bool, error) {
	uri, percent := predictor(isvc)
	switch {
	case canary != nil && weight < 100:
		uri, percent = canary.URI, ptr.To(int64(weight))
	case canary != nil:
		// All to the newest revision. Said as 100 rather than by removing
		// the field: an apply removes only what the operator alone owns,
		// and the team may have declared it.
		uri, percent = canary.URI, ptr.To[int64](100)
	case stable != nil && uri != stable.URI && percent != nil:
		// A canary was rolled back: the last rolled out revision is the
		// stable's, and takes everything back without a new revision.
		percent = ptr.To[int64](0)
	case stable != nil && uri != stable.URI:
		uri = stable.URI
	}
	if changed, err := k.setPredictor(ctx, isvc, uri, percent); changed || err != nil {
		// The new generation has not been acted on yet.
		return false, err
	}
	if percent, found, _ := unstructured.NestedInt64(isvc.Object, "spec", "predictor", "canaryTrafficPercent"); found && percent == 0 {
		// Rolled back: what counts is that the newest revision, which
		// may never have become ready, receives nothing.
		return latestShare(isvc) == 0, nil
	}
	// Where KServe reports the split, the newest revision's share must be
	// the one asked for (100 without a canary split).
	want := int64(100)
	if percent, found, _ := unstructured.NestedInt64(isvc.Object, "spec", "predictor", "canaryTrafficPercent"); found {
		want = percent
	}
	share := latestShare(isvc)
	return ready(isvc) && (share < 0 || share == want), nil
}

// latestShare is the percent of traffic KServe reports sending to the
// predictor's newest revision, -1 while it has not observed the current
// generation or reports no traffic.
func latestShare(isvc *unstructured.Unstructured) int64 {
	if og, _, _ := unstructured.NestedInt64(isvc.Object, "status", "observedGeneration"); og < isvc.GetGeneration() {
		return -1
	}
	targets, found, _ := unstructured.NestedSlice(isvc.Object, "status", "components", "predictor", "traffic")
	if !found {
		return -1
	}
	share := int64(0)
	for _, t := range targets {
		m, _ := t.(map[string]any)
		if latest, _ := m["latestRevision"].(bool); latest {
			p, _, _ := unstructured.NestedInt64(m, "percent")
			share += p
		}
	}
	return share
}

// standard runs a canary as a second InferenceService and splits traffic
// with the product's HTTPRoute.
func (k *KServe) standard(ctx context.Context, p *lifecyclev1alpha1.AIProduct, isvc *unstructured.Unstructured,
	stable, canary *Target, weight int32) (bool, error) {
	name := isvc.GetName()
	partial := canary != nil && weight > 0 && weight < 100
	if k.Split == nil {
		if partial {
			return false, outcome.Stall(lifecyclev1alpha1.ReasonRouteRequired, fmt.Errorf(
				"InferenceService %s runs in KServe's Standard mode, which cannot give %s %d%% of traffic by itself: "+
					"name an HTTPRoute in spec.delivery.serving.httpRoute, or roll out in one step to 100%%", name, canary.Version, weight))
		}
		// All or nothing: the InferenceService rolls its Deployment to
		// the one version, as KServe does for any change.
		want := stable
		if canary != nil && weight >= 100 {
			want = canary
		}
		return k.serve(ctx, isvc, want)
	}
	canaryName := CanaryName(name)
	live, err := k.get(ctx, p.Namespace, canaryName)
	if err != nil {
		return false, err
	}
	main := &Target{Service: predictorService(name), Port: predictorPort}
	second := &Target{Service: predictorService(canaryName), Port: predictorPort}
	if canary != nil && weight == 0 {
		// Aborting: everything back on the stable, which was never
		// touched; the canary goes once the rollout is over.
		main.Version = stable.Version
		routed, err := k.Split.Route(ctx, p, main, nil, 0)
		return routed && ready(isvc), err
	}
	if canary != nil {
		main.Version, second.Version = stable.Version, canary.Version
		running, err := k.canary(ctx, p, isvc, live, canary)
		if err != nil || !running {
			// Until the canary serves, everything stays on the stable.
			_, rerr := k.Split.Route(ctx, p, main, nil, 0)
			return false, errors.Join(err, rerr)
		}
		routed, err := k.Split.Route(ctx, p, main, second, weight)
		return routed && ready(isvc), err
	}
	// Stable alone. After a promotion the canary InferenceService serves
	// the new stable and takes everything while the first rolls to it.
	main.Version = stable.Version
	if storageURI(isvc) != stable.URI || !ready(isvc) {
		if live != nil && storageURI(live) == stable.URI && ready(live) {
			second.Version = stable.Version
			if _, err := k.Split.Route(ctx, p, second, nil, 0); err != nil {
				return false, err
			}
		}
		_, err := k.serve(ctx, isvc, stable)
		return false, err
	}
	routed, err := k.Split.Route(ctx, p, main, nil, 0)
	if err != nil || !routed {
		return false, err
	}
	// Nothing routes to the canary any more.
	if live != nil && metav1.IsControlledBy(live, p) {
		if err := k.Client.Delete(ctx, live, client.Preconditions{UID: ptr.To(live.GetUID())}); err != nil && !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("deleting InferenceService %s: %w", canaryName, err)
		}
	}
	return true, nil
}

// serve points isvc at target's artifact, dropping any canary split, and
// reports whether it serves it.
func (k *KServe) serve(ctx context.Context, isvc *unstructured.Unstructured, target *Target) (bool, error) {
	if target == nil {
		return ready(isvc), nil
	}
	if changed, err := k.setPredictor(ctx, isvc, target.URI, nil); changed || err != nil {
		return false, err
	}
	return ready(isvc), nil
}

// setPredictor applies the two fields the operator owns on the team's
// InferenceService, storageUri and canaryTrafficPercent (nil: none), by
// server-side apply under the aipm-operator field manager, so that the
// API server records those two fields, and only those, as the operator's
// (docs/argocd.md). It writes only when they differ from isvc's.
func (k *KServe) setPredictor(ctx context.Context, isvc *unstructured.Unstructured, uri string, percent *int64) (bool, error) {
	liveURI, livePercent := predictor(isvc)
	if liveURI == uri && ptr.Equal(livePercent, percent) {
		return false, nil
	}
	pred := map[string]any{"model": map[string]any{"storageUri": uri}}
	if percent != nil {
		pred["canaryTrafficPercent"] = *percent
	}
	want := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"predictor": pred}}}
	want.SetGroupVersionKind(InferenceServiceGVK)
	want.SetNamespace(isvc.GetNamespace())
	want.SetName(isvc.GetName())
	// Decided on the object as read; a conflict is retried on a fresh read.
	want.SetResourceVersion(isvc.GetResourceVersion())
	if err := k.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(want), client.FieldOwner(apply.FieldOwner), client.ForceOwnership); err != nil {
		return false, fmt.Errorf("updating InferenceService %s: %w", isvc.GetName(), err)
	}
	return true, nil
}

// predictor reads the two fields the operator sets.
func predictor(isvc *unstructured.Unstructured) (uri string, percent *int64) {
	uri = storageURI(isvc)
	if p, found, _ := unstructured.NestedInt64(isvc.Object, "spec", "predictor", "canaryTrafficPercent"); found {
		percent = &p
	}
	return uri, percent
}

// canary makes the canary InferenceService a copy of isvc serving the
// canary's artifact, owned by the product, and reports whether it is Ready
// serving it.
func (k *KServe) canary(ctx context.Context, p *lifecyclev1alpha1.AIProduct, isvc, live *unstructured.Unstructured, canary *Target) (bool, error) {
	if live != nil && !metav1.IsControlledBy(live, p) {
		return false, outcome.Stall(lifecyclev1alpha1.ReasonCanaryNameTaken, fmt.Errorf(
			"InferenceService %s, the name of the product's canary, exists and is not the product's", live.GetName()))
	}
	if live != nil && storageURI(live) == canary.URI {
		return ready(live), nil
	}
	spec, _, err := unstructured.NestedMap(isvc.Object, "spec")
	if err != nil {
		return false, err
	}
	want := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	want.SetGroupVersionKind(InferenceServiceGVK)
	want.SetNamespace(isvc.GetNamespace())
	want.SetName(CanaryName(isvc.GetName()))
	want.SetLabels(serving.VersionLabels(p.Name, canary.Version))
	want.SetAnnotations(map[string]string{AnnotationDeploymentMode: ModeStandard})
	want.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: lifecyclev1alpha1.GroupVersion.String(), Kind: "AIProduct",
		Name: p.Name, UID: p.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}})
	setPercent(want, nil)
	if err := unstructured.SetNestedField(want.Object, canary.URI, "spec", "predictor", "model", "storageUri"); err != nil {
		return false, err
	}
	if err := k.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(want), client.FieldOwner(apply.FieldOwner), client.ForceOwnership); err != nil {
		return false, fmt.Errorf("applying InferenceService %s: %w", want.GetName(), err)
	}
	return false, nil
}

// get reads an InferenceService past the cache, nil when there is none.
func (k *KServe) get(ctx context.Context, namespace, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(InferenceServiceGVK)
	err := k.Reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, u)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading InferenceService %s: %w", name, err)
	}
	return u, nil
}

func storageURI(isvc *unstructured.Unstructured) string {
	uri, _, _ := unstructured.NestedString(isvc.Object, "spec", "predictor", "model", "storageUri")
	return uri
}

// setPercent sets canaryTrafficPercent, or removes it for nil.
func setPercent(isvc *unstructured.Unstructured, percent *int64) {
	if percent == nil {
		unstructured.RemoveNestedField(isvc.Object, "spec", "predictor", "canaryTrafficPercent")
		return
	}
	_ = unstructured.SetNestedField(isvc.Object, *percent, "spec", "predictor", "canaryTrafficPercent")
}

// ready reads the Ready condition of an InferenceService that has observed
// its current generation.
func ready(isvc *unstructured.Unstructured) bool {
	if og, found, _ := unstructured.NestedInt64(isvc.Object, "status", "observedGeneration"); found && og < isvc.GetGeneration() {
		return false
	}
	conds, _, _ := unstructured.NestedSlice(isvc.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			return m["status"] == "True"
		}
	}
	return false
}
