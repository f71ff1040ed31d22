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
// Package index names the cache indexes every controller of the operator
// shares, and registers each once per manager: an index is a copy of a key
// per cached object, and at a fleet's scale two indexes of the same key
// cost megabytes (docs/benchmarks.md).
package index

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

const (
	// Owner indexes the objects the operator creates by their controller,
	// as "Kind/name" of an AIProduct or an Experiment. A label selector
	// alone would make the cache match every such object of the namespace
	// on each List; through the index a reconcile reads its own objects.
	Owner = "metadata.controller"
	// Product indexes ModelVersions and Approvals by spec.product.
	// Experiments have no index: a product declares a few, found by name.
	Product = "spec.product"
	// InferenceService indexes AIProducts by the KServe InferenceService
	// they drive, so that a change of its status wakes them; a product
	// without one has no key.
	InferenceService = "spec.delivery.serving.inferenceService.name"
)

// OwnedBy narrows a List to the objects controlled by the object of kind
// and name (in the List's namespace).
func OwnedBy(kind, name string) client.MatchingFields {
	return client.MatchingFields{Owner: kind + "/" + name}
}

// ByOwner is the Owner index's key of o: its controller, when that is one
// of the operator's kinds.
func ByOwner(o client.Object) []string {
	ref := metav1.GetControllerOf(o)
	if ref == nil || ref.APIVersion != lifecyclev1alpha1.GroupVersion.String() {
		return nil
	}
	return []string{ref.Kind + "/" + ref.Name}
}

// Setup registers every index with indexer. Call it once per manager,
// before setting up the controllers.
func Setup(ctx context.Context, indexer client.FieldIndexer) error {
	for _, o := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &lifecyclev1alpha1.RetrainingRun{}} {
		if err := indexer.IndexField(ctx, o, Owner, ByOwner); err != nil {
			return err
		}
	}
	if err := indexer.IndexField(ctx, &lifecyclev1alpha1.AIProduct{}, InferenceService, ByInferenceService); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, &lifecyclev1alpha1.Approval{}, Product, func(o client.Object) []string {
		return []string{string(o.(*lifecyclev1alpha1.Approval).Spec.Product)}
	}); err != nil {
		return err
	}
	return indexer.IndexField(ctx, &lifecyclev1alpha1.ModelVersion{}, Product, func(o client.Object) []string {
		return []string{string(o.(*lifecyclev1alpha1.ModelVersion).Spec.Product)}
	})
}

// ByInferenceService is the InferenceService index's key of a product.
func ByInferenceService(o client.Object) []string {
	p := o.(*lifecyclev1alpha1.AIProduct)
	if p.Spec.Delivery == nil || p.Spec.Delivery.Serving.InferenceService == nil {
		return nil
	}
	return []string{string(p.Spec.Delivery.Serving.InferenceService.Name)}
}
