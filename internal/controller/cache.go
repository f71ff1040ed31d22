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
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aipm-io/aipm-operator/internal/serving"
)

// CacheOptions restricts the manager's cache to what the operator owns: it
// watches only the Deployments, Jobs and Services it created (by label), never a
// cluster's every Deployment or Service. Cached objects drop their
// managedFields, which the operator never reads and which make up a large
// share of each object held (docs/benchmarks.md); an update sent from a
// cached copy leaves the server's managedFields as they are.
func CacheOptions() cache.Options {
	owned := labels.SelectorFromSet(labels.Set{serving.LabelManagedBy: serving.ManagedBy})
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&appsv1.Deployment{}: {Label: owned},
			&batchv1.Job{}:       {Label: owned},
			&corev1.Service{}:    {Label: owned},
		},
	}
}
