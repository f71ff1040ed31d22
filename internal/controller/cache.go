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
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/compact"
	"github.com/aipm-io/aipm-operator/internal/index"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// CacheOptions restricts the manager's cache to what the operator owns: it
// watches only the Deployments, Jobs and Services it created (by label), never a
// cluster's every Deployment or Service. Cached objects drop what the operator
// never reads (docs/benchmarks.md):
//   - managedFields, a large share of each object; an update sent from a
//     cached copy leaves the server's managedFields as they are;
//   - kubectl's last-applied-configuration annotation, a second copy of an
//     applied object's spec; the operator patches, and a patch computed
//     from a cached copy does not mention the annotation;
//   - a Deployment's pod template, the largest part of the Deployment: the
//     operator tells a changed Deployment by its spec-hash annotation and
//     applies its whole plan when it changed (internal/apply), so the
//     cached template is never read or sent.
//
// What is left shares its strings and string maps with every other cached
// object that holds the same (internal/compact): a fleet's objects come
// from a few templates, and a fleet's products take much less memory so
// (docs/benchmarks.md).
//
// With namespaces, the operator watches, and so acts on, only the objects
// in those namespaces (--watch-namespaces): its RBAC may then be bound per
// namespace instead of cluster-wide.
func CacheOptions(namespaces ...string) cache.Options {
	owned := labels.SelectorFromSet(labels.Set{serving.LabelManagedBy: serving.ManagedBy})
	opts := cache.Options{
		DefaultTransform: trimObject,
		ByObject: map[client.Object]cache.ByObject{
			&appsv1.Deployment{}: {Label: owned, Transform: trimDeployment},
			&batchv1.Job{}:       {Label: owned},
			&corev1.Service{}:    {Label: owned},
		},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// lastApplied is the annotation kubectl apply keeps a copy of the object in.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

func trimObject(in any) (any, error) {
	if o, ok := in.(metav1.Object); ok {
		o.SetManagedFields(nil)
		if _, ok := o.GetAnnotations()[lastApplied]; ok {
			a := maps.Clone(o.GetAnnotations())
			delete(a, lastApplied)
			o.SetAnnotations(a)
		}
	}
	compact.Object(in)
	return in, nil
}

func trimDeployment(in any) (any, error) {
	if d, ok := in.(*appsv1.Deployment); ok {
		d.Spec.Template = corev1.PodTemplateSpec{}
	}
	return trimObject(in)
}

// ownedBy narrows a List to the objects controlled by the product named
// name.
func ownedBy(name string) client.MatchingFields {
	return index.OwnedBy(lifecyclev1alpha1.KindAIProduct, name)
}
